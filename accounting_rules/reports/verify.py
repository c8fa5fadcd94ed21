"""The standalone verifier of report bundles (``trustmrv-report-bundle/1``): offline steps.

It needs no API and no database: the bundle, the methodology data files shipped with this
package and, for the chain steps (:mod:`.verify_chain`), a JSON-RPC endpoint and the deployment
file the verifier trusts. It fails closed like ``mrv_core.verify``: :func:`verify_report_bundle`
returns only when every step passed and raises :class:`~mrv_core.errors.VerificationError`
naming the first step that failed. The offline steps, in order (numbered in the code):

1.  ``format``     the document parses as ``trustmrv-report-bundle/1`` (strict, bounded)
2.  ``document``   ``reportHash`` is the EIP-712 struct hash of the document's Report; the
                   totals are the sums of the lines' grams by scope; every meter lies in the
                   report's site (when it names one); ``batches.root`` is the root of
                   ``batches.items``
3.  ``domain``     the devices' domain is the document's chain and AnchorRegistry (not the
                   offline sample domain), and every anchor names it
4.  per batch, in bundle order:
    ``header``     the device signed the batch header;
    ``batch``      every reading and record is the batch's device's, inside its time span, none
                   twice, no more than ``leafCount``;
    ``meter``      every meter id is keccak256 of its path (a meter change's note hash of its
                   text); ``signature``: every signature recovers the device;
    ``proof``      readings and records each in ascending leaf order, the multiproof's shape
                   fits; ``root``: the recomputed leaves and the multiproof rebuild the root
5.  ``evidence``   the batches are exactly ``batches.items`` (besides batches that prove only
                   summaries); every measured line has its plan
                   line and its boundary readings in the bundle; every reading and record
                   belongs to a measured line (summaries: to ``summaries``), every summary is
                   proven in a batch; and the readings are the right ones
                   (:mod:`.completeness`): each boundary reading's successor run proven, so
                   it is the last at or before its bound (``null``: none was), and every fall
                   of a counter one step between adjacent readings or explained by a proven
                   meter change
6.  ``activity``   each measured amount (and its boundary readings, rollovers, meter changes,
                   unexplained decreases; at least the gap records proven) re-derived with
                   :func:`accounting_rules.counters.build_history` from the bundle's readings and
                   records of that meter under the plan line's rollover rule
    ``summaries``  where the devices' signed meter summaries of a line's counter tile the
                   period, they add up to its amount (:mod:`.summaries_check`)
    ``completeness`` every meter the devices' signed meter summaries of the period name is in
                   the plan and has a measured line of that device (:mod:`.meters_check`)
7.  ``compute``    the shipped data file of the methodology version, through
                   :func:`accounting_rules.calculator.compute`, gives each line's scope and
                   grams and the totals; the override lines found
                   (:func:`.overrides.parameter_overrides`) are returned, not failed
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from mrv_core.batch import SignedBatchHeader
from mrv_core.codec import format_address, format_hex
from mrv_core.errors import (
    DecodeError,
    MerkleError,
    MethodologyError,
    VerificationError,
)
from mrv_core.merkle import process_multiproof
from mrv_core.quantities import QUANTITIES, QuantityKind
from mrv_core.records import Gap, MeterChange
from mrv_core.verify import (
    check_domain,
    verify_signed_header,
    verify_signed_reading,
    verify_signed_record,
)

from ..calculator import compute
from ..counters import CounterChange, CounterGap, CounterReading, RolloverRule, build_history
from ..errors import CounterError, InvalidPeriodSpec
from ..model import Methodology
from ..registry import load_methodology
from .bundle import ProvenBatch, ReportBundle
from .document import (
    MeasuredLine,
    PlanLine,
    ReadingRef,
    ReportDocument,
    ReportPeriod,
    activities,
    batches_root,
    scope_sums,
)
from .meters_check import MeterCoverage, check_meters
from .onchain import ReportStatus
from .overrides import ParameterOverride, parameter_overrides
from .periods import report_period
from .struct import report_hash
from .summaries_check import check_summaries
from .verify_evidence import Evidence, check_evidence

__all__ = ["STEPS", "VerifiedReportBundle", "check_figures", "plan_rule", "proven_leaves",
           "verify_report_bundle", "verify_report_bytes"]

STEPS: dict[str, str] = {
    "format": "the document parses as trustmrv-report-bundle/1",
    "document": "reportHash is the struct hash of the document's Report; totals, period label "
                "and batches root are consistent",
    "domain": "the devices' domain is the document's chain and AnchorRegistry",
    "header": "each batch header is signed by its device",
    "batch": "readings and records belong to their batch's device and span, without repeats",
    "meter": "each meter id is keccak256 of its path, each note hash of its text",
    "signature": "each reading and record signature recovers its device",
    "proof": "each batch's leaves are in multiproof order and the multiproof fits them",
    "root": "each batch's recomputed leaves and multiproof rebuild its root",
    "evidence": "the bundle holds exactly the listed batches and each line's boundary readings, "
                "proven the last before each bound, and every fall as one step",
    "activity": "each measured amount re-derived from the readings under the plan's rule",
    "summaries": "the devices' signed meter summaries tiling the period add up to each amount",
    "completeness": "every meter the devices' signed summaries of the period name is in the "
                    "plan, with a measured line",
    "compute": "every line is in its source's unit (a measured one from a cumulative quantity "
               "in it) and the methodology's shipped data file gives every line's grams and "
               "the totals",
}


@dataclass(frozen=True)
class VerifiedReportBundle:
    """A report bundle that passed every offline step (``chain`` is ``None``) and, with a
    node, every chain step (``chain``: what the ReportRegistry holds about it). ``leaves``:
    each batch's leaves in multiproof order, recomputed from its readings and records;
    ``cross_checked``: the meter paths of the measured lines the devices' summaries tile
    (step ``summaries``); ``meters``: what step ``completeness`` compared (its
    ``warnings()`` say what it could not); ``overrides``: the lines that replace a default
    parameter of the methodology, to be shown (they pass: the methodology accepts them)."""

    bundle: ReportBundle
    leaves: tuple[tuple[bytes, ...], ...]
    meters: MeterCoverage
    chain: ReportStatus | None = None
    cross_checked: tuple[str, ...] = ()
    overrides: tuple[ParameterOverride, ...] = ()


def verify_report_bytes(data: bytes) -> ReportBundle:
    """Step 1: parse ``data``; a :class:`VerificationError` at ``format`` otherwise."""
    try:
        return ReportBundle.loads(data)
    except DecodeError as exc:
        raise VerificationError("format", str(exc)) from None


def verify_report_bundle(bundle: ReportBundle) -> VerifiedReportBundle:
    """Steps 2-7 on a parsed bundle; raises :class:`VerificationError` at the first failure."""
    doc = bundle.report

    # 2. document
    expected_hash = report_hash(doc)
    if expected_hash != bundle.report_hash:
        raise VerificationError("document", f"reportHash {format_hex(bundle.report_hash)} is not "
                                            f"the document's struct hash "
                                            f"{format_hex(expected_hash)}")
    sums = scope_sums(doc.lines)
    if sums != doc.totals:
        raise VerificationError("document", f"totals {doc.totals} are not the lines' sums {sums}")
    if doc.site is not None:
        inside = doc.site.path + "/"
        for path in [p.meter_path for p in doc.plan] + [m.meter_path for m in doc.measured]:
            if not path.startswith(inside):
                raise VerificationError("document", f"meter {path} is not in the report's site "
                                                    f"{doc.site.path}")
    _check_period_label(doc.period)
    root = batches_root(doc.batches.items)
    if root != doc.batches.root:
        raise VerificationError("document", f"batches.root {format_hex(doc.batches.root)} is not "
                                            f"the root of its items {format_hex(root)}")

    # 3. domain
    domain = bundle.domain
    if domain.is_sample:
        raise VerificationError("domain", "signed under the offline sample domain")
    if (domain.chain_id, domain.verifying_contract) != (doc.chain.chain_id,
                                                        doc.chain.anchor_registry):
        raise VerificationError(
            "domain", f"signed for chainId {domain.chain_id} and "
                      f"{format_address(domain.verifying_contract)}, the report names chainId "
                      f"{doc.chain.chain_id} and {format_address(doc.chain.anchor_registry)}")
    for batch in bundle.batches:
        check_domain(domain, batch.anchor)

    # 4. each batch: header, batch, meter, signature, proof, root
    leaves = tuple(proven_leaves(batch, bundle) for batch in bundle.batches)

    # 5. evidence
    evidence = Evidence.of(bundle)
    check_evidence(bundle, evidence)

    # 6. activity
    for line in doc.measured:
        _check_activity(line, evidence, bundle)

    # 6b. summaries: the devices' signed figures, where they tile the period
    cross_checked = tuple(line.meter_path for line in check_summaries(bundle))

    # 6c. completeness: every meter the devices' summaries name is in the report
    meters = check_meters(doc, bundle.summaries)

    # 7. compute
    try:
        methodology = load_methodology(doc.methodology.id, doc.methodology.version)
        _check_units(doc, methodology)
        result = compute(methodology, doc.period.start, doc.period.end, activities(doc))
    except MethodologyError as exc:
        raise VerificationError("compute", f"{doc.methodology.id} v{doc.methodology.version}: "
                                           f"{exc}") from None
    check_figures("compute", bundle, result.emissions, (result.scope1, result.scope2,
                                                        result.total))
    return VerifiedReportBundle(bundle, leaves, meters, cross_checked=cross_checked,
                                overrides=parameter_overrides(doc, methodology))


def _check_period_label(period: ReportPeriod) -> None:
    """The period's ``label`` in its ``zone`` is exactly ``[start, end)`` (a report that says
    "2026-10" covers the whole month, and no other span), read by the rule that made it
    (:func:`accounting_rules.reports.periods.report_period`)."""
    try:
        named = report_period(period.label, period.zone)
    except InvalidPeriodSpec as exc:
        raise VerificationError("document", f"period label {period.label!r} in "
                                            f"{period.zone}: {exc}") from None
    if (named.start, named.end) != (period.start, period.end):
        raise VerificationError("document", f"period label {period.label!r} in {period.zone} is "
                                            f"[{named.start}, {named.end}), the report says "
                                            f"[{period.start}, {period.end})")


def _check_units(doc: ReportDocument, methodology: Methodology) -> None:
    """Every line is in its source's unit in the methodology, and a measured line's quantity is
    a cumulative quantity in that unit: a meter's signed quantity decides which sources it can
    feed (a Wh register is never a kJ heat source)."""
    for index, line in enumerate(doc.lines):
        spec = methodology.find_source(line.source)
        if spec is None:
            continue  # the calculator names an unknown source
        if line.unit != spec.unit:
            raise VerificationError("compute", f"line {index} ({line.source}): unit {line.unit}, "
                                               f"the methodology's source is in {spec.unit}")
        if isinstance(line, MeasuredLine):
            known = QUANTITIES.get(line.quantity)
            if (known is None or known.kind is not QuantityKind.CUMULATIVE
                    or known.unit != spec.unit):
                unit = "unknown" if known is None else f"{known.kind.name.lower()} {known.unit}"
                raise VerificationError("compute", f"line {index} ({line.meter_path}): quantity "
                                                   f"{line.quantity} ({unit}) cannot feed "
                                                   f"{line.source}, which is cumulative "
                                                   f"{spec.unit}")


def check_figures(step: str, bundle: ReportBundle, emissions: Iterable[tuple[int, int]],
                  totals: tuple[int, int, int]) -> None:
    """Each line's (scope, grams) and the (scope1, scope2, total) are what a computation gave;
    :class:`VerificationError` at ``step`` naming the first line that differs."""
    doc = bundle.report
    for index, (line, (scope, grams)) in enumerate(zip(doc.lines, emissions, strict=True)):
        if (line.scope, line.grams) != (scope, grams):
            raise VerificationError(step, f"line {index} ({line.source}): the document says "
                                          f"scope {line.scope}, {line.grams} g; the methodology "
                                          f"gives scope {scope}, {grams} g")
    stated = (doc.totals.scope1, doc.totals.scope2, doc.totals.total)
    if stated != totals:
        raise VerificationError(step, f"totals (scope1, scope2, total) {stated}, the methodology "
                                      f"gives {totals}")


def proven_leaves(batch: ProvenBatch, bundle: ReportBundle) -> tuple[bytes, ...]:
    """Step 4 for one batch; returns its leaves in multiproof order (ascending), recomputed
    from its readings and records."""
    header, domain, name = batch.header, bundle.domain, batch.name()
    # header
    verify_signed_header(SignedBatchHeader(header, batch.header_signature), domain)
    # batch
    items = len(batch.readings) + len(batch.records)
    if items > header.leaf_count:
        raise VerificationError("batch", f"{name}: {items} leaves proven, it has "
                                         f"{header.leaf_count}")
    seen: set[tuple[bytes, int]] = set()
    for signed in batch.readings:
        r = signed.reading
        _in_batch(batch, r.device, r.timestamp, r.timestamp, f"reading seq {r.seq}")
        if (r.meter, r.seq) in seen:
            raise VerificationError("batch", f"{name}: meter 0x{r.meter.hex()} seq {r.seq} "
                                             "appears twice")
        seen.add((r.meter, r.seq))
    for item in batch.records:
        _in_batch(batch, item.record.device, *item.record.timespan(),
                  type(item.record).__name__)
    # meter, signature
    reading_leaves = [verify_signed_reading(signed, domain) for signed in batch.readings]
    record_leaves = [verify_signed_record(item, domain) for item in batch.records]
    # proof
    for what, leaves in (("readings", reading_leaves), ("records", record_leaves)):
        if any(not a < b for a, b in itertools.pairwise(leaves)):
            raise VerificationError("proof", f"{name}: {what} are not in ascending leaf order "
                                             "(the multiproof's), or one repeats")
    merged = tuple(sorted(reading_leaves + record_leaves))
    if len(set(merged)) != len(merged):
        raise VerificationError("proof", f"{name}: a record's leaf equals a reading's")
    proof = batch.proof
    if len(merged) + len(proof.proof) != len(proof.proof_flags) + 1:
        raise VerificationError("proof", f"{name}: a multiproof needs leaves + proof = flags + "
                                         f"1, got {len(merged)} + {len(proof.proof)} vs "
                                         f"{len(proof.proof_flags)} + 1")
    # root
    try:
        root = process_multiproof(merged, proof.proof, proof.proof_flags)
    except MerkleError as exc:
        raise VerificationError("proof", f"{name}: {exc}") from None
    if root != header.root:
        raise VerificationError("root", f"{name}: the leaves and multiproof rebuild "
                                        f"{format_hex(root)}, the header says "
                                        f"{format_hex(header.root)}")
    return merged


def _in_batch(batch: ProvenBatch, device: bytes, start: int, end: int, what: str) -> None:
    header = batch.header
    if device != header.device:
        raise VerificationError("batch", f"{batch.name()}: {what} is of device "
                                         f"{format_address(device)}")
    if not header.from_timestamp <= start <= end <= header.to_timestamp:
        raise VerificationError("batch", f"{batch.name()}: {what} covers [{start}, {end}], "
                                         f"outside the batch span [{header.from_timestamp}, "
                                         f"{header.to_timestamp}]")


def plan_rule(plan: PlanLine) -> RolloverRule:
    """The counter rule of a plan line: its modulus, and its maximum rate (none given: 0, so
    no decrease passes for a rollover and each needs a signed meter change)."""
    return RolloverRule(plan.counter_modulus, plan.max_rate if plan.max_rate is not None else 0)


def _check_activity(line: MeasuredLine, evidence: Evidence, bundle: ReportBundle) -> None:
    """Step 6 for one measured line."""
    counter = (line.device, line.meter, line.quantity)
    records = [item.record for item in evidence.records.get(counter, [])]
    changes = [CounterChange.of(r) for r in records if isinstance(r, MeterChange)]
    gaps = [CounterGap.of(r) for r in records if isinstance(r, Gap)]
    readings = evidence.readings.get(counter, [])
    period = bundle.report.period
    try:
        history = build_history((CounterReading.of(r.reading) for r in readings),
                                plan_rule(evidence.plan_line(line)), meter_changes=changes,
                                gaps=gaps)
        energy = history.period(period.start, period.end)
    except CounterError as exc:
        raise VerificationError("activity", f"{line.meter_path}: {exc}") from None
    derived = {
        "amount": energy.energy,
        "startReading": _ref(energy.start_reading),
        "endReading": _ref(energy.end_reading),
        "rollovers": energy.rollovers,
        "meterChanges": energy.meter_changes,
        "unexplainedDecreases": energy.unexplained_decreases,
    }
    stated = {
        "amount": line.amount, "startReading": line.start_reading,
        "endReading": line.end_reading, "rollovers": line.rollovers,
        "meterChanges": line.meter_changes, "unexplainedDecreases": line.unexplained_decreases,
    }
    for key, value in derived.items():
        if stated[key] != value:
            raise VerificationError("activity", f"{line.meter_path} ({format_address(line.device)}"
                                                f"): {key} is {stated[key]} in the document, the "
                                                f"readings give {value}")
    # gapRecords counts every gap record meeting the period, also those past the end reading
    # that no step of the evidence holds: the bundle proves a lower bound of it.
    if line.gap_records < energy.gap_count:
        raise VerificationError("activity", f"{line.meter_path} ({format_address(line.device)}"
                                            f"): gapRecords is {line.gap_records} in the "
                                            f"document, the bundle proves {energy.gap_count} gap "
                                            "records meeting the period")


def _ref(reading: CounterReading | None) -> ReadingRef | None:
    return None if reading is None else ReadingRef(reading.seq, reading.timestamp, reading.value)
