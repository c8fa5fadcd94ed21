"""The parts of ``mrv demo``'s report steps that need no running system
(``mrv_cli.demo.report_steps``, ``mrv_cli.demo.invoice``): the report's calendar period, the
monitoring plan read from the nodes' configuration files and the profiles, the regulator's
opinion from a report's data-quality counts, and the invoice PDF (read back with Debian's
``pdftotext``). The steps themselves run against the real system in
tests/integration/cli/test_demo.py."""

from __future__ import annotations

import calendar
import subprocess
from datetime import datetime
from fractions import Fraction
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from accounting_rules.reports import MeasuredLine
from accounting_rules.reports.manual import media_type_of
from accounting_rules.reports.statement import Verdict
from edge_node.config import load_config
from ledger_api.recompute.plan import check_plan, encode_point
from mrv_cli.dates import BEIJING, parse_period
from mrv_cli.demo import make_plan
from mrv_cli.demo.context import DemoContext, NodeInfo
from mrv_cli.demo.invoice import Invoice, write_invoice
from mrv_cli.demo.report_steps import opinion, plan_points, report_period
from mrv_cli.demo.sites import SITES, node_config, node_config_path, simulator_meter_args
from mrv_core.reading import meter_id

NOW = 1_796_000_000


@settings(max_examples=100, deadline=None)
@given(chain_now=st.integers(0, 2**33), days=st.one_of(st.none(), st.integers(1, 31)))
def test_the_report_covers_the_demo_s_month_or_the_first_day_of_a_shorter_period(
        chain_now: int, days: int | None) -> None:
    plan = make_plan(out=Path("out"), rpc=None, days=days, interval_min=60, speed=86_400,
                     chain_now=chain_now)
    start, end = parse_period(report_period(plan))
    first = datetime.fromtimestamp(plan.period_start, BEIJING)
    whole_month = days is None or days >= calendar.monthrange(first.year, first.month)[1]
    assert start == plan.period_start
    assert end == (plan.period_end if whole_month else start + 86_400)


def _context(tmp_path: Path) -> DemoContext:
    """A context whose two nodes' configuration files are written as the demo writes them."""
    context = DemoContext(
        plan=make_plan(out=tmp_path, rpc=None, days=1, interval_min=60, speed=86_400,
                       chain_now=NOW),
        chain_url="http://127.0.0.1:1", deployment=tmp_path / "deployment.json",
        api_url="http://127.0.0.1:2", password_file=tmp_path / "password.txt")
    for number, (site, meters) in enumerate(SITES.items(), start=1):
        config = node_config_path(context, number)
        config.parent.mkdir(parents=True)
        config.write_text(node_config(context, site, meters, modbus_port=5020,
                                      batch_age_s=3600), encoding="utf-8")
        context.nodes.append(NodeInfo(site, bytes(20), config, ()))
    return context


def test_the_plan_has_each_demo_meter_s_import_counter_with_its_profile_s_rollover_rule(
        tmp_path: Path) -> None:
    points = plan_points(_context(tmp_path))
    paths = sorted(f"{site}/{m.below}" for site, meters in SITES.items() for m in meters)
    assert [p.meter_path for p in points] == paths
    assert {(p.source, p.quantity) for p in points} == {
        ("electricity.grid", "energy.active.import:Wh")}
    by_path = {p.meter_path: p for p in points}
    # The generic profile's import register is a uint32 in Wh, polled hourly: it wraps at 2^32
    # Wh, and a wrap may add at most half the range per poll interval (edge_node.node).
    chiller = by_path["demo-co/suzhou-plant/utilities/hvac/chiller-1"]
    assert (chiller.counter_modulus, chiller.max_rate) == (2**32, Fraction(2**32, 2 * 3600))
    # The Eastron SDM630's import energy is a float: it never wraps.
    incomer = by_path["demo-co/wuxi-plant/assembly/line-1/main-incomer"]
    assert (incomer.counter_modulus, incomer.max_rate) == (None, None)
    # The air compressor's Acrel ADL400 counts 0.01 kWh in a uint32 on the secondary side of
    # a 200/5 A transformer: it wraps at 2^32 x 10 Wh x 40 primary (a fresh-clone user saw
    # the node read the secondary as primary: 40 times too little energy, a 40 times smaller
    # modulus).
    compressor = by_path["demo-co/wuxi-plant/utilities/compressors/air-1"]
    assert compressor.counter_modulus == 2**32 * 10 * 40
    # The ledger takes the plan as the demo sends it.
    assert check_plan([encode_point(p) for p in points]) == points


def test_each_node_reads_its_meters_through_the_transformer_ratio_the_simulator_serves(
        tmp_path: Path) -> None:
    context = _context(tmp_path)
    served = dict(arg.removeprefix("--meter=").split(":", 1) for arg in simulator_meter_args())
    for node in context.nodes:
        for meter in load_config(node.config).meters:
            [demo] = [m for m in SITES[node.site] if meter.path == f"{node.site}/{m.below}"]
            options = dict(o.split("=") for o in served[str(demo.unit)].split(",")[1:])
            assert meter.ct_ratio == Fraction(int(options.get("ct", "1"))), meter.path
            assert meter.pt_ratio == Fraction(int(options.get("pt", "1"))), meter.path


def _line(*, gap_records: int = 0, bridged_steps: int = 0, bridged_seconds: int = 0,
          rollovers: int = 0, meter_changes: int = 0, unexplained_decreases: int = 0
          ) -> MeasuredLine:
    path = "demo-co/wuxi-plant/a/b/m"
    return MeasuredLine(
        source="electricity.grid", scope=2, unit="Wh", amount=1_000, grams=530,
        meter_path=path, meter=meter_id(path), device=bytes(20),
        quantity="energy.active.import:Wh", start_reading=None, end_reading=None, readings=24,
        gap_records=gap_records, bridged_steps=bridged_steps, bridged_seconds=bridged_seconds,
        rollovers=rollovers, meter_changes=meter_changes,
        unexplained_decreases=unexplained_decreases)


def test_the_regulator_accepts_clean_lines_and_qualifies_gaps_meter_changes_and_decreases(
        ) -> None:
    assert opinion([_line(), _line(rollovers=1)])[:2] == (Verdict.ACCEPTED, ())
    verdict, reasons, comments = opinion([_line(), _line(gap_records=1, bridged_steps=1,
                                                         bridged_seconds=7_200)])
    assert (verdict, reasons) == (Verdict.QUALIFIED, ("DATA_GAP",))
    assert "7,200 s" in comments
    verdict, reasons, _ = opinion([_line(meter_changes=1), _line(unexplained_decreases=2)])
    assert (verdict, reasons) == (Verdict.QUALIFIED, ("METER_CHANGE", "UNEXPLAINED_DECREASE"))


def test_the_invoice_is_a_pdf_stating_its_number_site_and_quantity(tmp_path: Path) -> None:
    path = tmp_path / "evidence" / "invoice.pdf"
    content = write_invoice(Invoice(
        number="DEMO-202701-0001", supplier="Demo City Gas Co. (sample)", buyer="demo-co",
        site="demo-co/wuxi-plant", period="2027-01", quantity="12000 Nm3",
        issued="2027-02-01"), path)
    assert path.read_bytes() == content and media_type_of(content) == "application/pdf"
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    for shown in ("DEMO-202701-0001", "demo-co/wuxi-plant", "12000 Nm3", "天然气", "SAMPLE DATA"):
        assert shown in text, text
