"""10. The ledger's month recompute from the database (issue 11): 1,000 meters read every 15
minutes for a 30-day month (2.88 million stored readings), recomputed in under 2 s.

The database is bulk-loaded (``ledger_api.db.bulk``, as ``bench_ledger_scale`` fills it; the
ingest is measured by section 9): ten devices of one enterprise with 100 meters each, realistic
ISA-95 paths of one site, the readings of November 2026 (Beijing) and two before it, random
leaves, salts and signatures (nothing reads them). One meter in ten wraps its 32-bit counter
during the month, so its counter mark (``counter_marks``, as ingest keeps it) and a rollover
are in the recompute; every meter is a line of the enterprise's monitoring plan. The timed
work is what ``GET /v1/emissions`` does for one month: ``meter_figures`` (the sparse readings
of every counter through the indexes, counts from SQL) and ``period_emissions`` (the
calculator with cn.electricity.location v1's data file; the registry's version is cached by
the route, so it is given here as the registry would hold it), on a warm connection, best of
three. The figures are checked against the loaded data (each meter's energy is the counter
difference, with its wrap).

SQLite (WAL, a temporary file) and PostgreSQL (a server this run starts on 127.0.0.1 with
``local_servers.postgres``, durable settings, as section 9; vacuumed and analysed after the
load, untimed, as autovacuum leaves a table whose month is over: the index-only scans of the
counts' edges read no heap page. Measured at 1,000 meters: right after the bulk load about a
fifth of the readings' pages were not yet all-visible and the old whole-range ``COUNT`` of
the last 250 counters fetched 142,000 heap tuples; autovacuum had set them a minute or two
later, as ``VACUUM ANALYZE`` does here at once).

    python -m benchmarks.bench_recompute [--meters 1000] [--quick]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

from sqlalchemy import Engine

from accounting_rules.publishing import Resolved
from accounting_rules.registry import load_methodology
from accounting_rules.versions import InForce, MethodologyVersions
from ledger_api.db.bulk import LEAF_COLUMNS, READING_COLUMNS, insert_rows
from ledger_api.db.engine import make_engine, make_sessions
from ledger_api.db.migrate import upgrade
from ledger_api.db.models import (
    CounterMarkRow,
    DeviceStreamRow,
    LeafRow,
    MeterStreamRow,
    ReadingRow,
)
from ledger_api.recompute import PlanPoint, meter_figures, replace_plan
from ledger_api.recompute.emissions import period_emissions
from mrv_core.reading import meter_id

from .core import Config, Row, Target, best_of, check, format_row, table_header
from .ledger_servers import durable_postgres

SECTION = "10. ledger recompute: a month of 15-minute readings, from the database"
TIME_TARGET = Target(2.0, at_most=True)
METERS = 1_000
PER_DEVICE = 100
START, END = 1_793_462_400, 1_796_054_400  # November 2026, Beijing
STEP_S = 900
MODULUS = 2**32
ENTERPRISE = b"\xe0" * 20
SITE = "bench-co/plant"
LOCATION = "cn.electricity.location"
QUANTITY = "energy.active.import:Wh"
VERSIONS = MethodologyVersions([LOCATION], {LOCATION: [InForce(
    Resolved(LOCATION, "0x" + "11" * 20, 1, 1_609_430_400, bytes(32)),
    load_methodology(LOCATION, 1))]}, as_of=END)


def _path(m: int) -> str:
    return f"{SITE}/hall-{m // 100}/line-{m // 10 % 10}/meter-{m:04d}"


def _value(m: int, seq: int) -> int:
    """Meter ``m``'s register at ``seq``: 250 Wh a step; one meter in ten wraps mid-month."""
    base = MODULUS - 360_000 if m % 10 == 0 else 1_000_000 * m
    return (base + 250 * seq) % MODULUS


def load(engine: Engine, meters: int) -> int:
    """Bulk-load ``meters`` meters' readings, streams, marks and the plan; the readings
    stored."""
    sessions = make_sessions(engine)
    now = datetime.now(UTC)
    noise = random.Random(meters)
    signature = noise.randbytes(65)
    first = START - 2 * STEP_S
    per_meter = (END + STEP_S - first) // STEP_S
    stored = 0
    with sessions.begin() as session:
        replace_plan(session, ENTERPRISE, [
            PlanPoint(_path(m), "electricity.grid", QUANTITY, MODULUS, Fraction(1193046))
            for m in range(meters)], actor="bench", now=now)
    for d in range((meters + PER_DEVICE - 1) // PER_DEVICE):
        device = (0xB000_0000 + d).to_bytes(20, "big")
        own = range(d * PER_DEVICE, min(meters, (d + 1) * PER_DEVICE))
        leaves, readings, marks = [], [], []
        position = 0
        for seq in range(per_meter):
            t = first + STEP_S * seq
            for m in own:
                leaves.append((device, position, "reading", noise.randbytes(32), t, t,
                               position // 10_000, now, 60))
                readings.append((device, position, meter_id(_path(m)), _path(m), seq, t,
                                 QUANTITY, _value(m, seq), noise.randbytes(32), signature))
                if seq and _value(m, seq) < _value(m, seq - 1):
                    marks.append((device, meter_id(_path(m)), seq))
                position += 1
        with sessions.begin() as session:
            session.add(DeviceStreamRow(device=device, next_position=position,
                                        batched_through=position, next_batch_seq=0,
                                        first_seen=now, last_seen=now, enterprise=ENTERPRISE))
            session.add_all(MeterStreamRow(device=device, meter=meter_id(_path(m)),
                                           meter_path=_path(m), max_seq=per_meter - 1)
                            for m in own)
            session.flush()
            connection = session.connection()
            insert_rows(connection, LeafRow.__table__,  # type: ignore[arg-type]
                        LEAF_COLUMNS, leaves)
            insert_rows(connection, ReadingRow.__table__,  # type: ignore[arg-type]
                        READING_COLUMNS, readings)
            insert_rows(connection, CounterMarkRow.__table__,  # type: ignore[arg-type]
                        ("device", "meter", "seq"), marks)
        stored += len(readings)
    return stored


def timed_month(engine: Engine, meters: int) -> float:
    """Seconds (best of three) to recompute the month's figures and emissions, checked."""
    sessions = make_sessions(engine)
    with sessions() as session:
        def run() -> int:
            figures = meter_figures(session, ENTERPRISE, SITE, START, END)
            period = period_emissions(figures, START, END, VERSIONS)
            check(len(period.meters) == meters, f"{len(period.meters)} figures, expected "
                                                f"{meters}")
            return period.total

        seconds, total = best_of(run, repeat=3, warmup=1)
        figures = meter_figures(session, ENTERPRISE, SITE, START, END)
    steps = (END - START) // STEP_S
    for f in figures:
        m = int(f.point.meter_path.rsplit("-", 1)[1])
        check(f.energy.energy == 250 * steps, f"meter {m}: energy {f.energy.energy}, expected "
                                              f"{250 * steps}")
        check(f.energy.rollovers == (1 if m % 10 == 0 else 0), f"meter {m}: rollovers")
        check(f.energy.reading_count == steps + 1, f"meter {m}: {f.energy.reading_count} "
                                                   "readings")
    check(total > 0, "no emissions")
    return seconds


def measure(meters: int) -> dict[str, tuple[float, float, int]]:
    """Per database: (load seconds, recompute seconds, readings stored)."""
    out: dict[str, tuple[float, float, int]] = {}
    with durable_postgres() as postgres, \
            tempfile.TemporaryDirectory(prefix="mrv-bench-recompute-") as scratch:
        for name, url in (("SQLite", f"sqlite:///{Path(scratch) / 'ledger.sqlite'}"),
                          ("PostgreSQL", postgres.create_database("recompute"))):
            engine = make_engine(url)
            try:
                upgrade(engine)
                began = time.perf_counter()
                stored = load(engine, meters)
                if name == "PostgreSQL":  # as autovacuum leaves a month-old table
                    with engine.connect().execution_options(
                            isolation_level="AUTOCOMMIT") as connection:
                        connection.exec_driver_sql("VACUUM ANALYZE")
                loaded = time.perf_counter() - began
                out[name] = (loaded, timed_month(engine, meters), stored)
            finally:
                engine.dispose()
    return out


def run(cfg: Config, meters: int | None = None) -> list[Row]:
    count = meters if meters is not None else (10 if cfg.quick else METERS)
    rows = []
    for name, (loaded, seconds, stored) in measure(count).items():
        rows.append(Row(SECTION, f"month recompute, {name}: {count:,} meters", seconds, "s",
                        TIME_TARGET, note=f"{stored:,} readings stored (bulk-loaded in "
                                          f"{loaded:.0f} s); figures and emissions, checked"))
    return rows


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.bench_recompute [--meters N] [--quick]``: section 10 alone."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_recompute",
                                     description=SECTION)
    parser.add_argument("--quick", action="store_true", help="10 meters, a smoke test")
    parser.add_argument("--meters", type=int, default=None,
                        help=f"meters (default {METERS:,}; 100 on a shared machine)")
    args = parser.parse_args(argv)
    rows = run(Config.quick_run() if args.quick else Config.full(), args.meters)
    print(table_header())
    for row in rows:
        print(format_row(row))


if __name__ == "__main__":
    main()
