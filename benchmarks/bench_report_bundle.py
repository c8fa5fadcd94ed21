"""Report bundle size and offline verification time for a month of N meters (issue 11).

A month of 1,000 meters read every 15 minutes is 2.9 M readings; a report bundle proves only the
boundary readings of each meter (the last reading at or before the start and the end of the
period) and their successors (the next reading, which shows the boundary reading is the last
one before its bound: protocol 11.4); no rollover, meter change or gap in this run, which would
add two readings per notable step. The meters sit behind ``devices`` edge nodes; each device's
hourly batch holds four readings of each of its meters, so the two batches holding a device's
boundary readings and their successors are real-size trees (the other leaves are salted hashes
the bundle never discloses: random 32-byte leaves here) whose headers the device signs. The
report document lists one measured line per
meter with the figures ``accounting_rules.compute`` gives under cn.machinery v1.

``python -m benchmarks.bench_report_bundle --meters 1000`` prints the bundle's size and the
best time of parsing plus every offline step (``verify_report_bundle``); the chain steps depend
on the node (a few ``eth_call`` per batch and one for ``compute``) and are measured by the
demo against its chain.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass

from accounting_rules import Activity, compute, load_methodology
from accounting_rules.reports.bundle import ProvenBatch, ReportBundle, prove_batch
from accounting_rules.reports.document import (
    Batches,
    BatchRef,
    ChainRef,
    MeasuredLine,
    MethodologyRef,
    PlanLine,
    ReadingRef,
    ReportDocument,
    ReportPeriod,
    SiteRef,
    Totals,
)
from accounting_rules.reports.struct import report_hash
from accounting_rules.reports.verify import verify_report_bundle
from mrv_core.batch import BatchHeader
from mrv_core.eip712 import Domain, leaf_hash
from mrv_core.hashing import keccak256
from mrv_core.keys import DeviceKey
from mrv_core.merkle import MerkleTree
from mrv_core.reading import Reading, SignedReading, meter_id, new_salt

from .core import check

__all__ = ["BundleFigures", "measure"]

#: October 2026 in Beijing, 2,976 quarter hours.
START, END = 1_790_784_000, 1_793_462_400
STEP_S = 900
SITE = "demo-co/wuxi-plant"
CHAIN = ChainRef(31337, keccak256(b"reports")[:20], keccak256(b"anchors")[:20],
                 keccak256(b"methodologies")[:20])
DOMAIN = Domain(CHAIN.chain_id, CHAIN.anchor_registry)
QUANTITY = "energy.active.import:Wh"


@dataclass(frozen=True)
class BundleFigures:
    """What one run measured: the bundle's size in bytes, its readings and batches, and the
    best seconds of parsing and verifying it offline."""

    meters: int
    readings: int
    batches: int
    bytes: int
    verify_s: float


def _meter_path(device: int, meter: int) -> str:
    return f"{SITE}/area-{device}/line-{meter // 50}/meter-{meter}"


def _boundary_batch(key: DeviceKey, batch_seq: int, readings: list[SignedReading]
                    ) -> ProvenBatch:
    """The device's hourly batch holding ``readings`` (per meter its boundary reading and the
    successor a quarter later, which shows the boundary reading is the last one before the
    bound: protocol 11.4) among the hour's other readings of its meters (undisclosed leaves),
    proven by one multiproof."""
    per_hour = 3600 // STEP_S
    leaves = [leaf_hash(r.reading) for r in readings]
    leaves += [os.urandom(32) for _ in range(len(readings) // 2 * (per_hour - 2))]
    tree = MerkleTree(leaves)
    t = max(r.reading.timestamp for r in readings)
    header = BatchHeader(device=key.address, batch_seq=batch_seq, root=tree.root,
                         leaf_count=tree.leaf_count, from_timestamp=t - 3600 + STEP_S,
                         to_timestamp=t)
    return prove_batch(header, key.sign_batch(header, DOMAIN), None, tree,
                       dict(enumerate(readings)))


def build(meters: int, devices: int) -> ReportBundle:
    """The month's report bundle of ``meters`` meters spread over ``devices`` edge nodes."""
    quarters = (END - START) // STEP_S
    per_device = -(-meters // devices)
    plan, lines_in, measured, proven = [], [], [], []
    for d in range(devices):
        key = DeviceKey.from_private_bytes(keccak256(b"bench device %d" % d))
        paths = [_meter_path(d, m) for m in range(min(per_device, meters - d * per_device))]
        boundary: list[list[SignedReading]] = [[], []]
        for m, path in enumerate(paths):
            first = 1_000_000 + 7_919 * m
            for side, (seq, t, value) in enumerate(((100, START, first),
                                                    (100 + quarters, END,
                                                     first + quarters * (2_000 + m)))):
                reading = Reading(key.address, meter_id(path), seq, t, QUANTITY, value,
                                  new_salt())
                after = Reading(key.address, meter_id(path), seq + 1, t + STEP_S,
                                QUANTITY, value + 2_000 + m, new_salt())
                boundary[side] += [key.sign_reading(reading, DOMAIN, path),
                                   key.sign_reading(after, DOMAIN, path)]
            start, end = boundary[0][-2].reading, boundary[1][-2].reading
            plan.append(PlanLine(path, "electricity.grid", QUANTITY, 2**32, None))
            lines_in.append(Activity("electricity.grid", end.value - start.value))
            measured.append(dict(
                source="electricity.grid", unit="Wh", amount=end.value - start.value,
                meter_path=path, meter=meter_id(path), device=key.address, quantity=QUANTITY,
                start_reading=ReadingRef(start.seq, start.timestamp, start.value),
                end_reading=ReadingRef(end.seq, end.timestamp, end.value),
                readings=quarters + 1, gap_records=0, bridged_steps=0, bridged_seconds=0,
                rollovers=0, meter_changes=0, unexplained_decreases=0))
        if paths:
            proven += [_boundary_batch(key, 0, boundary[0]), _boundary_batch(key, 1, boundary[1])]
    result = compute(load_methodology("cn.machinery", 1), START, END, lines_in)
    order = sorted(range(len(measured)), key=lambda i: (measured[i]["meter_path"],
                                                        measured[i]["device"]))
    lines = tuple(MeasuredLine(scope=result.emissions[i].scope, grams=result.emissions[i].grams,
                               **measured[i]) for i in order)  # type: ignore[arg-type]
    proven.sort(key=lambda b: b.key)
    doc = ReportDocument(
        enterprise=keccak256(b"enterprise")[:20], site=SiteRef.of(SITE),
        period=ReportPeriod(START, END, "Asia/Shanghai", "2026-10"),
        methodology=MethodologyRef("cn.machinery", 1, keccak256(b"cn.machinery v1")[:20]),
        chain=CHAIN, plan=tuple(sorted(plan, key=lambda p: p.meter_path)), lines=lines,
        totals=Totals(result.scope1, result.scope2, result.total),
        batches=Batches.of([BatchRef(b.header.device, b.header.batch_seq, b.header.root)
                            for b in proven]),
        supersedes=bytes(32), created_at=END + 86_400)
    return ReportBundle(report=doc, report_hash=report_hash(doc), domain=DOMAIN,
                        batches=tuple(proven))


def measure(meters: int, *, devices: int | None = None, repeat: int = 3) -> BundleFigures:
    """Build the bundle of ``meters`` meters (on ``devices`` edge nodes: one per 100 meters by
    default) and time parsing plus offline verification, best of ``repeat``."""
    devices = devices or max(1, -(-meters // 100))
    bundle = build(meters, devices)
    data = bundle.dumps()
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        verified = verify_report_bundle(ReportBundle.loads(data))
        best = min(best, time.perf_counter() - started)
        check(verified.bundle == bundle, "the parsed bundle differs from the written one")
    return BundleFigures(meters, sum(len(b.readings) for b in bundle.batches),
                         len(bundle.batches), len(data), best)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--meters", type=int, default=1_000)
    parser.add_argument("--devices", type=int, default=None)
    args = parser.parse_args(argv)
    figures = measure(args.meters, devices=args.devices)
    print(f"report bundle, {figures.meters:,} meters, one month at 15 min: "
          f"{figures.readings:,} readings in {figures.batches:,} batches, "
          f"{figures.bytes / 1e6:.2f} MB; parse + offline verification "
          f"{figures.verify_s:.2f} s (best of 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
