"""Report documents (``trustmrv-report/1``) for tests: one realistic sample and a hypothesis
strategy over every field's range.

Importable from any test (``pythonpath = ["tests"]``): ``from report_factories import
sample_report, reports``. :func:`sample_report` has the figures ``accounting_rules.compute``
gives under ``cn.machinery`` v1 for October 2026 in Beijing (two measured meters, one manual
natural-gas invoice), a Chinese site path and a supersedes hash of zero.
"""

from __future__ import annotations

import unicodedata
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from accounting_rules import compute, load_methodology
from accounting_rules.codes import ZERO32
from accounting_rules.reports import (
    LIMITS,
    MEDIA_TYPES,
    Batches,
    BatchRef,
    ChainRef,
    ManualLine,
    MeasuredLine,
    MethodologyRef,
    PlanLine,
    ReadingRef,
    ReportDocument,
    ReportPeriod,
    SiteRef,
    Totals,
)
from accounting_rules.reports.document import activities
from mrv_core import QUANTITIES, meter_id
from mrv_core.codec import UINT64_MAX, UINT256_MAX
from mrv_core.hashing import keccak256

__all__ = ["SAMPLE_PERIOD", "addresses", "evidence_pdf", "reports", "sample_report"]

def evidence_pdf(note: str) -> bytes:
    """A small, whole PDF (an empty page tree; ``note`` in a comment line, so each note gives
    other bytes): header, two objects, a cross-reference table at the offset its ``startxref``
    gives, ``%%EOF``; what an evidence upload takes
    (:func:`accounting_rules.reports.manual.check_evidence_file`)."""
    out = b"%PDF-1.7\n% " + note.encode() + b"\n"
    offsets = []
    for number, body in enumerate((b"<< /Type /Catalog /Pages 2 0 R >>",
                                   b"<< /Type /Pages /Kids [] /Count 0 >>"), 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 3\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o
                                                          for o in offsets)
    return out + b"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref


#: October 2026 in Beijing: [2026-10-01T00:00+08:00, 2026-11-01T00:00+08:00).
SAMPLE_PERIOD = ReportPeriod(1790784000, 1793462400, "Asia/Shanghai", "2026-10")
ENTERPRISE = bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8")
DEVICE_A = bytes.fromhex("3c44cdddb6a900fa2b585dd299e03d12fa4293bc")
DEVICE_B = bytes.fromhex("90f79bf6eb2c4f870365e785982e1f101e93b906")
CHAIN = ChainRef(31337, bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3"),
                 bytes.fromhex("e7f1725e7734ce288f8367e1bb143e90bb3f0512"),
                 bytes.fromhex("9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"))
METHODOLOGY = bytes.fromhex("a513e6e4b8f2a923d98304ec87f64353c4d5c853")
SITE = "示例集团/无锡工厂"


def _measured(path: str, device: bytes, amount: int, start: int, end: int) -> dict[str, Any]:
    return dict(source="electricity.grid", scope=2, unit="Wh", amount=amount, meter_path=path,
                meter=meter_id(path), device=device, quantity="energy.active.import:Wh",
                start_reading=ReadingRef(17, SAMPLE_PERIOD.start - 300, start),
                end_reading=ReadingRef(2993, SAMPLE_PERIOD.end - 120, end), readings=2977,
                gap_records=1, bridged_steps=2, bridged_seconds=1800, rollovers=0,
                meter_changes=0, unexplained_decreases=0)


def sample_report(*, supersedes: bytes = ZERO32, description: str = "天然气发票 no. 123",
                  created_at: int = 1793500000,
                  overrides: tuple[tuple[str, int], ...] = ()) -> ReportDocument:
    """A report whose grams and totals are ``compute``'s under cn.machinery v1; ``overrides``
    adds a manual line per (override source, value) after the invoice, each with its own
    evidence hash (a lab report)."""
    methodology = load_methodology("cn.machinery", 1)
    path_a, path_b = f"{SITE}/装配车间/一号线/总表", f"{SITE}/assembly/line-2/main"
    measured = [_measured(path_b, DEVICE_B, 98765432, 5000, 98770432),
                _measured(path_a, DEVICE_A, 123456789, 1000, 123457789)]
    measured.sort(key=lambda m: (m["meter_path"], m["device"]))
    manual = dict(id=7, source="fuel.natural_gas", scope=1, unit="dm3", amount=10000000,
                  evidence=keccak256(b"%PDF-1.7 invoice"), evidence_name="invoice-2026-10.pdf",
                  media_type="application/pdf", description=description, entered_at=1793000000)
    manuals: list[dict[str, Any]] = [manual]
    for number, (source, value) in enumerate(overrides, 1):
        manuals.append(dict(manual, id=7 + number, source=source, amount=value,
                            unit=methodology.source(source).unit,
                            evidence=keccak256(f"%PDF-1.7 lab report {number}".encode()),
                            evidence_name=f"lab-report-{number}.pdf",
                            description=f"measured {source}"))
    lines: list[MeasuredLine | ManualLine] = [MeasuredLine(grams=0, **m) for m in measured]
    lines += [ManualLine(grams=0, **m) for m in manuals]
    draft = _document(methodology.id, lines, Totals(0, 0, 0), supersedes, created_at)
    result = compute(methodology, SAMPLE_PERIOD.start, SAMPLE_PERIOD.end, activities(draft))
    grams = [e.grams for e in result.emissions]
    lines = [MeasuredLine(grams=g, **m) for m, g in zip(measured, grams, strict=False)]
    lines += [ManualLine(grams=g, **m) for m, g in zip(manuals, grams[len(measured):],
                                                         strict=True)]
    return _document(methodology.id, lines, Totals(result.scope1, result.scope2, result.total),
                     supersedes, created_at)


def _document(methodology_id: str, lines: list[MeasuredLine | ManualLine], totals: Totals,
              supersedes: bytes, created_at: int) -> ReportDocument:
    plan = tuple(sorted(
        (PlanLine(line.meter_path, line.source, line.quantity, 2**32, Fraction(1193046, 1))
         for line in lines if isinstance(line, MeasuredLine)), key=lambda p: p.meter_path))
    batches = Batches.of([BatchRef(DEVICE_A, 12, keccak256(b"a12")),
                          BatchRef(DEVICE_B, 3, keccak256(b"b3")),
                          BatchRef(DEVICE_A, 40, keccak256(b"a40"))])
    return ReportDocument(
        enterprise=ENTERPRISE, site=SiteRef.of(SITE), period=SAMPLE_PERIOD,
        methodology=MethodologyRef(methodology_id, 1, METHODOLOGY),
        chain=CHAIN, plan=plan, lines=tuple(lines), totals=totals, batches=batches,
        supersedes=supersedes, created_at=created_at)


# -- strategies -----------------------------------------------------------------------------------

addresses = st.binary(min_size=20, max_size=20)
hashes = st.binary(min_size=32, max_size=32)
u64 = st.one_of(st.integers(0, UINT64_MAX), st.sampled_from([0, 1, UINT64_MAX]))
u256 = st.one_of(st.integers(0, UINT256_MAX), st.sampled_from([0, UINT256_MAX]))
codes = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=32)
_level = st.text(st.sampled_from("abcxyz019-_"), min_size=1, max_size=8)
_levels = st.sampled_from(["示例", "Ünïcødé AG", "line 2", "总表"])
texts = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn")), max_size=40).map(
    lambda s: unicodedata.normalize("NFC", s))
site_paths = st.tuples(_level | _levels, _level).map("/".join)


@st.composite
def meter_paths(draw: st.DrawFn) -> str:
    return "/".join([draw(site_paths), *(draw(_level | _levels) for _ in range(3))])


readings_ = st.builds(ReadingRef, u64, u64, st.integers(-(2**255), 2**255 - 1))


@st.composite
def measured_lines(draw: st.DrawFn) -> MeasuredLine:
    path = draw(meter_paths())
    return MeasuredLine(draw(codes), draw(st.sampled_from([1, 2])), draw(codes), draw(u256),
                        draw(u256), path, meter_id(path), draw(addresses),
                        draw(st.sampled_from(sorted(QUANTITIES))),
                        draw(st.none() | readings_), draw(st.none() | readings_),
                        *(draw(u64) for _ in range(7)))


@st.composite
def manual_lines(draw: st.DrawFn) -> ManualLine:
    return ManualLine(draw(u64), draw(codes), draw(st.sampled_from([1, 2])), draw(codes),
                      draw(u256), draw(u256), draw(hashes.filter(lambda h: h != ZERO32)),
                      draw(texts.filter(bool)), draw(st.sampled_from(MEDIA_TYPES)),
                      draw(texts | st.just("line one\nline two")), draw(u64))


@st.composite
def reports(draw: st.DrawFn, max_lines: int = 6) -> ReportDocument:
    """Any valid document: fields over their whole ranges, sorted and unique where the format
    says so (grams and totals are not the calculator's: a format test needs none)."""
    measured = {(m.meter_path, m.device): m
                for m in draw(st.lists(measured_lines(), max_size=max_lines))}
    manual = {m.id: m for m in draw(st.lists(manual_lines(), max_size=max_lines))}
    lines = ([measured[k] for k in sorted(measured)] + [manual[k] for k in sorted(manual)])
    plan = {p.meter_path: p for p in draw(st.lists(st.builds(
        PlanLine, meter_paths(), codes, st.sampled_from(sorted(QUANTITIES)),
        st.none() | st.integers(2, UINT256_MAX),
        st.none() | st.fractions(min_value=0, max_denominator=10**30)), max_size=max_lines))}
    start = draw(st.integers(0, UINT64_MAX - 1))
    period = ReportPeriod(start, draw(st.integers(start + 1, UINT64_MAX)),
                          draw(st.sampled_from(["Asia/Shanghai", "UTC", "Europe/Berlin"])),
                          draw(texts.filter(bool)))
    batches = Batches.of(draw(st.lists(st.builds(BatchRef, addresses, u64, hashes),
                                       max_size=max_lines)))
    assert len(lines) <= LIMITS.lines
    return ReportDocument(
        enterprise=draw(addresses), site=draw(st.none() | site_paths.map(SiteRef.of)),
        period=period, methodology=MethodologyRef(draw(codes), draw(st.integers(1, 2**32 - 1)),
                                                  draw(addresses)),
        chain=ChainRef(draw(u256), draw(addresses), draw(addresses), draw(addresses)),
        plan=tuple(plan[k] for k in sorted(plan)), lines=tuple(lines),
        totals=Totals(draw(u256), draw(u256), draw(u256)), batches=batches,
        supersedes=draw(hashes), created_at=draw(u64))
