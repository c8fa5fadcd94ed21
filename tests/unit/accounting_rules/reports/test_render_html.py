"""The report's HTML: well-formed, self-contained, hostile text escaped, the document's exact
figures and evidence shown, the context's on-chain facts shown, and a document whose figures
are not its methodology's refused."""

from __future__ import annotations

import dataclasses
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from render_support import ANCHOR_TX, REGULATOR, REPORT_HASH, STATEMENT, sample_context
from report_factories import sample_report, site_paths, texts

from accounting_rules.errors import ReportRenderError, UnknownMethodology
from accounting_rules.reports import (
    Batches,
    ManualLine,
    MeasuredLine,
    MethodologyRef,
    SiteRef,
    Totals,
)
from accounting_rules.reports.onchain import AttestationRecord, ReportStatus
from accounting_rules.reports.render import render_html, render_pdf
from accounting_rules.reports.render_context import RenderContext
from accounting_rules.reports.render_view import REPORT_RECORD_SIGNATURE
from accounting_rules.reports.statement import Verdict, statement_hash
from accounting_rules.reports.struct import report_of
from mrv_core.codec import format_address, format_hex
from mrv_core.hashing import keccak256

VOID = {"meta", "br", "link", "img", "hr", "input", "col", "wbr", "source", "area", "base"}
#: Every element the template writes: hostile text must not add one.
TEMPLATE_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3",
                 "thead", "tbody",
                 "p", "table", "tr", "th", "td", "section", "span", "code", "br", "div", "ol",
                 "li", "pre"}


class _Checker(HTMLParser):
    """Balances start and end tags (void elements excepted) and collects tags and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend(attrs)
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Checker:
    checker = _Checker()
    checker.feed(html)
    checker.close()
    return checker


def _text(html: str) -> str:
    return " ".join(" ".join(_parse(html).text).split())


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & </td></table>'


def test_the_html_is_well_formed_and_self_contained() -> None:
    html = render_html(sample_report(), sample_context())
    checker = _parse(html)
    assert checker.problems == [] and checker.open == []
    assert html.startswith("<!DOCTYPE html>")
    assert checker.tags <= TEMPLATE_TAGS, checker.tags - TEMPLATE_TAGS
    # nothing to fetch: no src, href or url() anywhere
    assert not [name for name, _ in checker.attributes if name in ("src", "href")]
    assert "url(" not in html and "@import" not in html


def test_hostile_text_in_a_manual_line_is_escaped_and_shown_as_text() -> None:
    html = render_html(sample_report(description=HOSTILE))
    checker = _parse(html)
    assert checker.problems == [] and checker.open == []
    assert checker.tags <= TEMPLATE_TAGS  # no script, no img
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert HOSTILE in " ".join(checker.text)  # shown to the reader as written


def test_the_totals_and_each_line_are_shown_as_exact_tonnes_and_grams() -> None:
    doc = sample_report()
    text = _text(render_html(doc))
    total = doc.totals.total
    assert f"合计 / Total {total // 10**6}.{total % 10**6:06d} {total:,}" in text
    for line in doc.lines:
        assert f"{line.grams // 10**6}.{line.grams % 10**6:06d} tCO2e ({line.grams:,} g)" in text
    # by source: electricity (two meters, one row) and the natural gas invoice
    electricity = [line for line in doc.lines if line.source == "electricity.grid"]
    amount = sum(line.amount for line in electricity)
    mwh = f"{amount // 10**6}.{amount % 10**6:06d}"
    assert f"electricity.grid 2 {amount:,} Wh = {mwh} MWh 2" in text


def test_measured_and_manual_lines_carry_their_marks_and_evidence() -> None:
    doc = sample_report()
    html = render_html(doc)
    text = _text(html)
    measured = [line for line in doc.lines if isinstance(line, MeasuredLine)]
    (manual,) = [line for line in doc.lines if isinstance(line, ManualLine)]
    rows = re.findall(r'<tr id="line-(\d+)"><td>\d+<br><span class="badge (\w+)">([^<]+)</span>',
                      html)
    assert rows == [("1", "measured", "计量 / measured"), ("2", "measured", "计量 / measured"),
                    ("3", "manual", "手工录入 / manual")]
    for line in measured:
        assert line.meter_path in text and format_address(line.device) in text
        assert line.start_reading is not None
        assert f"seq {line.start_reading.seq}, 2026-09-30 23:55:00 +08:00" in text
    assert format_hex(manual.evidence) in text and manual.evidence_name in text


def test_the_factor_rows_covering_the_period_are_cited() -> None:
    text = _text(render_html(sample_report()))
    # cn.machinery v1, October 2026: the 2023 grid factor (open-ended) and natural gas defaults
    assert "elec.grid.2023" in text and "530,600 gCO2/MWh" in text
    assert "关于发布2023年电力二氧化碳排放因子的公告" in text
    assert "elec.grid.2022" not in text  # ended before the period
    for key in ("comb.natural_gas.NCV", "comb.natural_gas.CC", "comb.natural_gas.OF"):
        assert key in text


def test_data_quality_counts_are_shown_and_an_unexplained_decrease_is_pointed_out() -> None:
    doc = sample_report()
    line = doc.lines[0]
    assert isinstance(line, MeasuredLine)
    assert "1,800 s (30 min)" in _text(render_html(doc))
    assert "unexplained counter decrease" not in _text(render_html(doc))
    bad = dataclasses.replace(doc, lines=(dataclasses.replace(line, unexplained_decreases=2),
                                          *doc.lines[1:]))
    assert "2 unexplained counter decrease(s)" in _text(render_html(bad))


def test_the_context_shows_hashes_transactions_attestations_and_anchors() -> None:
    doc = sample_report()
    text = _text(render_html(doc, sample_context()))
    assert format_hex(REPORT_HASH) in text
    assert "Qualified satisfactory with comments" in text
    assert "DATA_GAP, IMPROVEMENT_RECOMMENDED" in text
    assert f"{format_hex(ANCHOR_TX)} 345" in text  # the batch (device A, 12)
    assert ("mrv bundle verify 'out/报告 bundle.json' --rpc http://127.0.0.1:8545 "
            "--deployment out/deployment.json") in text
    assert (f"cast call {format_address(doc.chain.report_registry)} "
            f"'{REPORT_RECORD_SIGNATURE}' {format_hex(REPORT_HASH)}") in text
    calldata = keccak256(b"reportRecord(bytes32)")[:4] + REPORT_HASH
    assert format_hex(calldata) in text


def test_without_context_the_page_says_what_is_not_given() -> None:
    text = _text(render_html(sample_report()))
    assert "not given (render context)" in text
    assert format_hex(REPORT_HASH) in text  # the document's own, always shown
    assert "mrv bundle verify REPORT_BUNDLE --rpc URL --deployment DEPLOYMENT_FILE" in text


def test_the_cast_signature_is_the_compiled_abi_of_report_record() -> None:
    artifact = Path(__file__).resolve().parents[4] / "mrv_core/chain/contracts/ReportRegistry.json"
    abi = json.loads(artifact.read_text())["abi"]
    (function,) = [f for f in abi if f.get("name") == "reportRecord"]

    def kind(item: dict[str, object]) -> str:
        name = str(item["type"])
        if name.startswith("tuple"):
            parts = item["components"]
            assert isinstance(parts, list)
            return "(" + ",".join(kind(p) for p in parts) + ")" + name[len("tuple"):]
        return name

    inputs = ",".join(kind(i) for i in function["inputs"])
    outputs = ",".join(kind(o) for o in function["outputs"])
    assert REPORT_RECORD_SIGNATURE == f"reportRecord({inputs})({outputs})"


def test_a_document_whose_grams_are_not_the_methodologys_is_refused() -> None:
    doc = sample_report()
    line = doc.lines[0]
    changed = dataclasses.replace(line, grams=line.grams + 1)
    with pytest.raises(ReportRenderError, match=r"line 1 \(electricity.grid\): the document "
                                                r"says \d+ g in scope 2"):
        render_html(dataclasses.replace(doc, lines=(changed, *doc.lines[1:])))


def test_a_document_whose_unit_is_not_the_methodologys_is_refused() -> None:
    doc = sample_report()
    changed = dataclasses.replace(doc.lines[-1], unit="g")  # natural gas is measured in dm3
    with pytest.raises(ReportRenderError,
                       match=r"says unit g, cn\.machinery v1 measures it in dm3"):
        render_html(dataclasses.replace(doc, lines=(*doc.lines[:-1], changed)))


def test_a_document_whose_totals_are_not_the_methodologys_is_refused() -> None:
    doc = sample_report()
    totals = Totals(doc.totals.scope1, doc.totals.scope2 + 1, doc.totals.total + 1)
    with pytest.raises(ReportRenderError, match="totals"):
        render_html(dataclasses.replace(doc, totals=totals))


def test_a_methodology_version_not_shipped_is_refused() -> None:
    doc = sample_report()
    ref = MethodologyRef("cn.machinery", 99, doc.methodology.address)
    with pytest.raises(UnknownMethodology, match=r"cn\.machinery v99"):
        render_html(dataclasses.replace(doc, methodology=ref))


@pytest.mark.parametrize("reference", [
    '<img src="file:///etc/passwd">',
    '<link rel="stylesheet" href="http://127.0.0.1:1/x.css">',
    '<style>@import url("file:///etc/hostname");</style>',
])
def test_the_pdf_engine_fetches_nothing_the_html_refers_to(reference: str) -> None:
    with pytest.raises(ReportRenderError, match="self-contained and nothing is fetched"):
        render_pdf(f"<!DOCTYPE html><html><head>{reference}</head><body>x</body></html>")


def test_an_empty_context_is_the_default() -> None:
    doc = sample_report()
    assert render_html(doc) == render_html(doc, RenderContext())


def test_an_attestation_of_another_report_is_refused() -> None:
    other = sample_report(created_at=1793500001)  # another document, another report hash
    with pytest.raises(ReportRenderError, match="attestation 0 is a statement on report"):
        render_html(other, sample_context())


def test_the_registrys_record_alone_is_shown_and_says_what_is_not_given() -> None:
    """A context made from what the registry holds (``RenderContext.from_status``): the
    submission's block without its transaction, an attestation whose statement is unknown."""
    doc = sample_report()
    status = ReportStatus(REPORT_HASH, report_of(doc), 1_234, 1_793_500_100, None, (
        AttestationRecord(REGULATOR, Verdict.QUALIFIED, 1_793_600_060,
                          statement_hash(STATEMENT)),
        AttestationRecord(bytes.fromhex("22" * 20), Verdict.REJECTED, 1_793_600_120,
                          keccak256(b"a statement not at hand"))))
    context = RenderContext.from_status(status, [STATEMENT])
    assert [a.statement for a in context.attestations] == [STATEMENT, None]
    text = _text(render_html(doc, context))
    assert "transaction not given (block 1,234)" in text
    assert "Qualified satisfactory with comments" in text and "DATA_GAP" in text
    assert "Rejected not satisfactory" in text
    assert "statement not given (its hash is on chain)" in text
    assert "2026-11-02 14:15:20 +08:00" in text  # the Rejected one's attestedAt, Beijing


@settings(max_examples=30)
@given(description=texts, name=texts.filter(bool), label=texts.filter(bool),
       zone=st.one_of(texts.filter(bool), st.sampled_from(["Asia/Shanghai", "UTC", "../etc",
                                                           "Europe/Berlin"])),
       site=site_paths)
def test_any_text_in_the_document_is_escaped_and_shown_as_written(
        description: str, name: str, label: str, zone: str, site: str) -> None:
    doc = sample_report(description=description)
    manual = dataclasses.replace(doc.lines[-1], evidence_name=name)
    doc = dataclasses.replace(doc, lines=(*doc.lines[:-1], manual), site=SiteRef.of(site),
                              period=dataclasses.replace(doc.period, label=label, zone=zone))
    html = render_html(doc)
    checker = _parse(html)
    assert checker.problems == [] and checker.open == []
    assert checker.tags <= TEMPLATE_TAGS
    shown = "".join(checker.text)
    for text in (description, name, label, zone, site):
        assert text in shown


def test_an_enterprise_report_of_manual_lines_only_renders_its_empty_parts() -> None:
    doc = sample_report()
    manual = doc.lines[-1]
    only = dataclasses.replace(doc, site=None, lines=(manual,), plan=(), batches=Batches.of([]),
                               totals=Totals(manual.grams, 0, manual.grams))
    html = render_html(only)
    checker = _parse(html)
    assert checker.problems == [] and checker.open == []
    text = _text(html)
    assert "整个企业 / the whole enterprise" in text
    assert "无计量数据 / no measured lines" in text
    assert "批次 / Batches (0), root 0x" + "00" * 32 in text
    assert f"{manual.grams // 10**6}.{manual.grams % 10**6:06d}" in text


def test_an_override_line_is_shown_in_its_own_marked_table_beside_the_default() -> None:
    """``fuel.natural_gas#OF`` = 0 zeroes the invoice's emissions: the page shows the line in
    the marked table of parameter overrides with the methodology's default (cn.machinery v1:
    9,900 1e-4, comb.natural_gas.OF), the override value and the evidence hash."""
    doc = sample_report(overrides=(("fuel.natural_gas#OF", 0),))
    gas, override = doc.lines[-2], doc.lines[-1]
    assert isinstance(override, ManualLine) and (gas.grams, doc.totals.scope1) == (0, 0)
    html = render_html(doc)
    checker = _parse(html)
    assert checker.problems == [] and checker.open == [] and checker.tags <= TEMPLATE_TAGS
    table = html[html.index('<table id="overrides-table" class="marked">'):]
    table = _text(table[:table.index("</table>")])
    assert table.startswith("行 Line 参数 Parameter 缺省值 Methodology default 替代值 Override "
                            "value 证据 Evidence 4 fuel.natural_gas · OF "
                            "by fuel.natural_gas#OF 9,900 1e-4 (comb.natural_gas.OF)")
    assert f"0 1e-4 keccak256: {format_hex(override.evidence)} 文件 File: lab-report-1.pdf" in table
    text = _text(html)
    assert "Parameter overrides / 参数替代值" in text
    badges = re.findall(r'<tr id="line-(\d+)"><td>\d+<br><span class="badge (\w+)">', html)
    assert badges == [("1", "measured"), ("2", "measured"), ("3", "manual"), ("4", "override")]
    assert "replaced by a measured value (override line)" in text  # the factor row, too


def test_overrides_show_a_default_that_is_missing_and_each_override_in_order() -> None:
    """Diesel's OF has a default row, gasoline's NCV none: both shown, in document order."""
    doc = sample_report(overrides=(("fuel.diesel#OF", 9700), ("fuel.gasoline#NCV", 43070)))
    text = _text(render_html(doc))
    assert ("4 fuel.diesel · OF by fuel.diesel#OF 9,800 1e-4 "
            "(comb.diesel.OF)") in text
    assert ("5 fuel.gasoline · NCV by fuel.gasoline#NCV none: no default "
            "row covers the period —") in text
    assert "9,700 1e-4" in text and "43,070 J/g" in text


def test_a_report_without_overrides_says_so() -> None:
    html = render_html(sample_report())
    assert 'id="overrides-table"' not in html
    assert ("Parameter overrides / 参数替代值" in _text(html) and
            "无 / none: every parameter is the methodology's default" in _text(html))
