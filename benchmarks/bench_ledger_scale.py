"""The ledger's ingest as its tables grow: time per reading from an empty database to 10 million
stored readings (issue 10: flat within 2x). ``make bench-scale``; a long run (minutes), so not
part of ``make bench``.

The database is filled in bulk between the measurements with readings of other devices
(``ROWS_PER_DEVICE`` each, 250 meters, realistic paths, random leaves, salts and signatures: the
indexes see the key distribution of real data; nothing reads the filler's signatures). At each
checkpoint one real request is ingested as ``make bench`` section 9 does it (10,000 signed
readings of a registered device and their batch header: decode, verify, store, rebuild the
root, commit), and the time per reading printed. The figure is the slowest checkpoint over the
fastest. SQLite by default; ``--database postgresql+psycopg://...`` measures a PostgreSQL server
the operator started, ``--postgres`` one this run starts on 127.0.0.1 and stops (durable
settings: ``benchmarks.ledger_servers.durable_postgres``, as ``make bench`` section 9).

    python -m benchmarks.bench_ledger_scale [--rows 10000000] [--database URL | --postgres]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from ledger_api.chain.directory import DeviceDirectory
from ledger_api.db.bulk import LEAF_COLUMNS, READING_COLUMNS, insert_rows
from ledger_api.db.engine import make_engine, make_sessions
from ledger_api.db.migrate import upgrade
from ledger_api.db.models import LeafRow, ReadingRow
from ledger_api.ingest.service import ingest
from ledger_api.server import settle_heap
from mrv_cli.flows import prepare_sample_device
from mrv_core.keys import DeviceKey
from mrv_core.uplink import Status, decode_request

from .bench_edge import embedded_system
from .bench_ledger import PER_REQUEST, _requests
from .core import Row, Target, format_row, table_header
from .ledger_servers import durable_postgres

SECTION = "9b. ledger ingest as the tables grow (one worker)"
FLAT_TARGET = Target(2.0, at_most=True)
ROWS_PER_DEVICE = 1_000_000
CHUNK = 50_000


def _fill(engine: object, start: int, count: int) -> None:
    """``count`` filler readings (and their leaves), numbered from ``start`` overall."""
    sessions = make_sessions(engine)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    noise = random.Random(start)
    signature = noise.randbytes(65)  # never read: one object for every filler row
    meters = [m.to_bytes(32, "big") for m in range(250)]
    done = 0
    while done < count:
        n = min(CHUNK, count - done)
        leaves, readings = [], []
        for k in range(start + done, start + done + n):
            device = (0xF000_0000 + k // ROWS_PER_DEVICE).to_bytes(20, "big")
            position = k % ROWS_PER_DEVICE
            meter = position % 250
            seq = position // 250
            path = f"filler-{k // ROWS_PER_DEVICE}/plant/hall-{meter // 50}/line-1/m-{meter:03d}"
            timestamp = 1_700_000_000 + seq
            leaves.append((device, position, "reading", noise.randbytes(32), timestamp,
                           timestamp, seq // 262, now, 60))
            readings.append((device, position, meters[meter], path, seq, timestamp,
                             "energy.active.import:Wh", 1_000 * seq, noise.randbytes(32),
                             signature))
        with sessions.begin() as session:
            connection = session.connection()
            insert_rows(connection, LeafRow.__table__,  # type: ignore[arg-type]
                        LEAF_COLUMNS, leaves)
            insert_rows(connection, ReadingRow.__table__,  # type: ignore[arg-type]
                        READING_COLUMNS, readings)
        done += n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000,
                        help="stored readings at the last checkpoint (default 10,000,000)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database", help="a PostgreSQL URL (default: a SQLite file in a "
                                          "temporary directory)")
    where.add_argument("--postgres", action="store_true",
                       help="start a PostgreSQL server on 127.0.0.1 for this run (fsync on)")
    args = parser.parse_args(argv)
    checkpoints = sorted({0, *(args.rows * f // 10 for f in (1, 3)), args.rows})
    system, admin = embedded_system()
    key = DeviceKey.generate()
    prepare_sample_device(system, admin, key)
    directory = DeviceDirectory(system)
    directory.refresh()
    # Two requests per checkpoint, the faster counts (a shared machine's noise is one-sided).
    bodies = _requests(key, system.domain, 2 * len(checkpoints),
                       system.chain.latest_timestamp() + 60)
    with ExitStack() as stack:
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="mrv-bench-scale-"))
        url = args.database or f"sqlite:///{Path(scratch) / 'ledger.sqlite'}"
        if args.postgres:
            url = stack.enter_context(durable_postgres()).create_database("ledger_scale")
        engine = make_engine(url)
        upgrade(engine)
        sessions = make_sessions(engine)
        settle_heap()
        filled, per_reading = 0, []
        print(f"{SECTION}\n  database {engine.url.render_as_string(hide_password=True)}")
        for i, rows in enumerate(checkpoints):
            started = time.perf_counter()
            _fill(engine, filled, rows - filled)
            filled = rows
            if engine.dialect.name == "postgresql":
                # What autovacuum does for tables that grow gradually: a bulk fill of 10x in
                # seconds would otherwise leave the planner the statistics of the empty table.
                with engine.connect() as connection:
                    connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                        text("ANALYZE leaves, readings"))
            fill_s = time.perf_counter() - started
            times = []
            for body in bodies[2 * i:2 * i + 2]:
                started = time.perf_counter()
                request = decode_request(body, "gzip")
                with sessions.begin() as session:
                    result = ingest(session, request, directory, system.domain,
                                    now=datetime.now(UTC))
                times.append(time.perf_counter() - started)
                if result.count(Status.ACCEPTED) != PER_REQUEST + 1:
                    raise SystemExit(f"a request was not accepted whole: "
                                     f"{result.verdicts[:3]}")
            seconds = min(times)
            per_reading.append(seconds / PER_REQUEST)
            print(f"  {rows:>12,} stored readings: {seconds / PER_REQUEST * 1e6:7.1f} us/reading "
                  f"(filled in {fill_s:.0f} s)", flush=True)
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                pages = connection.execute(text("PRAGMA page_count")).scalar_one()
            print(f"  database size {pages * 4096 / 2**30:.1f} GiB")
        engine.dispose()
    row = Row(SECTION, "slowest / fastest checkpoint", max(per_reading) / min(per_reading), "x",
              FLAT_TARGET, note=f"0 to {args.rows:,} stored readings")
    print(table_header())
    print(format_row(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
