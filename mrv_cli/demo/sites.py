"""The demo enterprise: two sites, the simulated meters of each, and one edge node per site.

``demo-co/wuxi-plant`` and ``demo-co/suzhou-plant`` each have three electricity meters of
different shipped profiles, served by one meter simulator (``mrv simulate meters``, Modbus TCP on
127.0.0.1, units 1..6). Each node polls its meters every ``interval`` simulated seconds, each
meter on a connection of its own (a meter that times out stalls only itself), reading its import
register; it signs hourly and daily summaries of each site's incomer (source
``electricity.grid``: the meter's and the site's) and delivers everything to the ledger API
(``[uplink]`` over plain HTTP on loopback: items are authenticated by their signatures).

The node's configuration is written here rather than by ``mrv edge init``, whose template has
one meter on one connection; keys and registration are the same calls ``mrv edge init`` and
``mrv edge register`` make (``DeviceKey.save``, ``System.register_device`` with the device
key's consent and ``metadata_hash``).

Faults (:data:`FAULTS`): a burst of timeouts on one meter a third into the period and a run of
Modbus exception 04 (device failure) on another two thirds in, sent on the simulator's control
channel when the simulated clock gets there; both show as signed gap records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edge_node.config import load_config
from mrv_core.chain import Chain, Deployment, System
from mrv_core.codec import format_address
from mrv_core.keys import LIGHT_SCRYPT_N, DeviceKey
from mrv_core.reading import site_id

from ..edge_cmd import metadata_hash
from .chain_steps import KEY_PASSWORD, actor
from .context import DemoContext, NodeInfo, StepOutcome

__all__ = ["FAULTS", "SITES", "DemoMeter", "Fault", "create_sites", "node_argv",
           "node_config_path", "simulator_meter_args"]

ENTERPRISE = "demo-co"
#: Ether each device account gets for its anchors' gas.
DEVICE_FUNDING_WEI = 10**20


@dataclass(frozen=True)
class DemoMeter:
    """A simulated meter: unit id, profile, simulator options, the area/line/meter path below
    its site, the points the node reads, whether the node signs summaries of it, and its
    current transformer's ratio (primary amperes per secondary ampere: the simulator serves
    the secondary registers, the node's configuration names the same ``ct``)."""

    unit: int
    profile: str
    options: str
    below: str
    points: tuple[str, ...]
    summarized: bool = False
    ct: int = 1


#: site -> its meters (peak loads in W; ct for a transformer-rated meter; solar on the roof).
SITES: dict[str, tuple[DemoMeter, ...]] = {
    f"{ENTERPRISE}/wuxi-plant": (
        DemoMeter(1, "eastron.sdm630", "peak=400000", "assembly/line-1/main-incomer",
                  ("energy_import",), summarized=True),
        DemoMeter(2, "abb.b2x", "peak=120000", "assembly/line-2/press-shop",
                  ("energy_import",)),
        DemoMeter(3, "acrel.adl400", "peak=2000", "utilities/compressors/air-1",
                  ("energy_import",), ct=40),
    ),
    f"{ENTERPRISE}/suzhou-plant": (
        DemoMeter(4, "chint.dtsu666", "peak=250000", "machining/line-1/main-incomer",
                  ("energy_import",), summarized=True),
        DemoMeter(5, "schneider.pm5xxx", "peak=90000,solar=30000", "machining/line-1/cnc-cell",
                  ("energy_import",)),
        DemoMeter(6, "generic", "peak=60000", "utilities/hvac/chiller-1",
                  ("energy_import",)),
    ),
}


@dataclass(frozen=True)
class Fault:
    """A simulator fault (``UNIT:KIND[:ARG]``, docs/edge.md) applied when ``at`` (a fraction
    of the period, num/den) of the simulated period has passed; ``what`` describes it."""

    at: tuple[int, int]
    fault: str
    what: str


FAULTS = (Fault((1, 3), "3:timeout:4", "timeout burst: 4 polls of unit 3 unanswered"),
          Fault((2, 3), "5:04:6", "Modbus exception 04 (device failure) on 6 polls of unit 5"))


def simulator_meter_args() -> list[str]:
    """``--meter`` options of ``mrv simulate meters`` for every demo meter."""
    return [f"--meter={m.unit}:{m.profile},{m.options},ct={m.ct}" for ms in SITES.values()
            for m in ms]


def create_sites(context: DemoContext, chain: Chain, *, modbus_port: int,
                 batch_age_s: int) -> StepOutcome:
    """For each site: a device key, the node's configuration, and the device registered by the
    enterprise with the key's consent and funded for gas (fills ``context.nodes``)."""
    system = System(chain, Deployment.read(context.deployment))
    enterprise = actor(context, chain, "enterprise")
    lines = []
    for number, (site, meters) in enumerate(SITES.items(), start=1):
        config = node_config_path(context, number)
        config.parent.mkdir(parents=True)
        key = DeviceKey.generate()
        key.save(config.parent / "device-key.json", KEY_PASSWORD, scrypt_n=LIGHT_SCRYPT_N)
        config.write_text(node_config(context, site, meters, modbus_port=modbus_port,
                                      batch_age_s=batch_age_s), encoding="utf-8")
        loaded = load_config(config)
        sent = system.register_device(enterprise, key, site_id(site), metadata_hash(loaded))
        enterprise.transfer(format_address(key.address), DEVICE_FUNDING_WEI)
        context.nodes.append(NodeInfo(site, key.address, config, tuple(
            (f"{site}/{m.below}", m.unit, m.profile) for m in meters)))
        lines.append(f"{site}: device {format_address(key.address)} registered in block "
                     f"{sent.block_number}; meters "
                     + ", ".join(f"{m.unit}:{m.profile}" for m in meters))
    return StepOutcome(True, tuple(lines), (("sites", str(len(SITES))),
                                            ("edge nodes", str(len(context.nodes)))))


def node_config(context: DemoContext, site: str, meters: Sequence[DemoMeter], *,
                modbus_port: int, batch_age_s: int) -> str:
    """The node's TOML configuration (keys as docs/edge.md documents them)."""
    plan = context.plan
    q = json.dumps
    lines = [
        "# Written by `mrv demo` (sample data on simulated time); docs/edge.md explains each key.",
        "[device]", 'key_file = "device-key.json"',
        f"password_file = {q(str(context.password_file.resolve()))}",
        'store = "edge.sqlite"', f"site = {q(site)}", "",
        "[chain]", f"rpc = {q(context.chain_url)}",
        f"deployment = {q(str(context.deployment.resolve()))}",
        "confirmations = 1", 'anchor = "device"', "",
        "[batching]", f"max_age_seconds = {float(batch_age_s)!r}", "",
        # Real milliseconds: the uplink looks for work often, so ingest keeps up with the
        # simulated clock; a refusal is retried soon (a demo fixes nothing by waiting).
        "[uplink]", f"url = {q(context.api_url)}", "idle_poll_ms = 1000",
        "backoff_initial_ms = 100", "backoff_max_ms = 2000", "refusal_holdoff_ms = 2000",
        "max_backlog_age_ms = 3600000", "",
        "[summaries]", "enabled = true", 'timezone = "Asia/Shanghai"', "",
        "[summaries.sources]",
        *(f'{q(f"{site}/{m.below}")} = "electricity.grid"' for m in meters if m.summarized),
        "",
        "[observability]", 'listen = "127.0.0.1:0"', 'log = "node.log"', "",
    ]
    for meter in meters:
        lines += ["[[acquisition.connections]]", f"name = {q(f'unit-{meter.unit}')}",
                  'kind = "tcp"', 'host = "127.0.0.1"', f"port = {modbus_port}",
                  "timeout = 0.25", "",
                  "[[acquisition.connections.meters]]", f"path = {q(f'{site}/{meter.below}')}",
                  f"unit_id = {meter.unit}", f"profile = {q(meter.profile)}",
                  f"interval = {float(plan.interval_s)!r}",
                  f"points = [{', '.join(q(p) for p in meter.points)}]",
                  f"ct = [{meter.ct * 5}, 5]", ""]
    return "\n".join(lines)


def node_config_path(context: DemoContext, number: int) -> Path:
    """The configuration file of node ``number`` (1, 2: the order of :data:`SITES`)."""
    return context.out / "nodes" / f"node-{number}" / "edge.toml"


def node_argv(config: Path, context: DemoContext) -> list[str]:
    """``mrv edge run`` arguments for the node of ``config`` on the demo's simulated clock."""
    return ["edge", "run", "--config", str(config), "--clock", str(context.clock_file),
            "--password-file", str(context.password_file)]
