"""Test support for report bundles: a device's month of signed readings with a rollover, a meter
change and a gap, closed into signed batches; the report document over it, built with the report
module's own types and functions; and its bundle.

The monthly figure of each meter is computed twice here: from every reading (what the device
measured) and from the sparse readings the ledger proves (spec11 section 1: the boundary readings
and both readings of every notable step), and the two must agree, which is the property the
report bundle rests on. In production RECOMPUTE selects the sparse readings from the database
(``ledger_api.recompute``); this module selects them from the in-memory history the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from accounting_rules import compute, load_methodology
from accounting_rules.counters import (
    CounterChange,
    CounterGap,
    CounterReading,
    PeriodEnergy,
    RolloverRule,
    build_history,
)
from accounting_rules.publishing import assign_id, publish
from accounting_rules.reports.build import ManualEntry, build_report
from accounting_rules.reports.bundle import ProvenBatch, ReportBundle, prove_batch
from accounting_rules.reports.document import (
    BatchRef,
    ChainRef,
    PlanLine,
    ReportDocument,
    ReportPeriod,
    activities,
    batches_root,
    decode_report,
)
from accounting_rules.reports.onchain import attest_report, submit_report
from accounting_rules.reports.statement import AttestationStatement, Verdict, statement_hash
from accounting_rules.reports.struct import report_hash
from factories import beijing
from mrv_core.batch import Batch
from mrv_core.bundle import AnchorRef
from mrv_core.chain import Chain, KeySigner, NodeSigner, System, Transactor, deploy_system
from mrv_core.codec import format_address, format_hex, parse_address
from mrv_core.eip712 import Domain, leaf_hash
from mrv_core.hashing import keccak256
from mrv_core.keys import DeviceKey
from mrv_core.reading import Reading, SignedReading, meter_id, site_id
from mrv_core.records import (
    SCOPE_METER,
    EmissionSummary,
    Gap,
    MeterChange,
    SignedRecord,
    note_hash,
    record_leaf,
)

PERIOD_START = beijing(2026, 10)
PERIOD_END = beijing(2026, 11)
SITE = "demo-co/wuxi-plant"
ROLLOVER_METER = f"{SITE}/assembly/line-1/main-meter"
CHANGED_METER = f"{SITE}/assembly/line-2/press-meter"
QUANTITY = "energy.active.import:Wh"
MODULUS = 2**32
#: The rollover rule of a 32-bit Wh register polled every 15 minutes (edge_node.node).
MAX_RATE = Fraction(MODULUS, 2 * 900)
METHODOLOGY = ("cn.machinery", 1)
EVIDENCE_FILE = b"%PDF-1.4 natural gas invoice no. 123\n"


@dataclass
class MeterHistory:
    """Everything a device signed for one meter, in seq order, and its plan line."""

    plan: PlanLine
    readings: list[SignedReading] = field(default_factory=list)
    records: list[SignedRecord] = field(default_factory=list)

    def rule(self) -> RolloverRule:
        plan = self.plan
        return RolloverRule(plan.counter_modulus, plan.max_rate or 0)

    def energy(self, readings: list[SignedReading], records: list[SignedRecord]) -> PeriodEnergy:
        history = build_history(
            [CounterReading.of(r.reading) for r in readings], self.rule(),
            meter_changes=[CounterChange.of(r.record) for r in records
                           if isinstance(r.record, MeterChange)],
            gaps=[CounterGap.of(r.record) for r in records if isinstance(r.record, Gap)])
        return history.period(PERIOD_START, PERIOD_END)

    def sparse(self) -> tuple[list[SignedReading], list[SignedRecord]]:
        """The sparse readings of the period (spec11 section 1), with the successor of each
        boundary reading (seq + 1: one point per meter here; ``ledger_api.recompute.
        successors``), and the records they need."""
        readings = self.readings
        times = [r.reading.timestamp for r in readings]
        first = max(i for i, t in enumerate(times) if t <= PERIOD_START)
        last = max(i for i, t in enumerate(times) if t <= PERIOD_END)
        keep = {first, last, first + 1, last + 1} & set(range(len(readings)))
        records = []
        for item in self.records:
            assert isinstance(item.record, Gap | MeterChange)
            next_seq = item.record.next_seq
            index = next(i for i, r in enumerate(readings) if r.reading.seq >= next_seq)
            if first < index <= last:
                keep |= {index - 1, index}
                records.append(item)
        for i in range(first + 1, last + 1):
            if readings[i].reading.value < readings[i - 1].reading.value:
                keep |= {i - 1, i}
        return [readings[i] for i in sorted(keep)], records


def counter_reading(key: DeviceKey, domain: Domain, path: str, seq: int, timestamp: int,
                    value: int) -> SignedReading:
    """A signed Wh register reading of ``path`` (its salt derived from path and seq)."""
    reading = Reading(device=key.address, meter=meter_id(path), seq=seq, timestamp=timestamp,
                      quantity=QUANTITY, value=value, salt=keccak256(f"{path}/{seq}".encode()))
    return key.sign_reading(reading, domain, path)


def meter_histories(key: DeviceKey, domain: Domain, step_s: int = 6 * 3600
                    ) -> list[MeterHistory]:
    """Two meters read every ``step_s`` from two steps before the period to two after: the
    first's 32-bit register wraps mid-month; the second is replaced mid-month (a signed meter
    change) and later misses one poll (a gap record, the step bridging it)."""
    times = range(PERIOD_START - 2 * step_s, PERIOD_END + 2 * step_s + 1, step_s)
    wraps = MeterHistory(PlanLine(ROLLOVER_METER, "electricity.grid", QUANTITY, MODULUS, MAX_RATE))
    value = MODULUS - 40_000_000
    for seq, t in enumerate(times):
        wraps.readings.append(counter_reading(key, domain, ROLLOVER_METER, seq, t, value))
        value = (value + 1_000_000 + seq % 7 * 1_000) % MODULUS
    changed = MeterHistory(PlanLine(CHANGED_METER, "electricity.grid", QUANTITY, None, None))
    change_at, gap_at = len(times) // 3, 2 * len(times) // 3
    value, seq = 7_000_000, 0
    for i, t in enumerate(times):
        if i == gap_at:  # one failed poll: no reading, no seq consumed
            changed.records.append(key.sign_record(Gap(
                device=key.address, meter=meter_id(CHANGED_METER), quantity=QUANTITY,
                next_seq=seq, from_timestamp=t, to_timestamp=t, failed_polls=1,
                error_class="timeout", salt=keccak256(b"gap")), domain, CHANGED_METER))
            value += 500_000
            continue
        if i == change_at:  # replaced between the previous poll and this one
            note = "meter replaced after calibration failure"
            changed.records.append(key.sign_record(MeterChange(
                device=key.address, meter=meter_id(CHANGED_METER), quantity=QUANTITY,
                next_seq=seq, timestamp=t - step_s // 2, old_final=value + 200_000,
                new_initial=1_000, note=note_hash(note), salt=keccak256(b"change")), domain,
                CHANGED_METER, note))
            value = 1_000 + 250_000
        changed.readings.append(counter_reading(key, domain, CHANGED_METER, seq, t, value))
        value += 500_000
        seq += 1
    return [wraps, changed]


def signed_summary(key: DeviceKey, domain: Domain, path: str, start: int, end: int,
                   activity: int, *, scope_kind: int = SCOPE_METER,
                   source: str = "electricity.grid", readings: int = 1) -> SignedRecord:
    """The device's signed ``EmissionSummary`` of ``[start, end)`` for the meter ``path`` (or,
    with ``scope_kind`` 2, the site ``path``): ``activity`` Wh as the device computed it."""
    scope_id = meter_id(path) if scope_kind == SCOPE_METER else site_id(path)
    return key.sign_record(EmissionSummary(
        device=key.address, scope_kind=scope_kind, scope_id=scope_id, source=source,
        quantity=QUANTITY, methodology=METHODOLOGY[0], methodology_version=METHODOLOGY[1],
        period_start=start, period_end=end, activity=activity, emissions=1,
        reading_count=readings,
        gap_count=0, bridged_gap_count=0, bridged_seconds=0, unexplained_decreases=0,
        salt=keccak256(f"{path}/{start}/{end}/{activity}".encode())), domain, path)


def with_summaries(bundle: ReportBundle, key: DeviceKey, batches: list[Batch],
                   summaries: list[SignedRecord]) -> ReportBundle:
    """``bundle`` listing ``summaries`` (the device ``key``'s), proven in the device's batch
    after ``batches``, as the ledger exports a batch that holds only summaries."""
    late = key.close_batch(len(batches), [], bundle.domain, summaries)
    assert late.header_signature is not None
    proven = prove_batch(late.header, late.header_signature, None, late.tree,
                         dict(enumerate(summaries)))
    return replace(bundle, batches=(*bundle.batches, proven), summaries=tuple(summaries))


def close_batches(key: DeviceKey, domain: Domain, histories: list[MeterHistory],
                  batch_s: int = 7 * 86_400) -> list[Batch]:
    """The device's batches: every reading and record, by the window of ``batch_s`` seconds its
    time falls in, in time order."""
    def window(item: SignedReading | SignedRecord) -> int:
        t = (item.reading.timestamp if isinstance(item, SignedReading)
             else item.record.timespan()[0])
        return (t - PERIOD_START) // batch_s

    readings = sorted((r for h in histories for r in h.readings), key=window)
    records = sorted((r for h in histories for r in h.records), key=window)
    items: list[SignedReading | SignedRecord] = [*readings, *records]
    windows = sorted({window(i) for i in items})
    return [key.close_batch(seq, [r for r in readings if window(r) == w], domain,
                            [r for r in records if window(r) == w])
            for seq, w in enumerate(windows)]


@dataclass(frozen=True)
class Reference:
    """Where the report is anchored and submitted, and by whom."""

    enterprise: bytes
    chain: ChainRef
    methodology_address: bytes


@dataclass(frozen=True)
class Figure:
    """One meter's figure as the ledger's recompute gives it (``ledger_api.recompute.MeterFigure``,
    on another branch): plan line, device, meter id, the period's energy (counts of the full
    history: the ledger counts readings in SQL), bridged steps and seconds, and the ``(device,
    position)`` leaves of its sparse evidence (empty until stored: :func:`stored_figures`)."""

    point: PlanLine
    device: bytes
    meter: bytes
    energy: PeriodEnergy
    bridged_seconds: int
    bridged_steps: int
    leaves: tuple[tuple[bytes, int], ...] = ()


#: Which of a meter's signed readings and records a report's evidence uses.
Select = Callable[[MeterHistory], tuple[list[SignedReading], list[SignedRecord]]]


def figure(history: MeterHistory, device: bytes,
           leaves: tuple[tuple[bytes, int], ...] = (), select: Select | None = None) -> Figure:
    """The figure of one meter; asserts the sparse readings give the full history's energy.
    With ``select`` (a forger's choice of evidence), the figure those readings give."""
    if select is not None:
        chosen = history.energy(*select(history))
        return Figure(history.plan, device, meter_id(history.plan.meter_path), chosen,
                      chosen.bridged_seconds, len(chosen.bridged), leaves)
    full = history.energy(history.readings, history.records)
    sparse = history.energy(*history.sparse())
    assert sparse.energy == full.energy, "the sparse readings must give the measured energy"
    assert sparse.gap_count <= full.gap_count
    return Figure(history.plan, device, meter_id(history.plan.meter_path), full,
                  full.bridged_seconds, len(full.bridged), leaves)


def report_document(ref: Reference, device: bytes, histories: list[MeterHistory],
                    batches: list[Batch], select: Select | None = None) -> ReportDocument:
    """The October report of the site by the report module's builder (``build_report``): one
    measured line per meter, one manual natural gas line with its invoice's hash, grams and
    totals from the shipped data file, the batches the sparse evidence uses (with ``select``:
    the evidence it chooses, figured from exactly that)."""
    chosen: Select = select or MeterHistory.sparse
    used = {leaf for h in histories for leaf in _leaves(*chosen(h))}
    items = [BatchRef(b.header.device, b.header.batch_seq, b.header.root) for b in batches
             if used & set(b.tree.leaves)]
    invoice = ManualEntry(7, "fuel.natural_gas", 10_000_000, keccak256(EVIDENCE_FILE),
                          "invoice-2026-10.pdf", "application/pdf", "natural gas invoice no. 123",
                          PERIOD_END)
    return build_report(
        enterprise=ref.enterprise, site_path=SITE,
        period=ReportPeriod(PERIOD_START, PERIOD_END, "Asia/Shanghai", "2026-10"),
        methodology=load_methodology(*METHODOLOGY), methodology_address=ref.methodology_address,
        chain=ref.chain, measured=[figure(h, device, select=select) for h in histories],
        manual=[invoice],
        batches=items, created_at=PERIOD_END + 86_400)


def _leaves(readings: list[SignedReading], records: list[SignedRecord]) -> list[bytes]:
    return ([leaf_hash(r.reading) for r in readings]
            + [record_leaf(r.record) for r in records])


def report_bundle(doc: ReportDocument, domain: Domain, histories: list[MeterHistory],
                  batches: list[Batch], anchors: list[AnchorRef | None],
                  select: Select | None = None) -> ReportBundle:
    """The bundle proving the sparse evidence of ``doc`` (or what ``select`` chooses): one
    multiproof per batch used."""
    wanted: dict[bytes, SignedReading | SignedRecord] = {}
    for history in histories:
        readings, records = (select or MeterHistory.sparse)(history)
        wanted.update(zip(_leaves(readings, records), [*readings, *records], strict=True))
    proven: list[ProvenBatch] = []
    for batch, anchor in zip(batches, anchors, strict=True):
        items = {index: wanted[leaf] for index, leaf in enumerate(batch.tree.leaves)
                 if leaf in wanted}
        if items:
            assert batch.header_signature is not None
            proven.append(prove_batch(batch.header, batch.header_signature, anchor, batch.tree,
                                      items))
    proven.sort(key=lambda b: b.key)
    return ReportBundle(report=doc, report_hash=report_hash(doc), domain=domain,
                        batches=tuple(proven))


def offline_scenario(key: DeviceKey, select: Select | None = None
                     ) -> tuple[ReportBundle, list[MeterHistory], list[Batch]]:
    """A whole bundle under a made-up deployment, never anchored: for the offline steps. With
    ``select``, the bundle an enterprise builds from the evidence it chooses among what the
    device signed: lines figured from it, grams, totals, batches and report hash all
    recomputed, every signature and multiproof genuine."""
    registries = [keccak256(name.encode())[:20] for name in ("reports", "anchors", "methods")]
    chain = ChainRef(31337, *registries)
    domain = Domain(31337, chain.anchor_registry)
    histories = meter_histories(key, domain)
    batches = close_batches(key, domain, histories)
    ref = Reference(enterprise=keccak256(b"enterprise")[:20], chain=chain,
                    methodology_address=keccak256(b"methodology")[:20])
    doc = report_document(ref, key.address, histories, batches, select)
    return report_bundle(doc, domain, histories, batches, [None] * len(batches),
                         select), histories, batches


__all__ = [
    "CHANGED_METER",
    "EVIDENCE_FILE",
    "METHODOLOGY",
    "PERIOD_END",
    "PERIOD_START",
    "ROLLOVER_METER",
    "SITE",
    "MeterHistory",
    "Mutation",
    "Reference",
    "Select",
    "add_override",
    "close_batches",
    "forge",
    "meter_histories",
    "offline_scenario",
    "refigure",
    "report_bundle",
    "report_document",
    "reroot",
    "signed_summary",
    "with_summaries",
]


# -- forging: what a tamperer does to a bundle -----------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def forge(bundle: ReportBundle, *mutations: Mutation, rehash: bool = False) -> ReportBundle:
    """``bundle`` with its JSON changed by each of ``mutations`` in turn; with ``rehash`` the
    tamperer also recomputes ``reportHash`` from the changed document, so only the steps behind
    ``document`` can catch the change."""
    doc = json.loads(bundle.dumps())
    for mutate in mutations:
        mutate(doc)
    if rehash:
        doc["reportHash"] = format_hex(report_hash(decode_report(doc["report"])))
    return ReportBundle.from_json(doc)


def add_override(source: str, value: int, evidence: bytes) -> Mutation:
    """Add a manual line (id 8, after the invoice) overriding a default parameter: ``source``
    is an override source of the methodology (``fuel.natural_gas#OF``), ``value`` in its
    unit; then :func:`refigure` gives the figures the methodology computes with it."""
    def mutate(doc: dict[str, Any]) -> None:
        unit = load_methodology(*METHODOLOGY).source(source).unit
        doc["report"]["lines"].append({
            "kind": "manual", "id": "8", "source": source, "scope": "1", "unit": unit,
            "amount": str(value), "grams": "0", "evidence": format_hex(evidence),
            "evidenceName": "lab-report.pdf", "mediaType": "application/pdf",
            "description": f"measured {source}", "enteredAt": str(PERIOD_END)})
        refigure(doc)
    return mutate


def refigure(doc: dict[str, Any]) -> None:
    """Recompute every line's grams and the totals from the (changed) lines, as an honest
    calculator would: the figures then agree with the amounts, whatever those are."""
    report = decode_report(doc["report"])
    result = compute(load_methodology(report.methodology.id, report.methodology.version),
                     report.period.start, report.period.end, activities(report))
    for line, emission in zip(doc["report"]["lines"], result.emissions, strict=True):
        line["grams"] = str(emission.grams)
    doc["report"]["totals"] = {"scope1": str(result.scope1), "scope2": str(result.scope2),
                               "total": str(result.total)}


def reroot(doc: dict[str, Any]) -> None:
    """Recompute ``batches.root`` from the (changed) items."""
    items = decode_report({**doc["report"], "batches": {
        "root": format_hex(bytes(32)), "items": doc["report"]["batches"]["items"]}}).batches.items
    doc["report"]["batches"]["root"] = format_hex(batches_root(items))


# -- on a chain: deployed, published, anchored, submitted ------------------------------------------


@dataclass
class OnChain:
    """The scenario on a real chain: the system, its actors, the device's batches as anchored,
    the report submitted by the enterprise and accepted by a regulator, and its bundle."""

    system: System
    enterprise: Transactor
    regulator: Transactor
    key: DeviceKey
    bundle: ReportBundle
    statement: bytes
    histories: list[MeterHistory]
    batches: list[Batch]


def on_chain(chain: Chain, key: DeviceKey) -> OnChain:
    """Deploy a system on ``chain``, publish ``cn.machinery`` v1 (in force since 2021), make an
    enterprise and a regulator, then :func:`on_deployed`."""
    accounts = chain.unlocked_accounts()
    admin = Transactor(chain, NodeSigner(accounts[0]))
    system = System(chain, deploy_system(admin))
    association, enterprise, regulator = (Transactor(chain, NodeSigner(a))
                                          for a in accounts[1:4])
    for role, holder in (("ASSOCIATION_ROLE", association), ("ENTERPRISE_ROLE", enterprise),
                         ("REGULATOR_ROLE", regulator)):
        system.grant_role(admin, role, holder.address)
    assign_id(system, admin, METHODOLOGY[0], association.address)
    published = publish(system, association, load_methodology(*METHODOLOGY), beijing(2021))
    return on_deployed(system, enterprise, regulator, parse_address(published.address), key)


def on_deployed(system: System, enterprise: Transactor, regulator: Transactor,
                methodology_address: bytes, key: DeviceKey) -> OnChain:
    """On a deployed ``system`` where ``cn.machinery`` v1 is published at
    ``methodology_address``: ``enterprise`` registers the device ``key`` at the site and funds
    its gas, the device anchors its batches from its own account, the enterprise submits the
    October report and ``regulator`` accepts it."""
    chain = system.chain
    system.register_device(enterprise, key, site_id(SITE), keccak256(b"edge node, two meters"))
    enterprise.transfer(format_address(key.address), 10**18)
    domain = system.domain
    histories = meter_histories(key, domain)
    batches = close_batches(key, domain, histories)
    device = Transactor(chain, KeySigner(key))
    anchors: list[AnchorRef | None] = [system.anchor(device, b.header) for b in batches]
    contracts = system.deployment.contracts
    ref = Reference(enterprise=parse_address(enterprise.address),
                    chain=ChainRef(chain.chain_id, contracts["ReportRegistry"],
                                   contracts["AnchorRegistry"], contracts["MethodologyRegistry"]),
                    methodology_address=methodology_address)
    doc = report_document(ref, key.address, histories, batches)
    bundle = report_bundle(doc, domain, histories, batches, anchors)
    submit_report(system, enterprise, doc)
    statement = AttestationStatement(bundle.report_hash, parse_address(regulator.address),
                                     Verdict.ACCEPTED, (), "", PERIOD_END + 2 * 86_400)
    attest_report(system, regulator, statement)
    return OnChain(system, enterprise, regulator, key, bundle, statement_hash(statement),
                   histories, batches)


def stored_figures(histories: list[MeterHistory], batches: list[Batch], device: bytes
                   ) -> list[Figure]:
    """The figures of ``histories`` with the positions the ledger gives their sparse leaves when
    it ingests ``batches`` in order (each batch's readings, then its records)."""
    position: dict[bytes, int] = {}
    first = 0
    for batch in batches:
        position.update((leaf, first + i) for i, leaf in enumerate(batch.tree.leaves))
        first += batch.header.leaf_count
    return [figure(h, device, tuple((device, position[leaf]) for leaf in _leaves(*h.sparse())))
            for h in histories]
