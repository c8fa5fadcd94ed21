"""9. The ledger API, one worker: ingest on SQLite and on PostgreSQL, proofs served over HTTP.

Each request is what an edge node sends (``trustmrv-uplink/1``, gzip): 10,000 signed readings of
one device (the uplink's per-request limit) and the header of the batch they make. The timed
ingest path is the worker's own, minus HTTP: ``mrv_core.uplink.decode_request`` of the body,
then ``ledger_api.ingest.ingest`` in one transaction (every signature recovered, the device's
standing looked up in a real device directory read from the chain, identity keys looked up, seq
continuity, rows inserted, the batch root rebuilt from the stored leaves) and the commit. It
runs on SQLite (WAL, ``synchronous=FULL``, in a temporary directory) and on PostgreSQL (a server
this benchmark starts on 127.0.0.1 with :mod:`local_servers.postgres`, the tests' own code, but
with durable settings: fsync, synchronous commit and full-page writes on); every repetition
starts from an empty, migrated database, and the stored rows are checked afterwards.

The chain is a real anvil node (:mod:`benchmarks.ledger_servers`). After the ingest runs, the
last PostgreSQL database's batches are anchored on it and recorded by a chain watcher, and the
API is served from that database by ``mrv api serve`` in a subprocess (one worker); a client
(httpx, keep-alive connections, a few at a time) times ``GET /v1/proofs/{device}/{meter}/{seq}``
for readings spread over the first batch, every answer checked (200; a sample verified offline),
and the worker's own peak RSS is read from ``/proc``.

Targets (issue 10): at least 10,000 readings/s per worker on each database, and at least 35 % of
bare signature recovery (``mrv_core.signing.recover_address`` over precomputed digests)
measured in the same run; the API worker under 300 MB RSS at the proofs' load.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger_api.chain.directory import DeviceDirectory
from ledger_api.db.engine import make_engine, make_sessions
from ledger_api.db.migrate import upgrade
from ledger_api.db.models import BatchRow, ReadingRow
from ledger_api.ingest.service import ingest
from ledger_api.proofs import TreeCache, proof_bundle
from ledger_api.server import settle_heap
from mrv_core.batch import SignedBatchHeader
from mrv_core.eip712 import Domain, reading_digest
from mrv_core.keys import DeviceKey
from mrv_core.reading import Reading, SignedReading, meter_id, new_salt
from mrv_core.signing import recover_address
from mrv_core.uplink import Status, UplinkRequest, decode_request, encode_request
from mrv_core.verify import verify_bundle

from .core import Config, Row, Target, best_of, check, format_row, table_header
from .ledger_servers import (
    CONNECTIONS,
    VERIFY_EVERY,
    anchor_and_watch,
    durable_postgres,
    get_proofs,
    ledger_chain,
    peak_rss_mb,
    reader_key,
    served_api,
)

SECTION = "9. ledger API: ingest (decoded, verified, stored) and proofs, one worker"
RATE_TARGET = Target(10_000)
RATIO_TARGET = Target(0.35)
#: The API worker's peak resident memory (issue 10: under 300 MB at that load).
RSS_TARGET = Target(300, at_most=True)
PER_REQUEST = 10_000
METERS = 250  # 40 readings of each meter per request
SQLITE, POSTGRES = "SQLite", "PostgreSQL"


@dataclass(frozen=True)
class Sizes:
    """Requests per run, readings per request, proof bundles built in-process and served over
    HTTP. A quick run's sizes make a smoke test of a few seconds (servers' start-up included),
    not a measurement."""

    requests: int
    per_request: int
    proofs: int
    served: int

    @classmethod
    def of(cls, cfg: Config) -> Sizes:
        return cls(1, 2_000, 200, 100) if cfg.quick else cls(3, PER_REQUEST, 2_000, 5_000)


def _requests(key: DeviceKey, domain: Domain, count: int, start: int,
              per_request: int = PER_REQUEST) -> list[bytes]:
    """``count`` gzip bodies of ``per_request`` readings each (contiguous seqs per meter, one a
    second from ``start``) and the header of the batch they make."""
    paths = [f"bench-co/plant/hall-{m // 50}/line-{m // 10 % 5}/meter-{m:03d}"
             for m in range(METERS)]
    meters = [meter_id(p) for p in paths]
    bodies, seq = [], 0
    for batch_seq in range(count):
        readings: list[SignedReading] = []
        while len(readings) < per_request:
            for m, path in enumerate(paths):
                reading = Reading(key.address, meters[m], seq, start + seq,
                                  "energy.active.import:Wh", 1_000_000 * m + 250 * seq,
                                  new_salt())
                readings.append(key.sign_reading(reading, domain, path))
            seq += 1
        batch = key.close_batch(batch_seq, readings, domain)
        assert batch.header_signature is not None
        header = SignedBatchHeader(batch.header, batch.header_signature)
        bodies.append(encode_request(UplinkRequest.of(key.address, domain,
                                                      [*readings, header])))
    return bodies


@dataclass(frozen=True)
class Figures:
    """What :func:`measure` found with its sizes: ingest readings/s by database, bare
    recoveries/s, proof bundles built/s in-process, served/s over HTTP, the served worker's peak RSS
    (MB) and the bundles' mean size (bytes)."""

    sizes: Sizes
    ingest: dict[str, float]
    bare: float
    proofs_built: float
    proofs_served: float
    worker_rss_mb: float
    bundle_bytes: float


def measure(cfg: Config) -> Figures:
    """Start anvil and a durable PostgreSQL, time ingest on SQLite and on PostgreSQL (every
    repetition on an empty, migrated database), then serve proofs from the last PostgreSQL
    database through ``mrv api serve``; best of the repetitions."""
    with ledger_chain() as ledger, durable_postgres() as postgres, \
            tempfile.TemporaryDirectory(prefix="mrv-bench-ledger-") as scratch_dir:
        scratch = Path(scratch_dir)
        system, key = ledger.system, ledger.device_key
        directory = DeviceDirectory(system)
        directory.refresh()
        size = Sizes.of(cfg)
        bodies = _requests(key, system.domain, size.requests,
                           system.chain.latest_timestamp() + 5, size.per_request)
        requests = [decode_request(body, "gzip") for body in bodies]
        signed = [i for i in requests[0].items if isinstance(i, SignedReading)]
        headers = [i for r in requests for i in r.items if isinstance(i, SignedBatchHeader)]
        del requests
        pairs = [(reading_digest(s.reading, system.domain), s.signature) for s in signed]

        settle_heap()  # as a served worker does once started (ledger_api.server)

        def bare() -> None:
            for digest, signature in pairs:
                recover_address(digest, signature)

        best = {SQLITE: float("inf"), POSTGRES: float("inf")}
        best_bare, proofs_built, database_url = float("inf"), 0.0, ""
        for rep in range(1 if cfg.quick else 3):
            sqlite_file = scratch / f"ledger-{rep}.sqlite"
            database_url = postgres.create_database(f"ledger_{rep}")
            for name, url in ((SQLITE, f"sqlite:///{sqlite_file}"), (POSTGRES, database_url)):
                best[name] = min(best[name], _timed_ingest(url, bodies, size.per_request,
                                                           directory, system.domain))
                # timed after each database's run: at least as many samples as either ingest
                best_bare = min(best_bare, best_of(bare, repeat=1, warmup=0)[0])
        proofs_built = _proofs(f"sqlite:///{sqlite_file}", key, system.domain, signed,
                               size.proofs)

        picks = [signed[(i * 7919) % len(signed)].reading for i in range(size.served)]
        engine = make_engine(database_url)
        try:
            anchor_and_watch(ledger, engine, headers)
            api_key = reader_key(engine, ledger.enterprise.address)
        finally:
            engine.dispose()
        with served_api(ledger, database_url, scratch) as api:
            get_proofs(api, api_key, key.address, [(r.meter, r.seq) for r in picks[:20]])
            seconds, received = get_proofs(api, api_key, key.address,
                                           [(r.meter, r.seq) for r in picks])
            rss = peak_rss_mb(api.pid)
    n = size.requests * size.per_request
    return Figures(size, {k: n / v for k, v in best.items()}, len(pairs) / best_bare,
                   proofs_built, size.served / seconds, rss, received / size.served)


def _timed_ingest(url: str, bodies: list[bytes], per_request: int, directory: DeviceDirectory,
                  domain: Domain) -> float:
    """Seconds to decode, ingest and commit ``bodies`` one request per transaction into the
    empty database at ``url`` (migrated first, untimed); the stored rows are checked after."""
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessions(engine)
    count = len(bodies)

    def timed() -> int:
        accepted = 0
        for body in bodies:
            request = decode_request(body, "gzip")
            with sessions.begin() as session:
                result = ingest(session, request, directory, domain, now=datetime.now(UTC))
            accepted += result.count(Status.ACCEPTED)
        return accepted

    try:
        seconds, accepted = best_of(timed, repeat=1, warmup=0)
        with Session(engine) as session:
            stored = session.scalar(select(func.count()).select_from(ReadingRow)) or 0
            batches = session.scalar(select(func.count()).select_from(BatchRow)) or 0
    finally:
        engine.dispose()
    n = count * per_request
    check(accepted == n + count and stored == n and batches == count,
          f"{url.split(':', 1)[0]}: {accepted} accepted, {stored} readings and {batches} batches "
          f"stored, expected {n} readings and {count} batches")
    return seconds


def _proofs(url: str, key: DeviceKey, domain: Domain, signed: list[SignedReading],
            count: int) -> float:
    """Single-reading proof bundles built from the stored data and serialised, per second
    (``ledger_api.proofs``, as ``GET /v1/proofs/...`` builds them; HTTP and the anchor lookup
    excluded), for readings spread over the first batch; the first checked to verify offline."""
    engine = make_engine(url)
    trees = TreeCache()
    picks = [signed[(i * 7919) % len(signed)] for i in range(count)]
    try:
        with Session(engine) as session:
            first = proof_bundle(session, key.address, [(picks[0].reading.meter,
                                                         picks[0].reading.seq)],
                                 domain, None, trees)
            verify_bundle(first)

            def serve() -> int:
                return sum(len(proof_bundle(session, key.address,
                                            [(s.reading.meter, s.reading.seq)], domain, None,
                                            trees).dumps()) for s in picks)

            seconds, _ = best_of(serve, repeat=1, warmup=0)
    finally:
        engine.dispose()
    return count / seconds


def run(cfg: Config) -> list[Row]:
    f = measure(cfg)
    size = f.sizes
    requests = (f"{size.requests} requests of {size.per_request:,} readings and their batch "
                f"header, {METERS} meters")
    rows = [Row(SECTION, "baseline: bare signature recovery (coincurve)", f.bare, "/s",
                note=f"n={size.per_request:,} precomputed digests")]
    for name, note in ((SQLITE, "SQLite WAL, synchronous=FULL"),
                       (POSTGRES, "PostgreSQL 127.0.0.1, fsync and synchronous_commit on")):
        rows += [
            Row(SECTION, f"ingest, {name}: readings decoded, verified, stored",
                f.ingest[name], "/s", RATE_TARGET, note=f"{requests}; {note}"),
            Row(SECTION, f"  ratio, {name}: ingest / bare recovery", f.ingest[name] / f.bare,
                "x", RATIO_TARGET, note="same run, timed alternately"),
        ]
    return [
        *rows,
        Row(SECTION, "proof bundles built from stored data", f.proofs_built, "/s",
            note=f"{size.proofs:,} single-reading bundles of a {size.per_request:,}-leaf batch, "
                 "serialised, SQLite; HTTP excluded"),
        Row(SECTION, "proof bundles served over HTTP (GET, one worker)",
            f.proofs_served, "/s",
            note=f"{size.served:,} GET /v1/proofs/{{device}}/{{meter}}/{{seq}}, {CONNECTIONS} "
                 f"keep-alive connections, `mrv api serve` "
                 f"(1 worker) on PostgreSQL, {f.bundle_bytes:,.0f} B each; all 200, every "
                 f"{VERIFY_EVERY}th verified"),
        Row(SECTION, "peak RSS of the API worker serving them", f.worker_rss_mb, "MB",
            RSS_TARGET, note="VmHWM of the `mrv api serve` process (ingest not through it)"),
    ]


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.bench_ledger [--quick] [--profile]``: section 9 alone, its table
    printed (``--profile``: and this process's cProfile, top 30 by own time)."""
    import argparse
    import cProfile
    import pstats

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_ledger",
                                     description=SECTION)
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke test")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the run")
    args = parser.parse_args(argv)
    profiler = cProfile.Profile()
    if args.profile:
        profiler.enable()
    rows = run(Config.quick_run() if args.quick else Config.full())
    profiler.disable()
    print(table_header())
    for row in rows:
        print(format_row(row))
    if args.profile:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
