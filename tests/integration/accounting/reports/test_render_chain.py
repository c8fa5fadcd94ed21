"""A report rendered with what the embedded chain holds for it: submitted and attested through
the ReportRegistry, read back (``onchain.read_report``), turned into a render context
(``RenderContext.from_status``) and shown: the submission's block, the regulator's verdict with
its statement, and the report hash the registry keys it by."""

from __future__ import annotations

from html.parser import HTMLParser

from report_chain import ReportChain, chain_report

from accounting_rules.reports.onchain import attest_report, read_report, submit_report
from accounting_rules.reports.render import render_html
from accounting_rules.reports.render_context import RenderContext
from accounting_rules.reports.statement import AttestationStatement, Verdict
from mrv_core.codec import format_hex, parse_address


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def test_a_submitted_and_attested_report_renders_with_its_on_chain_record(
        report_chain: ReportChain) -> None:
    rc = report_chain
    doc = chain_report(rc, created_at=1793500777)
    submitted = submit_report(rc.system, rc.enterprise, doc)
    statement = AttestationStatement(submitted.report_hash, parse_address(rc.regulator.address),
                                     Verdict.REJECTED, ("MATERIAL_MISSTATEMENT",),
                                     "发票金额不符 / invoice amount does not match", 1794000000)
    attest_report(rc.system, rc.regulator, statement)
    status = read_report(rc.system, submitted.report_hash)
    assert status is not None

    context = RenderContext.from_status(status, [statement],
                                        submission_tx=submitted.transaction_hash)
    text = _text(render_html(doc, context))

    assert format_hex(submitted.report_hash) in text  # computed from the document: the same
    assert (f"{format_hex(submitted.transaction_hash)} "
            f"(block {submitted.block_number:,})") in text
    assert "Rejected not satisfactory" in text and "MATERIAL_MISSTATEMENT" in text
    assert "发票金额不符 / invoice amount does not match" in text
