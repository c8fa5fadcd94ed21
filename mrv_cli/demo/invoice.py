"""The demo's evidence file: a one-page PDF invoice of a natural gas purchase (SAMPLE DATA).

The manual activity step (``report_steps.manual_fuel_purchase``) enters the purchase through
the ledger API with this file as its evidence; the report then commits the file's keccak256.
The page is HTML laid out by weasyprint through the report renderer's own PDF function
(:func:`accounting_rules.reports.render.render_pdf`: no network fetch, the shipped fonts), so
the demo adds no second way of writing a PDF. Every figure on it is given by the caller; none
is computed here.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from html import escape
from pathlib import Path

from accounting_rules.reports.render import render_pdf

__all__ = ["Invoice", "warm_up_renderer", "write_invoice"]


@dataclass(frozen=True)
class Invoice:
    """What the invoice states: its number, the supplier and the buyer, the site supplied,
    the billing period's label (``2027-01``), the quantity as text (``12000 Nm3``) and the
    date of issue (ISO date)."""

    number: str
    supplier: str
    buyer: str
    site: str
    period: str
    quantity: str
    issued: str


def invoice_html(invoice: Invoice) -> str:
    """The invoice as one self-contained HTML page (every value escaped)."""
    rows = [("发票号码 / Invoice no.", invoice.number),
            ("开票日期 / Date of issue", invoice.issued),
            ("销售方 / Supplier", invoice.supplier),
            ("购买方 / Buyer", invoice.buyer),
            ("供气地点 / Delivery site", invoice.site),
            ("计费周期 / Billing period", invoice.period),
            ("货物 / Goods", "天然气 / natural gas (pipeline)"),
            ("数量 / Quantity", invoice.quantity)]
    cells = "\n".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(invoice.number)}</title>
<style>
@page {{ size: A5 landscape; margin: 12mm; }}
body {{ font-family: "WenQuanYi Micro Hei", sans-serif; font-size: 10pt; }}
h1 {{ font-size: 14pt; margin: 0 0 4mm; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 0.5pt solid #444; padding: 1.5mm 2mm; text-align: left; }}
th {{ width: 40%; background: #eee; }}
p {{ color: #a00; font-size: 8pt; }}
</style></head>
<body><h1>天然气购销发票 / Natural gas invoice</h1>
<table>
{cells}
</table>
<p>SAMPLE DATA written by `mrv demo`: no real purchase.</p>
</body></html>
"""


def write_invoice(invoice: Invoice, path: Path) -> bytes:
    """Write the invoice as a PDF at ``path`` (its directory made) and return the bytes."""
    pdf = render_pdf(invoice_html(invoice))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)
    return pdf


def warm_up_renderer() -> threading.Thread:
    """Start WeasyPrint's one-time set-up (its bindings to pango and harfbuzz and the fonts:
    about 2 s at first use, 0.1 s after) in a daemon thread, by laying out a sample invoice, so
    that it overlaps the period the demo waits for; the caller joins it before the steps that
    render. A failure here is dropped: the same call in those steps reports it."""
    sample = Invoice("0", "-", "-", "-", "-", "-", "-")

    def run() -> None:
        with contextlib.suppress(Exception):
            render_pdf(invoice_html(sample))

    thread = threading.Thread(target=run, name="renderer-warm-up", daemon=True)
    thread.start()
    return thread
