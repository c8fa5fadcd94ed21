"""The demo's report steps, each ``step(context) -> StepOutcome``, each through the ledger API
or the chain as an operator or a regulator acts (docs/api.md "Monitoring plan and recompute",
"Manual activity data", "Reports", "Report bundles"):

1. :func:`monitoring_plan`: ``PUT /v1/plan``, every demo meter's import counter feeds
   ``electricity.grid``, its rollover rule derived from its profile as the edge node derives it
   (``edge_node.node.rollover_rule``);
2. :func:`manual_fuel_purchase`: a PDF invoice of a natural gas purchase written under
   ``out/demo/evidence/``, uploaded (``POST /v1/evidence``) and entered (``POST
   /v1/activities``) as ``mrv report activity add`` does;
3. :func:`site_reports`: for each of the two sites, ``POST /v1/reports`` for the site and
   period with the enterprise methodology in force, submitted on chain with the enterprise's
   key file (``submit_report``, as ``mrv report submit``), rendered as HTML and PDF under
   ``out/demo/report/`` (the files named after the period and the site);
4. :func:`regulator_attestations`: on each report, the regulator's statement, its verdict and
   hash on chain (``attest_report``, as ``mrv report attest``), the statement posted to the
   API and written beside the report;
5. :func:`report_bundles`: each report's ``GET /v1/reports/{hash}/bundle`` into
   ``out/demo/bundles/``, verified offline and against the chain as ``mrv bundle verify FILE
   --rpc --deployment``; the report rendered again with the attestation and the anchor
   transaction of each batch.

Each report covers :func:`report_period`: the calendar month when the demo ran the whole
month, otherwise the period's first calendar day (a report's period is a calendar period).
The gas invoice is :data:`REPORT_SITE`'s: only its report has a manual line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from fractions import Fraction
from pathlib import Path

from accounting_rules.reports import MeasuredLine, ReportDocument, canonical_bytes, tonnes
from accounting_rules.reports.bundle import ReportBundle
from accounting_rules.reports.manual import manual_amount
from accounting_rules.reports.onchain import attest_report, read_report, submit_report
from accounting_rules.reports.render import render_html, render_pdf
from accounting_rules.reports.render_context import AnchorRef as RenderedAnchor
from accounting_rules.reports.render_context import RenderContext, TxRef, VerifyHints
from accounting_rules.reports.statement import (
    AVR,
    AttestationStatement,
    Verdict,
    loads_statement,
    statement_bytes,
    statement_hash,
)
from edge_node.acquisition.poller import meter_profiles
from edge_node.config import load_config
from edge_node.node import rollover_rule
from ledger_api.recompute.plan import PlanPoint, encode_point
from mrv_core.chain import System
from mrv_core.codec import format_address, format_hex, parse_address

from .. import report_api
from ..dates import BEIJING, month_of, parse_period
from ..flows import verify_files
from .chain_steps import actor, open_system
from .context import DemoContext, DemoPlan, SiteReport, StepOutcome
from .invoice import Invoice, write_invoice
from .ledger import LedgerClient
from .sites import SITES

__all__ = ["ENTERPRISE_METHODOLOGY", "FUEL", "GRID", "REPORT_SITE", "manual_fuel_purchase",
           "monitoring_plan", "opinion", "plan_points", "regulator_attestation",
           "regulator_attestations", "report_bundle", "report_bundle_path", "report_bundles",
           "report_period", "site_report", "site_reports"]

#: The enterprise methodology of the demo's reports (all of a machinery plant's sources;
#: docs/accounting.md).
ENTERPRISE_METHODOLOGY = "cn.machinery"
#: The site the gas invoice is for (and whose report the tamper step alters).
REPORT_SITE = next(iter(SITES))
#: The emission source every demo meter's import counter feeds, and that counter's quantity.
GRID = ("electricity.grid", "energy.active.import:Wh")
#: The manual purchase: source and quantity as the invoice states it.
FUEL = ("fuel.natural_gas", "12000 Nm3")


def report_period(plan: DemoPlan) -> str:
    """The report's calendar period (``2027-01``, or ``2027-01-01`` when the demo ran fewer
    days than the month)."""
    first = datetime.fromtimestamp(plan.period_start, BEIJING)
    if month_of(first.year, first.month) == (plan.period_start, plan.period_end):
        return f"{first.year:04d}-{first.month:02d}"
    return first.date().isoformat()


def plan_points(context: DemoContext) -> list[PlanPoint]:
    """One plan line per demo meter's import counter (quantity :data:`GRID`): its rollover rule
    from its profile, ratios and poll interval, read from its node's configuration file."""
    points = []
    for node in context.nodes:
        config = load_config(node.config)
        profiles = meter_profiles(config.acquisition)
        for meter in config.meters:
            for point in profiles[meter.profile].points:
                if point.quantity != GRID[1] or (meter.points is not None
                                                 and point.name not in meter.points):
                    continue
                rule = rollover_rule(point, point.ratio.of(meter.ct_ratio, meter.pt_ratio),
                                     meter.interval)
                assert rule is not None  # a cumulative quantity has one
                rate = Fraction(rule.max_rate)
                points.append(PlanPoint(meter.path, GRID[0], point.quantity, rule.modulus,
                                        rate if rate else None))
    return sorted(points, key=lambda p: p.meter_path)


def monitoring_plan(context: DemoContext) -> StepOutcome:
    """``PUT /v1/plan`` as the enterprise's admin: :func:`plan_points`."""
    points = plan_points(context)
    with LedgerClient(context) as client:
        stored = report_api.call(client.client, "PUT", "/v1/plan", json={
            "points": [encode_point(p) for p in points]},
            params={"enterprise": format_address(context.enterprise)}).json()["points"]
    lines = [f"{p['meterPath']}: {p['source']} <- {p['quantity']}, counter modulus "
             f"{p['counterModulus'] or 'none'}, max rate {p['maxRate'] or '0'} Wh/s"
             for p in stored]
    same = stored == [encode_point(p) for p in points]
    return StepOutcome(same and bool(points), (
        *lines, f"PUT /v1/plan: {len(stored)} metering points stored"
        + ("" if same else " (NOT the plan sent)")),
        (("monitoring plan", f"{len(stored)} meters feed {GRID[0]}"),))


def manual_fuel_purchase(context: DemoContext) -> StepOutcome:
    """A natural gas invoice for the report site and period (:mod:`.invoice`), entered as
    manual activity data with the invoice as its evidence file."""
    period = report_period(context.plan)
    start, end = parse_period(period)
    source, quantity = FUEL
    number = f"DEMO-{period.replace('-', '')}-0001"
    path = context.out / "evidence" / f"invoice-{period}.pdf"
    content = write_invoice(Invoice(
        number=number, supplier="Demo City Gas Co. (sample)", buyer=REPORT_SITE.split("/")[0],
        site=REPORT_SITE, period=period, quantity=quantity,
        issued=datetime.fromtimestamp(end, BEIJING).date().isoformat()), path)
    with LedgerClient(context) as client:
        stored, entered = report_api.enter_activity(
            client.client, site=REPORT_SITE, source=source,
            amount=manual_amount(source, quantity), start=start, end=end, content=content,
            name=path.name, description=f"natural gas invoice no. {number} (sample)")
    context.written["evidence PDF (gas invoice)"] = path
    return StepOutcome(True, (
        f"{path}: {len(content):,} bytes, keccak256 {stored['hash']}",
        f"POST /v1/evidence: stored as {stored['mediaType']}",
        f"POST /v1/activities: activity {entered['id']}, {source} {entered['amount']} "
        f"{entered['unit']} ({quantity}) for {REPORT_SITE}, {period}"),
        (("manual activity", f"{source} {quantity}, evidence PDF {path}"),))


def _site_name(site: str) -> str:
    """The last part of a site path (``wuxi-plant``): the site's part of its files' names."""
    return site.rsplit("/", 1)[-1]


def _report_paths(context: DemoContext, site: str) -> tuple[Path, Path, Path]:
    folder = context.out / "report"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"report-{report_period(context.plan)}-{_site_name(site)}"
    return folder / f"{name}.json", folder / f"{name}.html", folder / f"{name}.pdf"


def report_bundle_path(context: DemoContext, site: str) -> Path:
    return context.bundles / f"report-{report_period(context.plan)}-{_site_name(site)}.json"


def _statement_path(context: DemoContext, site: str) -> Path:
    return (context.out / "report"
            / f"attestation-{report_period(context.plan)}-{_site_name(site)}.json")


def _each_site(context: DemoContext,
               step: Callable[[DemoContext, System, str], StepOutcome]) -> StepOutcome:
    """``step`` for every demo site in turn: ok when it is for each; its lines under the
    site's path; its figures one after the other."""
    system = open_system(context)
    outcomes = [(site, step(context, system, site)) for site in SITES]
    return StepOutcome(all(o.ok for _, o in outcomes),
                       tuple(line for site, o in outcomes
                             for line in (f"{site}:", *(f"  {text}" for text in o.lines))),
                       tuple(figure for _, o in outcomes for figure in o.figures))


def _render(context: DemoContext, system: System, site: str, doc: ReportDocument,
            statements: tuple[AttestationStatement, ...] = (),
            anchors: tuple[RenderedAnchor, ...] = ()) -> tuple[Path, Path, float]:
    """Render ``site``'s report with what the registry holds for it (its submission,
    attestations and their ``statements``), the batches' ``anchors`` and how to verify it;
    returns the paths and the seconds taken."""
    started = time.monotonic()
    report = context.reports[site]
    status = read_report(system, report.hash)
    assert status is not None  # submitted before it is rendered
    view = RenderContext.from_status(status, statements, submission_tx=report.tx,
                                     anchors=anchors,
                                     verify=VerifyHints(str(report_bundle_path(context, site)),
                                                        context.chain_url,
                                                        str(context.deployment)))
    _, html_path, pdf_path = _report_paths(context, site)
    html = render_html(doc, view)
    html_path.write_text(html, encoding="utf-8")
    pdf_path.write_bytes(render_pdf(html))
    return html_path, pdf_path, time.monotonic() - started


def _document(context: DemoContext, site: str) -> ReportDocument:
    with LedgerClient(context) as client:
        return report_api.fetch_document(client.client, context.reports[site].hash)


def site_reports(context: DemoContext) -> StepOutcome:
    """:func:`site_report` for every demo site."""
    return _each_site(context, site_report)


def site_report(context: DemoContext, system: System, site: str) -> StepOutcome:
    """``POST /v1/reports`` for ``site`` and :func:`report_period` under the enterprise
    methodology in force; submitted with the enterprise's key file; rendered."""
    period = report_period(context.plan)
    with LedgerClient(context) as client:
        hash_, doc = report_api.create_report(client.client, {
            "site": site, "period": period, "zone": "Asia/Shanghai",
            "methodology": ENTERPRISE_METHODOLOGY, "supersedes": None})
    document_path, _, _ = _report_paths(context, site)
    document_path.write_bytes(canonical_bytes(doc))
    submitted = submit_report(system, actor(context, system.chain, "enterprise"), doc)
    context.reports[site] = SiteReport(submitted.report_hash, submitted.transaction_hash)
    context.save()
    html_path, pdf_path, seconds = _render(context, system, site, doc)
    name = _site_name(site)
    context.written.update({f"report document ({name})": document_path,
                            f"report HTML ({name})": html_path,
                            f"report PDF ({name})": pdf_path})
    totals = doc.totals
    lines = [f"{line.meter_path}: {line.amount:,} {line.unit}, {line.grams:,} g (readings "
             f"{line.readings}, gap records {line.gap_records}, bridged steps "
             f"{line.bridged_steps})" for line in doc.measured]
    lines += [f"manual {line.source}: {line.amount:,} {line.unit}, {line.grams:,} g (evidence "
              f"{format_hex(line.evidence)})" for line in doc.manual]
    lines += [f"POST /v1/reports: report {format_hex(hash_)}, {doc.methodology.id} "
              f"v{doc.methodology.version} ({format_address(doc.methodology.address)}), "
              f"{len(doc.batches.items)} batches",
              f"submitted with {context.keys['enterprise']}: block {submitted.block_number}, "
              f"transaction {format_hex(submitted.transaction_hash)}, gas "
              f"{submitted.gas_used:,}",
              f"rendered {html_path} and {pdf_path} in {seconds:.1f} s"]
    return StepOutcome(submitted.report_hash == hash_, tuple(lines), (
        (f"{site}: report", f"{format_hex(hash_)} ({period}, {doc.methodology.id} "
                            f"v{doc.methodology.version})"),
        (f"{site}: report emissions", f"scope 1 {tonnes(totals.scope1)}, scope 2 "
                                      f"{tonnes(totals.scope2)}, total "
                                      f"{tonnes(totals.total)} tCO2e"),
        (f"{site}: report HTML / PDF", f"{html_path} / {pdf_path}")))


def opinion(measured: Sequence[MeasuredLine]) -> tuple[Verdict, tuple[str, ...], str]:
    """The demo regulator's opinion (verdict, reason codes, comments) from the data-quality
    counts of a report's ``measured`` lines: Qualified with the reason codes of what the counts
    show (``DATA_GAP`` for gap records or bridged steps, ``METER_CHANGE``,
    ``UNEXPLAINED_DECREASE``), Accepted when they show nothing."""
    reasons = sorted({code for line in measured for code, count in (
        ("DATA_GAP", line.gap_records + line.bridged_steps),
        ("METER_CHANGE", line.meter_changes),
        ("UNEXPLAINED_DECREASE", line.unexplained_decreases)) if count})
    if not reasons:
        return Verdict.ACCEPTED, (), "The signed readings and the evidence support the figures."
    bridged = sum(line.bridged_seconds for line in measured)
    return Verdict.QUALIFIED, tuple(reasons), (
        f"Figures reproduced from the signed readings; {bridged:,} s of readings are bridged "
        "by the counter difference (sample data).")


def regulator_attestations(context: DemoContext) -> StepOutcome:
    """:func:`regulator_attestation` of every site's report."""
    return _each_site(context, regulator_attestation)


def regulator_attestation(context: DemoContext, system: System, site: str) -> StepOutcome:
    """The regulator's statement on ``site``'s report (:func:`opinion`), attested on chain with
    the regulator's key file and posted to the API, and written beside the report."""
    doc, report = _document(context, site), context.reports[site]
    regulator = actor(context, system.chain, "regulator")
    verdict, reasons, comments = opinion(doc.measured)
    statement = AttestationStatement(report.hash, parse_address(regulator.address),
                                     verdict, reasons, comments,
                                     system.chain.latest_timestamp())
    sent = attest_report(system, regulator, statement)
    with LedgerClient(context, "regulator") as client:
        report_api.post_statement(client.client, statement)
        shown = report_api.call(client.client, "GET",
                                f"/v1/reports/{format_hex(report.hash)}").json()
    held = [a for a in (shown.get("chain") or {}).get("attestations", [])
            if a.get("statementHash") == format_hex(statement_hash(statement))]
    statement_path = _statement_path(context, site)
    statement_path.write_bytes(statement_bytes(statement))
    context.written[f"attestation statement ({_site_name(site)})"] = statement_path
    verdict_text = (f"{verdict.label} ({AVR[verdict]})"
                    + (f", reasons {', '.join(reasons)}" if reasons else ""))
    return StepOutcome(len(held) == 1 and held[0].get("statement") is not None, (
        f"statement {format_hex(statement_hash(statement))}: {verdict_text}",
        f"attested with {context.keys['regulator']}: block {sent.block_number}, transaction "
        f"{format_hex(sent.tx_hash)}",
        "POST /v1/reports/{hash}/attestations: the API "
        + ("keeps the statement" if held and held[0].get("statement") else "DOES NOT show it"),
        f"statement written to {statement_path} (as `mrv report attest --statement-out`)"),
        ((f"{site}: verdict", verdict_text),))


def report_bundles(context: DemoContext) -> StepOutcome:
    """:func:`report_bundle` of every site's report."""
    return _each_site(context, report_bundle)


def report_bundle(context: DemoContext, system: System, site: str) -> StepOutcome:
    """``GET /v1/reports/{hash}/bundle`` of ``site``'s report into ``out/demo/bundles/``,
    verified offline and on chain by the standalone verifier; the report rendered again, now
    with the regulator's statement and each batch's anchor transaction from the verified
    bundle."""
    path = report_bundle_path(context, site)
    path.parent.mkdir(parents=True, exist_ok=True)
    with LedgerClient(context) as client:
        answer = report_api.call(
            client.client, "GET", f"/v1/reports/{format_hex(context.reports[site].hash)}/bundle")
    path.write_bytes(answer.content)
    outcome = verify_files([path], system)[0]
    context.written[f"report bundle ({_site_name(site)})"] = path
    fields = outcome.fields
    lines = [f"{path}: {len(answer.content):,} bytes"]
    if not outcome.ok:
        lines.append(f"FAILED at step {fields['step']!r}: {fields['detail']}")
        return StepOutcome(False, tuple(lines), ((f"{site}: report bundle", f"{path} (FAILED)"),))
    lines += [f"mrv bundle verify {path.name} --rpc {context.chain_url} --deployment "
              f"{context.deployment.name}: VALID, {fields['measuredLines']} measured and "
              f"{fields['manualLines']} manual lines, {fields['batches']} batches",
              *(f"  {note}" for note in fields["notes"])]
    bundle = ReportBundle.loads(answer.content)
    listed = {(item.device, item.batch_seq) for item in bundle.report.batches.items}
    anchors = tuple(RenderedAnchor(b.header.device, b.header.batch_seq,
                                   TxRef(b.anchor.transaction_hash, b.anchor.block_number))
                    for b in bundle.batches if b.anchor is not None
                    and (b.header.device, b.header.batch_seq) in listed)
    statement = loads_statement(_statement_path(context, site).read_bytes())
    html_path, pdf_path, seconds = _render(context, system, site, bundle.report, (statement,),
                                           anchors)
    lines.append(f"rendered again with the attestation and {len(anchors)} anchor transactions: "
                 f"{html_path}, {pdf_path} ({seconds:.1f} s)")
    return StepOutcome(True, tuple(lines),
                       ((f"{site}: report bundle", f"{path} (verified on chain)"),))
