"""The demo's closing table: what the ledger received per site (readings, gaps, late ones),
what was batched and anchored per device (batches, gas of the anchors, as the chain's receipts
say), what the ingest counted (the API's own ``/metrics``), and the figures the steps reported.

Every figure is read back from where it lives (the API as the enterprise's operator, the chain,
the ledger database for the records by kind), never carried over from the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from ledger_api.db.engine import make_engine, make_sessions
from ledger_api.db.models import RecordRow
from mrv_core.codec import format_address

from .chain_steps import open_system
from .context import DemoContext
from .ledger import LedgerClient

__all__ = ["SummaryFigures", "collect", "render"]

SummaryFigures = list[tuple[str, str]]


def _site_rows(client: LedgerClient, context: DemoContext) -> SummaryFigures:
    plan, rows = context.plan, []
    for node in context.nodes:
        quality = client.quality(node.site, plan.period_start, plan.period_end - 1)
        meters: Sequence[dict[str, Any]] = quality["meters"]
        total = {k: sum(int(m[k]) for m in meters)
                 for k in ("received", "expected", "missing", "unanchored", "late")}
        gaps = ", ".join(f"{k} {v}" for k, v in sorted(quality["gapRecords"].items())) or "none"
        polls = sum(int(v) for v in quality["failedPolls"].values())
        # Polls the schedule holds for the period (one reading each, per meter). On a busy
        # machine a node at this speed misses cycles: it takes fewer readings, never false ones.
        scheduled = len(node.meters) * ((plan.period_end - plan.period_start) // plan.interval_s)
        rows += [(f"{node.site}: readings", f"{total['received']:,} received ("
                  f"{scheduled:,} polls scheduled), {total['missing']} missing of "
                  f"{total['expected']:,} signed, {total['unanchored']} unanchored, "
                  f"{total['late']} late"),
                 (f"{node.site}: signed gap records", f"{gaps} ({polls} failed polls)")]
    return rows


def _device_rows(client: LedgerClient, context: DemoContext) -> SummaryFigures:
    system = open_system(context)
    w3, rows = system.chain.w3, []
    for node in context.nodes:
        batches = client.batches(node.device)
        states: dict[str, int] = {}
        for batch in batches:
            states[batch["anchorState"]] = states.get(batch["anchorState"], 0) + 1
        events = system.anchors.events.BatchAnchored().get_logs(
            from_block=system.deployment.deploy_block,
            argument_filters={"device": format_address(node.device)})
        gas = [int(w3.eth.get_transaction_receipt(e["transactionHash"])["gasUsed"])
               for e in events]
        spread = f"{min(gas):,}-{max(gas):,}" if gas else "-"
        rows += [(f"{node.site}: batches in the ledger",
                  ", ".join(f"{v} {k}" for k, v in sorted(states.items())) or "none"),
                 (f"{node.site}: anchors on chain",
                  f"{len(events)}, {sum(gas):,} gas ({spread} each)")]
    return rows


def _ingest_rows(client: LedgerClient, context: DemoContext) -> SummaryFigures:
    answer = client.client.get("/metrics")
    answer.raise_for_status()
    items: dict[str, float] = {}
    for family in text_string_to_metric_families(answer.text):
        if family.name == "mrv_api_uplink_items":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    key = f"{sample.labels['kind']} {sample.labels['status']}"
                    items[key] = items.get(key, 0) + sample.value
    engine = make_engine(context.database_url, must_exist=True)
    try:
        with make_sessions(engine)() as session:
            kinds = dict(session.execute(select(RecordRow.kind, func.count())
                                         .group_by(RecordRow.kind)).tuples().all())
    finally:
        engine.dispose()
    return [("ingest (API metrics)", ", ".join(f"{k}: {int(v):,}" for k, v in
                                               sorted(items.items()))),
            ("records in the ledger", ", ".join(f"{k} {v:,}" for k, v in
                                                sorted(kinds.items())) or "none")]


def collect(context: DemoContext) -> SummaryFigures:
    """Every row of the table but the steps' own figures."""
    with LedgerClient(context) as client:
        return [*_site_rows(client, context), *_device_rows(client, context),
                *_ingest_rows(client, context)]


def render(console: Console, title: str, rows: SummaryFigures) -> None:
    table = Table(title=title, show_lines=False, title_justify="left")
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("figure", overflow="fold")
    for what, figure in rows:
        table.add_row(what, figure)
    console.print(table)
