"""The readings a figure adds to prove its evidence complete (``ledger_api.recompute.
successors``), on a meter polled for energy and power with one seq per sample as the edge node
numbers them, delivered through the real ingest on SQLite and PostgreSQL: the successor runs of
both boundary readings, the power reading inside the energy's fall, and what is named missing
while a seq is not held."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger_support import StaticDevices
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from factories import TEST_DOMAIN, TEST_KEY
from ledger_api.ingest.service import ingest
from ledger_api.recompute import MeterFigure, PlanPoint, meter_figures, replace_plan
from mrv_core.codec import format_address
from mrv_core.reading import Reading, SignedReading, meter_id
from mrv_core.uplink import UplinkRequest

ENTERPRISE = b"\xaa" * 20
SITE = "demo-co/wuxi-plant"
PATH = f"{SITE}/hall-1/line-1/main"
ENERGY, POWER = "energy.active.import:Wh", "power.active:W"
T0, POLL_S = 1_790_784_000, 900
START, END = T0 + 2 * POLL_S, T0 + 6 * POLL_S
NOW = datetime(2026, 12, 1, tzinfo=UTC)
NAME = f"{PATH} ({format_address(TEST_KEY.address)})"


def _signed(polls: int, fall_at: int) -> list[SignedReading]:
    """Polls 0..polls-1: energy (seq 2n, rising 1,000 Wh a poll, reset to 10 Wh at poll
    ``fall_at``) then power (seq 2n + 1), both at the poll's time."""
    readings, energy = [], 100_000
    for n in range(polls):
        energy = 10 if n == fall_at else energy + 1_000
        for i, (quantity, value) in enumerate(((ENERGY, energy), (POWER, 1_500))):
            readings.append(TEST_KEY.sign_reading(Reading(
                TEST_KEY.address, meter_id(PATH), 2 * n + i, T0 + n * POLL_S, quantity, value,
                bytes([2 * n + i + 1]) * 32), TEST_DOMAIN, PATH))
    return readings


def _figure(engine: Engine, delivered: list[SignedReading]) -> MeterFigure:
    devices = StaticDevices({TEST_KEY.address}, enterprises={TEST_KEY.address: ENTERPRISE})
    with Session(engine) as session, session.begin():
        replace_plan(session, ENTERPRISE, [PlanPoint(PATH, "electricity.grid", ENERGY, None,
                                                     None)], actor="test", now=NOW)
        ingest(session, UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN, list(delivered)),
               devices, TEST_DOMAIN, now=NOW)
    with Session(engine) as session:
        (figure,) = meter_figures(session, ENTERPRISE, SITE, START, END)
    return figure


def _seqs(figure: MeterFigure) -> list[int]:
    """The seqs behind the figure's leaves (positions follow the delivery order here)."""
    return sorted(p for _, p in figure.leaves)


def test_the_successor_runs_and_the_readings_inside_a_fall_are_added(
        ledger_engine: Engine) -> None:
    """Energy falls at poll 4 (seq 8, from seq 6): the power reading seq 7 between them is
    added; the start reading seq 4 brings seq 5 (power, at the start) and seq 6 (after it); the
    end reading seq 12 brings seq 13 and seq 14."""
    figure = _figure(ledger_engine, _signed(8, fall_at=4))
    assert [r.reading.seq for r in figure.readings] == [4, 6, 8, 12]
    assert figure.energy.unexplained_decreases == 1
    assert _seqs(figure) == [4, 5, 6, 7, 8, 12, 13, 14]
    assert figure.unproven == ()


def test_what_is_not_held_yet_is_named(ledger_engine: Engine) -> None:
    """Without the power reading inside the fall and without the poll after the end, the figure
    names both (the report route refuses with the first)."""
    signed = [r for r in _signed(7, fall_at=4) if r.reading.seq != 7]
    figure = _figure(ledger_engine, signed)
    assert figure.unproven == (
        f"{NAME}: no reading after the period end delivered yet (reading seq 14 of the meter, "
        f"which shows that seq 12 is the last reading at or before {END}, is not held)",
        f"{NAME}: the counter falls from seq 6 to seq 8 and 1 reading(s) of the meter between "
        "them are not held yet: the fall cannot be shown to be one step")
    # The recompute itself stands: 1,000 Wh to the fall (counted 0), then 2,000 Wh after it.
    assert figure.energy.energy == 1_000 + 2_000
