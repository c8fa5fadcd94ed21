"""A plant's own meter model: the node's configuration names a profile file the project does not
ship (``profile = "./profiles/plant.meter-x.toml"``, relative to the configuration), ``mrv
simulate meters --meter 1:./profiles/plant.meter-x.toml`` (a process, started in the
configuration's directory) serves that same file under the same reference, and the running node
polls it by the file's register map (input registers at 100, low word first, 0.01 kWh) and
stores signed readings that decode from their raw registers by that map."""

from __future__ import annotations

from pathlib import Path

from integration.chain.support import Actors
from integration.edge_node.conftest import run_scenario
from integration.edge_node.inprocess import METER, node_config, running_node, until
from integration.edge_node.test_node_cli import background
from unit.edge_node.profiles.support import write_custom

from edge_node.store import Store
from edge_node.store.queries import readings
from mrv_core.verify import verify_signed_reading

REFERENCE = "./profiles/plant.meter-x.toml"


def test_a_node_polls_a_meter_by_its_own_profile_file_and_stores_signed_readings(
        node_actors: Actors, tmp_path: Path) -> None:
    write_custom(tmp_path)

    async def scenario(port: int) -> None:
        config = node_config(tmp_path, port, profile=REFERENCE)
        assert config.meters[0].profile == str(tmp_path / "profiles" / "plant.meter-x.toml")
        async with running_node(config, node_actors) as node:
            assert node.profiles[config.meters[0].profile].id == "plant.meter-x"
            with Store(config.device.store, node_actors.device.address,
                       node_actors.system.domain) as store:
                await until(lambda: len(readings(store, METER)) >= 6, what="six readings")

    with background("simulate", "meters", "--port", "0", "--meter",
                    f"1:{REFERENCE},peak=40000", cwd=tmp_path) as (_simulator, lines):
        assert lines[0].startswith("127.0.0.1:")
        run_scenario(lambda: scenario(int(lines[0].rpartition(":")[2])))
    device, domain = node_actors.device.address, node_actors.system.domain
    with Store(tmp_path / "edge.sqlite", device, domain) as store:
        stored = readings(store, METER)
    assert {r.point for r in stored} == {"energy_import", "power_active"}
    for reading in stored:
        verify_signed_reading(reading.signed, domain)
        if reading.point == "energy_import":  # uint32 low word first, x 10 Wh
            low, high = reading.raw_registers
            assert reading.signed.reading.value == ((high << 16) | low) * 10 > 0
        else:  # int16 W
            (raw,) = reading.raw_registers
            assert reading.signed.reading.value == raw - (raw >> 15) * 65536
