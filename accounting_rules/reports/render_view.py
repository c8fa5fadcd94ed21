"""The rows a rendered report shows, built from a report document and its context.

:func:`report_view` reads a ``trustmrv-report/1`` document (:mod:`.document`), the optional
:class:`~.render_context.RenderContext` and the shipped data file of the document's methodology
version (``accounting_rules.load_methodology``) and returns a :class:`ReportView` of text only:
every figure already written for humans (:mod:`._humane`: exact tonnes from grams, grouped
integers, instants in the period's zone), so the templates only place text, and Jinja2 escapes
all of it.

Before anything is shown, the document's figures are recomputed offline with the Python
calculator over the same data file: a document whose units, grams or totals are not the
methodology's is refused (:class:`~accounting_rules.errors.ReportRenderError`), never rendered
as if it were a report.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from mrv_core.codec import format_address, format_hex
from mrv_core.hashing import keccak256

from ..calculator import compute
from ..codes import ZERO32
from ..errors import ReportRenderError
from ..model import OPEN_ENDED, FactorRow, Methodology, SourceKind
from ..registry import load_methodology
from ._humane import decimal_text, duration, grouped, instant, larger_unit, tonnes
from .document import (
    ManualLine,
    MeasuredLine,
    ReadingRef,
    ReportDocument,
    activities,
    document_hash,
)
from .overrides import ParameterOverride, parameter_overrides
from .render_context import AttestationRef, RenderContext, TxRef
from .struct import report_hash

__all__ = ["REPORT_RECORD_SIGNATURE", "FactorView", "LineView", "OverrideView", "ReportView",
           "report_view"]

#: ``IReportRegistry.reportRecord`` with its return type, as ``cast call`` takes it (a unit test
#: derives it from the compiled ABI).
REPORT_RECORD_SIGNATURE = ("reportRecord(bytes32)(((address,bytes32,uint64,uint64,bytes32,"
                           "address,uint256,uint256,uint256,bytes32,bytes32,bytes32),uint64,"
                           "uint64,bytes32))")
_NOT_GIVEN = "—"


@dataclass(frozen=True, slots=True)
class Figure:
    """An emission figure: exact tonnes CO2e and the grams they come from."""

    tonnes: str
    grams: str

    @classmethod
    def of(cls, grams: int) -> Figure:
        return cls(tonnes(grams), grouped(grams))


@dataclass(frozen=True, slots=True)
class LineView:
    """One activity line: its kind (``measured``, ``manual``, or ``override``: a manual line
    replacing a default parameter), figures and evidence as text."""

    number: int
    kind: str
    source: str
    scope: str
    amount: str
    amount_larger: str | None
    emission: Figure
    evidence: tuple[tuple[str, str], ...]  # (label, value) pairs
    quality: tuple[tuple[str, str, str], ...]  # (Chinese, English, value); none if manual
    warning: str | None  # a data-quality problem to point out


@dataclass(frozen=True, slots=True)
class SourceTotal:
    source: str
    scope: str
    unit: str
    amount: str
    amount_larger: str | None
    lines: int
    emission: Figure


@dataclass(frozen=True, slots=True)
class FactorView:
    """A factor row of the methodology that covers the report's period."""

    key: str
    source: str
    parameter: str
    value: str
    unit: str
    published: str
    valid: str
    citation: str
    verification: str
    url: str | None
    replaced: bool  # an override line of the report replaces this default


@dataclass(frozen=True, slots=True)
class OverrideView:
    """A manual line that replaces a default parameter (:mod:`.overrides`), beside the default
    it replaces."""

    number: int
    source: str
    parameter: str  # "target · parameter"
    default: str
    default_citation: str
    value: str
    evidence: str
    evidence_name: str
    description: str


@dataclass(frozen=True, slots=True)
class BatchView:
    device: str
    batch_seq: str
    root: str
    anchor_tx: str
    anchor_block: str


@dataclass(frozen=True, slots=True)
class ReportView:
    """Everything the templates show, as text (module docstring)."""

    title: str
    facts: tuple[tuple[str, str, str], ...]  # (Chinese label, English label, value)
    status: tuple[tuple[str, str, str], ...]
    attestations: tuple[tuple[str, ...], ...]
    totals: tuple[tuple[str, str, Figure], ...]
    by_source: tuple[SourceTotal, ...]
    lines: tuple[LineView, ...]
    overrides: tuple[OverrideView, ...]
    methodology: tuple[tuple[str, str, str], ...]
    formulas: tuple[tuple[str, str], ...]  # (source, formula)
    factors: tuple[FactorView, ...]
    plan: tuple[tuple[str, ...], ...]
    batches: tuple[BatchView, ...]
    batches_root: str
    report_hash: str
    document_hash: str
    verify_command: str
    cast_command: str
    calldata: str


def report_view(doc: ReportDocument, context: RenderContext | None = None) -> ReportView:
    """The view of ``doc`` with ``context`` (empty when ``None``).

    Raises :class:`~accounting_rules.errors.UnknownMethodology` when the methodology version is
    not shipped, and :class:`~accounting_rules.errors.ReportRenderError` when the document's
    units, grams or totals differ from the calculator's over that data file (or the calculator
    fails on the document's lines: the error's message names it), or an attestation's statement
    is on another report."""
    ctx = context or RenderContext()
    m = load_methodology(doc.methodology.id, doc.methodology.version)
    _check_figures(doc, m)
    zone = doc.period.zone
    hash_ = report_hash(doc)
    _check_attestations(hash_, ctx)
    overrides = parameter_overrides(doc, m)
    overridden = {o.number for o in overrides}
    return ReportView(
        title=f"{doc.period.label} {doc.site.path if doc.site else format_address(doc.enterprise)}",
        facts=_facts(doc, m),
        status=_status(doc, ctx, format_hex(hash_)),
        attestations=tuple(_attestation(a, zone) for a in ctx.attestations),
        totals=(("范围一", "Scope 1", Figure.of(doc.totals.scope1)),
                ("范围二", "Scope 2", Figure.of(doc.totals.scope2)),
                ("合计", "Total", Figure.of(doc.totals.total))),
        by_source=_by_source(doc),
        lines=tuple(_line(number, line, zone, number in overridden)
                    for number, line in enumerate(doc.lines, 1)),
        overrides=tuple(_override(o) for o in overrides),
        methodology=_methodology(doc, m),
        formulas=_formulas(m, {line.source for line in doc.lines}),
        factors=_factors(doc, m, overrides),
        plan=tuple((p.meter_path, p.source, p.quantity,
                    _NOT_GIVEN if p.counter_modulus is None else grouped(p.counter_modulus),
                    _NOT_GIVEN if p.max_rate is None
                    else f"{p.max_rate.numerator}/{p.max_rate.denominator}")
                   for p in doc.plan),
        batches=tuple(_batch(b.device, b.batch_seq, b.root, ctx) for b in doc.batches.items),
        batches_root=format_hex(doc.batches.root),
        report_hash=format_hex(hash_),
        document_hash=format_hex(document_hash(doc)),
        verify_command=_verify_command(ctx),
        cast_command=(f"cast call {format_address(doc.chain.report_registry)} "
                      f"'{REPORT_RECORD_SIGNATURE}' {format_hex(hash_)} --rpc-url "
                      f"{shlex.quote(ctx.verify.rpc_url) if ctx.verify else 'URL'}"),
        calldata=format_hex(keccak256(b"reportRecord(bytes32)")[:4] + hash_),
    )


def _check_figures(doc: ReportDocument, m: Methodology) -> None:
    try:
        result = compute(m, doc.period.start, doc.period.end, activities(doc))
    except ValueError as exc:  # every accounting error is a ValueError
        raise ReportRenderError(f"the methodology's calculator refuses the document's lines: "
                                f"{exc}") from None
    for number, (line, emission) in enumerate(zip(doc.lines, result.emissions, strict=True), 1):
        unit = m.source(line.source).unit
        if line.unit != unit:
            raise ReportRenderError(f"line {number} ({line.source}): the document says unit "
                                    f"{line.unit}, {m.id} v{m.version} measures it in {unit}")
        if (line.grams, line.scope) != (emission.grams, emission.scope):
            raise ReportRenderError(
                f"line {number} ({line.source}): the document says {line.grams} g in scope "
                f"{line.scope}, {m.id} v{m.version} gives {emission.grams} g in scope "
                f"{emission.scope}")
    given = (doc.totals.scope1, doc.totals.scope2, doc.totals.total)
    computed = (result.scope1, result.scope2, result.total)
    if given != computed:
        raise ReportRenderError(f"totals (scope 1, scope 2, total): the document says {given}, "
                                f"{m.id} v{m.version} gives {computed}")


def _facts(doc: ReportDocument, m: Methodology) -> tuple[tuple[str, str, str], ...]:
    zone = doc.period.zone
    site = (f"{doc.site.path} ({format_hex(doc.site.id)})" if doc.site
            else "整个企业 / the whole enterprise")
    return (
        ("企业", "Enterprise", format_address(doc.enterprise)),
        ("场所", "Site", site),
        ("报告期", "Period", f"{doc.period.label}: {instant(doc.period.start, zone)} to "
                            f"{instant(doc.period.end, zone)} (end excluded), {zone}"),
        ("方法学", "Methodology", f"{m.id} v{m.version} — {m.title}"),
        ("方法学合约", "Methodology contract", format_address(doc.methodology.address)),
        ("链", "Chain", f"chain id {doc.chain.chain_id}; ReportRegistry "
                        f"{format_address(doc.chain.report_registry)}; AnchorRegistry "
                        f"{format_address(doc.chain.anchor_registry)}; MethodologyRegistry "
                        f"{format_address(doc.chain.methodology_registry)}"),
        ("编制时间", "Created", instant(doc.created_at, zone)),
    )


def _status(doc: ReportDocument, ctx: RenderContext,
            report_hash: str) -> tuple[tuple[str, str, str], ...]:
    given = "not given (render context)"
    return (
        ("报告哈希", "Report hash (EIP-712)", report_hash),
        ("文件哈希", "Document hash (keccak256)", format_hex(document_hash(doc))),
        ("提交交易", "Submission", _tx_text(ctx.submission) if ctx.submission else given),
        ("更正对象", "Supersedes",
         "none" if doc.supersedes == ZERO32 else format_hex(doc.supersedes)),
        ("被更正", "Superseded by",
         format_hex(ctx.superseded_by) if ctx.superseded_by else "not superseded, as far as "
                                                                "the render context says"),
    )


def _check_attestations(hash_: bytes, ctx: RenderContext) -> None:
    for index, attestation in enumerate(ctx.attestations):
        if attestation.statement is not None and attestation.statement.report != hash_:
            raise ReportRenderError(
                f"attestation {index} is a statement on report "
                f"{format_hex(attestation.statement.report)}, not on this one "
                f"{format_hex(hash_)}")


def _attestation(a: AttestationRef, zone: str) -> tuple[str, ...]:
    s = a.statement
    missing = "statement not given (its hash is on chain)"
    return (format_address(a.regulator), a.verdict.label, a.avr, format_hex(a.statement_hash),
            missing if s is None else ", ".join(s.reasons) or _NOT_GIVEN,
            missing if s is None else s.comments or _NOT_GIVEN,
            instant(a.attested_at, zone), _tx_text(a.tx))


def _tx_text(tx: TxRef | None) -> str:
    if tx is None:
        return _NOT_GIVEN
    shown = "transaction not given" if tx.tx_hash is None else format_hex(tx.tx_hash)
    return f"{shown} (block {grouped(tx.block)})"


def _by_source(doc: ReportDocument) -> tuple[SourceTotal, ...]:
    rows: dict[str, list[MeasuredLine | ManualLine]] = {}
    for line in doc.lines:
        rows.setdefault(line.source, []).append(line)
    shown: list[SourceTotal] = []
    for source, lines in sorted(rows.items()):
        amount = sum(line.amount for line in lines)
        unit = lines[0].unit
        shown.append(SourceTotal(source, str(lines[0].scope), unit, f"{grouped(amount)} {unit}",
                                 larger_unit(amount, unit), len(lines),
                                 Figure.of(sum(line.grams for line in lines))))
    return tuple(shown)


def _reading(ref: ReadingRef | None, zone: str) -> str:
    if ref is None:
        return "none (no reading on this side)"
    return f"seq {ref.seq}, {instant(ref.timestamp, zone)}, value {grouped(ref.value)}"


def _line(number: int, line: MeasuredLine | ManualLine, zone: str,
          overriding: bool) -> LineView:
    if isinstance(line, ManualLine):
        return _line_view(number, line, "override" if overriding else "manual", (
            ("文件 File", f"{line.evidence_name} ({line.media_type})"),
            ("keccak256", format_hex(line.evidence)),
            ("说明 Description", line.description or _NOT_GIVEN),
            ("录入 Entered", instant(line.entered_at, zone))), (), None)
    quality = (("读数", "Readings", grouped(line.readings)),
               ("缺口记录", "Gap records", grouped(line.gap_records)),
               ("桥接步数", "Bridged steps", grouped(line.bridged_steps)),
               ("桥接时长", "Bridged time", duration(line.bridged_seconds)),
               ("计数器翻转", "Rollovers", grouped(line.rollovers)),
               ("换表", "Meter changes", grouped(line.meter_changes)),
               ("无法解释的下降", "Unexplained decreases", grouped(line.unexplained_decreases)))
    warning = None
    if line.unexplained_decreases:
        warning = (f"{line.unexplained_decreases} unexplained counter decrease(s): neither a "
                   f"rollover nor a signed meter change explains them")
    return _line_view(number, line, "measured", (
        ("计量点 Meter", f"{line.meter_path} ({line.quantity})"),
        ("设备 Device", format_address(line.device)),
        ("起 Start", _reading(line.start_reading, zone)),
        ("止 End", _reading(line.end_reading, zone))), quality, warning)


def _line_view(number: int, line: MeasuredLine | ManualLine, kind: str,
               evidence: tuple[tuple[str, str], ...], quality: tuple[tuple[str, str, str], ...],
               warning: str | None) -> LineView:
    return LineView(number=number, kind=kind, source=line.source, scope=str(line.scope),
                    amount=f"{grouped(line.amount)} {line.unit}",
                    amount_larger=larger_unit(line.amount, line.unit),
                    emission=Figure.of(line.grams), evidence=evidence, quality=quality,
                    warning=warning)


def _override(o: ParameterOverride) -> OverrideView:
    row = o.default
    return OverrideView(number=o.number, source=o.line.source,
                        parameter=f"{o.target} · {o.parameter}", default=o.default_text,
                        default_citation=_NOT_GIVEN if row is None else row.citation.text(),
                        value=o.value_text, evidence=format_hex(o.line.evidence),
                        evidence_name=f"{o.line.evidence_name} ({o.line.media_type})",
                        description=o.line.description or _NOT_GIVEN)


def _methodology(doc: ReportDocument, m: Methodology) -> tuple[tuple[str, str, str], ...]:
    parts = ", ".join(f"{i} v{v}" for i, v in m.composed_of) or _NOT_GIVEN
    return (("标识与版本", "Id and version", f"{m.id} v{m.version}"),
            ("名称", "Title", m.title),
            ("合约地址", "Contract", format_address(doc.methodology.address)),
            ("规范哈希", "Spec hash", format_hex(m.spec_hash)),
            ("组成", "Composed of", parts),
            ("规范", "Specification", m.specification))


def _emission_sources(m: Methodology, sources: Iterable[str]) -> list[str]:
    """The emission sources whose factors the lines use (a deduction's or override's target)."""
    used = set()
    for code in sources:
        spec = m.source(code)
        used.add(code if spec.kind is SourceKind.EMISSION or spec.target is None
                 else spec.target)
    return sorted(used)


def _formulas(m: Methodology, sources: set[str]) -> tuple[tuple[str, str], ...]:
    shown: list[tuple[str, str]] = []
    for code in sorted(sources):
        spec = m.source(code)
        if spec.kind is SourceKind.EMISSION:
            factors = " x ".join(spec.parameters) or "1"
            formula = (f"g CO2e = amount [{spec.unit}] x {factors} x {spec.numerator} / "
                       f"{spec.denominator}, rounded half up")
        else:
            formula = f"{spec.kind.label} of {spec.target}"
        shown.append((code, f"{formula} — {spec.description}" if spec.description else formula))
    return tuple(shown)


def _factors(doc: ReportDocument, m: Methodology,
             overrides: tuple[ParameterOverride, ...]) -> tuple[FactorView, ...]:
    start, end = doc.period.start, doc.period.end
    overridden = {(o.target, o.parameter) for o in overrides}
    shown: list[FactorView] = []
    for source in _emission_sources(m, (line.source for line in doc.lines)):
        for parameter in m.source(source).parameters:
            shown.extend(_factor(row, (source, parameter) in overridden, doc.period.zone)
                         for row in m.rows(source, parameter) if row.covers(start, end))
    return tuple(shown)


def _factor(row: FactorRow, replaced: bool, zone: str) -> FactorView:
    until = "open-ended" if row.valid_until == OPEN_ENDED else instant(row.valid_until, zone)
    return FactorView(key=row.key, source=row.source, parameter=row.parameter,
                      value=decimal_text(row.value, row.decimals), unit=row.unit,
                      published=row.published or _NOT_GIVEN,
                      valid=f"{instant(row.valid_from, zone)} to {until}",
                      citation=row.citation.text(), verification=row.citation.verification,
                      url=row.citation.url, replaced=replaced)


def _batch(device: bytes, batch_seq: int, root: bytes, ctx: RenderContext) -> BatchView:
    tx = ctx.anchor(device, batch_seq)
    return BatchView(format_address(device), str(batch_seq), format_hex(root),
                     _NOT_GIVEN if tx is None or tx.tx_hash is None else format_hex(tx.tx_hash),
                     _NOT_GIVEN if tx is None else grouped(tx.block))


def _verify_command(ctx: RenderContext) -> str:
    hints = ctx.verify
    bundle, url, deployment = ((hints.bundle, hints.rpc_url, hints.deployment) if hints
                               else ("REPORT_BUNDLE", "URL", "DEPLOYMENT_FILE"))
    return shlex.join(["mrv", "bundle", "verify", bundle, "--rpc", url, "--deployment",
                       deployment])
