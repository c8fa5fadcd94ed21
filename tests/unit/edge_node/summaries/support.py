"""Helpers of the summary task's tests: meters of one site, readings signed by the real signer
into a real store, and the published versions of ``cn.electricity.location`` as the registry would
list them (the on-chain reading of the registry is tested on the embedded chain, in
``tests/integration/edge_node/test_summaries_chain.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from unit.edge_node.support import ENERGY, energy

from accounting_rules.counters import RolloverRule
from accounting_rules.publishing import Resolved
from accounting_rules.registry import load_methodology
from edge_node.signing import ReadingSigner
from edge_node.store import Store
from edge_node.summaries import (
    InForce,
    MethodologyVersions,
    SummaryMeter,
    SummarySettings,
    SummaryTask,
)
from factories import METER_PATHS, TEST_KEY, beijing

SITE = "demo-co/wuxi-plant"
MAIN = METER_PATHS[0]  # demo-co/wuxi-plant/assembly/line-1/main-incomer
SUB = "demo-co/wuxi-plant/assembly/line-2/sub-meter"
LOCATION = "cn.electricity.location"
SOURCE = "electricity.grid"
#: 1 June 2023, 00:00 Beijing time: data year 2023, national factor 530,600 g/MWh in v1.
DAY = beijing(2023, 6, 1)
HOUR = 3600
EF_2023 = 530_600
#: A uint32 Wh counter that may wrap (rollover_rule of a 60 s meter).
RULE = RolloverRule(modulus=2**32, max_rate=Fraction(2**32, 120))


def grams(wh: int, ef: int = EF_2023) -> int:
    """docs/accounting.md, cn.electricity.location: (Wh x EF + 500000) / 1000000."""
    return (wh * ef + 500_000) // 1_000_000


def in_force(version: int = 1, effective: int = beijing(2021)) -> InForce:
    resolved = Resolved(LOCATION, "0x" + "11" * 20, version, effective, bytes(32))
    return InForce(resolved, load_methodology(LOCATION, version))


def versions(*known: InForce, as_of: int = 2**40) -> MethodologyVersions:
    """The registry's versions of cn.electricity.location (by default v1 in force from 2021), read
    at a block of time ``as_of``."""
    return MethodologyVersions([LOCATION], {LOCATION: known or (in_force(),)}, as_of=as_of)


def sign_series(store: Store, meter: str, times: Sequence[int], values: Sequence[int]) -> None:
    """Sign and commit one import-energy reading per (time, value), in one cycle."""
    ReadingSigner(store, TEST_KEY).sign_cycle(
        [energy(t, value, meter=meter, rollover=RULE)
         for t, value in zip(times, values, strict=True)], now=max(times))


def task(store: Store, meters: Sequence[str] = (MAIN,), known: MethodologyVersions | None = None,
         **settings: object) -> SummaryTask:
    """The task over ``meters`` (all ``electricity.grid``) of :data:`SITE`."""
    return SummaryTask(store, TEST_KEY, SITE,
                       [SummaryMeter(path, SOURCE, ENERGY, RULE) for path in meters],
                       known or versions(), SummarySettings(**settings))  # type: ignore[arg-type]
