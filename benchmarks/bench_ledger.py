"""9. The ledger API's ingest: uplink requests decoded, verified and stored, one worker.

Each request is what an edge node sends (``trustmrv-uplink/1``, gzip): 10,000 signed readings of
one device (the uplink's per-request limit) and the header of the batch they make. The timed
path is the worker's own, minus HTTP: ``mrv_core.uplink.decode_request`` of the body, then
``ledger_api.ingest.ingest`` in one transaction (every signature recovered, the device's standing
looked up in a real device directory read from the embedded chain, identity keys looked up, seq
continuity, rows inserted, the batch root rebuilt from the stored leaves) and the commit.

Target (issue 10): at least 10,000 readings/s per worker, and at least 35 % of bare signature
recovery (``mrv_core.signing.recover_address`` over precomputed digests) measured in the same
run. The database is SQLite (WAL, ``synchronous=FULL``) in a temporary directory; every
repetition starts from an empty, migrated database, and the stored rows are checked afterwards.
"""

from __future__ import annotations

import resource
import tempfile
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
from mrv_cli.flows import prepare_sample_device
from mrv_core.batch import SignedBatchHeader
from mrv_core.eip712 import Domain, reading_digest
from mrv_core.keys import DeviceKey
from mrv_core.reading import Reading, SignedReading, meter_id, new_salt
from mrv_core.signing import recover_address
from mrv_core.uplink import Status, UplinkRequest, decode_request, encode_request
from mrv_core.verify import verify_bundle

from .bench_edge import embedded_system
from .core import Config, Row, Target, best_of, check

SECTION = "9. ledger API: ingest (decoded, verified, stored) and proofs, one worker, SQLite"
RATE_TARGET = Target(10_000)
RATIO_TARGET = Target(0.35)
#: The API worker's peak resident memory (issue 10: under 300 MB at that load).
RSS_TARGET = Target(300, at_most=True)
PROOFS = 2_000
PER_REQUEST = 10_000
METERS = 250  # 40 readings of each meter per request


def _requests(key: DeviceKey, domain: Domain, count: int, start: int) -> list[bytes]:
    """``count`` gzip bodies of PER_REQUEST readings each (contiguous seqs per meter, one a
    second from ``start``) and the header of the batch they make."""
    paths = [f"bench-co/plant/hall-{m // 50}/line-{m // 10 % 5}/meter-{m:03d}"
             for m in range(METERS)]
    meters = [meter_id(p) for p in paths]
    bodies, seq = [], 0
    for batch_seq in range(count):
        readings: list[SignedReading] = []
        while len(readings) < PER_REQUEST:
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


def measure(cfg: Config) -> tuple[float, float, int, float]:
    """(ingest readings/s, bare recoveries/s, readings per run, proof bundles/s), best of the
    repetitions."""
    system, admin = embedded_system()
    key = DeviceKey.generate()
    prepare_sample_device(system, admin, key)
    directory = DeviceDirectory(system)
    directory.refresh()
    start = system.chain.latest_timestamp() + 60
    count = 1 if cfg.quick else 3
    bodies = _requests(key, system.domain, count, start)
    n = count * PER_REQUEST
    probe = decode_request(bodies[0], "gzip")
    signed = [i for i in probe.items if isinstance(i, SignedReading)]
    pairs = [(reading_digest(s.reading, system.domain), s.signature) for s in signed]

    settle_heap()  # as a served worker does once started (ledger_api.server)

    def bare() -> None:
        for digest, signature in pairs:
            recover_address(digest, signature)

    def timed_run(directory_path: Path) -> float:
        engine = make_engine(f"sqlite:///{directory_path / 'ledger.sqlite'}")
        upgrade(engine)
        sessions = make_sessions(engine)
        def timed() -> int:
            accepted = 0
            for body in bodies:
                request = decode_request(body, "gzip")
                with sessions.begin() as session:
                    result = ingest(session, request, directory, system.domain,
                                    now=datetime.now(UTC))
                accepted += result.count(Status.ACCEPTED)
            return accepted

        seconds, accepted = best_of(timed, repeat=1, warmup=0)
        with Session(engine) as session:
            stored = session.scalar(select(func.count()).select_from(ReadingRow)) or 0
            batches = session.scalar(select(func.count()).select_from(BatchRow)) or 0
        engine.dispose()
        check(accepted == n + count and stored == n and batches == count,
              f"{accepted} accepted, {stored} readings and {batches} batches stored, expected "
              f"{n} readings and {count} batches")
        return seconds

    best_ingest = best_bare = float("inf")
    proofs_rate = 0.0
    for _ in range(1 if cfg.quick else 3):
        with tempfile.TemporaryDirectory(prefix="mrv-bench-ledger-") as scratch:
            best_ingest = min(best_ingest, timed_run(Path(scratch)))
            proofs_rate = max(proofs_rate, _proofs(Path(scratch), key, system.domain, signed))
        best_bare = min(best_bare, best_of(bare, repeat=1, warmup=0)[0])
    return n / best_ingest, len(pairs) / best_bare, n, proofs_rate


def _proofs(directory: Path, key: DeviceKey, domain: Domain,
            signed: list[SignedReading]) -> float:
    """Single-reading proof bundles built from the stored data and serialised, per second
    (``ledger_api.proofs``, as ``GET /v1/proofs/...`` builds them; HTTP and the anchor lookup
    excluded), for readings spread over the first batch; each checked to verify offline."""
    engine = make_engine(f"sqlite:///{directory / 'ledger.sqlite'}")
    trees = TreeCache()
    picks = [signed[(i * 7919) % len(signed)] for i in range(PROOFS)]
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
    return PROOFS / seconds


def run(cfg: Config) -> list[Row]:
    ingest_rate, bare_rate, n, proofs_rate = measure(cfg)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        Row(SECTION, "baseline: bare signature recovery (coincurve)", bare_rate, "/s",
            note=f"n={PER_REQUEST:,} precomputed digests"),
        Row(SECTION, "ingest: readings decoded, verified, stored", ingest_rate, "/s",
            RATE_TARGET, note=f"{n // PER_REQUEST} requests of {PER_REQUEST:,} readings and "
                              f"their batch header, {METERS} meters"),
        Row(SECTION, "  ratio: ingest / bare recovery", ingest_rate / bare_rate, "x",
            RATIO_TARGET, note="same run, timed alternately"),
        Row(SECTION, "proof bundles built from stored data", proofs_rate, "/s",
            note=f"{PROOFS:,} single-reading bundles of a {PER_REQUEST:,}-leaf batch, "
                 "serialised; HTTP excluded"),
        Row(SECTION, "peak RSS of this process (worker + benchmark)", peak_mb, "MB",
            RSS_TARGET, note="an upper bound: the process also holds the embedded chain and "
                             "the prepared requests"),
    ]


if __name__ == "__main__":
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for row in run(Config.quick_run()):
        print(row)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
