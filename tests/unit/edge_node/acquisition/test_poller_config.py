"""The poller refuses a meter configuration that names what its profile does not have."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from edge_node.acquisition import (
    AcquisitionSettings,
    Event,
    MeterSettings,
    Poller,
    ReportByException,
    TcpConnection,
    meter_profiles,
)
from edge_node.profiles import list_profiles, load_profile
from mrv_core.errors import ConfigError

PROFILES = {pid: load_profile(pid) for pid in list_profiles()}
GENERIC = PROFILES["generic"]
POWER = next(p.name for p in GENERIC.points if p.quantity == "power.active:W")
ENERGY = next(p.name for p in GENERIC.points if p.quantity == "energy.active.import:Wh")


def poller(**meter: Any) -> Poller:
    m = MeterSettings(**{"path": "acme/p1/hall/l1/m1", "unit_id": 1, "profile": "generic",
                         **meter})
    settings = AcquisitionSettings(connections=(
        TcpConnection(name="gw", host="127.0.0.1", port=1502, meters=(m,)),))
    queue: asyncio.Queue[Event] = asyncio.Queue()
    return Poller(settings, PROFILES, queue)


def test_a_valid_meter_plans_every_point_of_its_profile() -> None:
    p = poller(report_by_exception={POWER: ReportByException(deadband=5)})
    planned = [pt.name for block in p.plan("acme/p1/hall/l1/m1") for pt in block.points]
    assert sorted(planned) == sorted(pt.name for pt in GENERIC.points)
    assert poller(points=(ENERGY,)).plan("acme/p1/hall/l1/m1")[0].points[0].name == ENERGY


@pytest.mark.parametrize(("meter", "message"), [
    ({"profile": "acme.unknown"}, "unknown profile 'acme.unknown'"),
    ({"points": ("no_such_point",)}, "has no point 'no_such_point'"),
    ({"report_by_exception": {ENERGY: ReportByException(deadband=1)}}, "is cumulative"),
    ({"points": (ENERGY,), "report_by_exception": {POWER: ReportByException(deadband=1)}},
     "which the meter does not read"),
])
def test_bad_meter_configuration_is_a_config_error(meter: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        poller(**meter)


def test_meter_profiles_loads_what_the_meters_name_and_refuses_the_unknown() -> None:
    settings = poller().settings
    assert meter_profiles(settings) == {"generic": GENERIC}
    unknown = settings.model_copy(update={"connections": (settings.connections[0].model_copy(
        update={"meters": (settings.connections[0].meters[0].model_copy(
            update={"profile": "acme.unknown"}),)}),)})
    with pytest.raises(ConfigError, match=r"acme\.unknown"):
        meter_profiles(unknown)
