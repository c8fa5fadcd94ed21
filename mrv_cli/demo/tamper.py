"""The demo's tamper step: one stored reading that the evidence of the gas invoice site's report
(``report_steps.REPORT_SITE``) uses is changed in the ledger's database (as an intruder with
file access would), and the report's verification names it; then the value is put back and
the ledger proves the report again.

The reading is the end reading of the report's first measured line (the bundle must carry it:
it is the line's boundary). With its value changed by one:

- ``GET /v1/reports/{hash}/bundle`` refuses (409 ``evidence``): the API checks every bundle
  with the verifier's offline steps before serving it, and says which step failed;
- the ledger's own exporter (``ledger_api.reports.bundle_export.bundle_of_report``, the code
  the route runs, without that check) writes the bundle the altered data gives to
  ``out/demo/tampered/``, and the standalone verifier (``mrv bundle verify``'s code path, on
  chain) fails at ``signature``, naming the reading's seq: the device never signed that value.
"""

from __future__ import annotations

from sqlalchemy import select, update

from ledger_api.db.engine import make_engine, make_sessions
from ledger_api.db.models import ReadingRow
from ledger_api.proofs import TreeCache
from ledger_api.recompute import meter_figures
from ledger_api.reports.bundle_export import bundle_of_report
from mrv_core.codec import format_hex

from .. import report_api
from ..flows import verify_files
from .chain_steps import open_system
from .context import DemoContext, StepOutcome
from .ledger import LedgerClient
from .report_steps import REPORT_SITE, report_bundle_path

__all__ = ["tamper_report_reading"]


def tamper_report_reading(context: DemoContext) -> StepOutcome:
    """Change the end reading of the report's first measured line by one, show the API's
    refusal and the verifier's failure naming it, put it back (module docstring)."""
    original = report_bundle_path(context, REPORT_SITE)
    system = open_system(context)
    report_hash = context.reports[REPORT_SITE].hash
    route = f"/v1/reports/{format_hex(report_hash)}/bundle"
    with LedgerClient(context) as client:
        doc = report_api.fetch_document(client.client, report_hash)
        line = next((line for line in doc.measured if line.end_reading is not None), None)
        if line is None or line.end_reading is None:
            return StepOutcome(False, ("the report has no measured line with an end reading: "
                                       "no reading of its evidence to tamper with",))
        seq = line.end_reading.seq
        where = (ReadingRow.device == line.device, ReadingRow.meter == line.meter,
                 ReadingRow.seq == seq)
        named = f"{line.meter_path} seq {seq}"
        tampered = context.out / "tampered" / original.name
        tampered.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(context.database_url, must_exist=True)
        sessions = make_sessions(engine)
        try:
            with sessions.begin() as session:
                value = session.scalars(select(ReadingRow.value).where(*where)).one()
                session.execute(update(ReadingRow).where(*where).values(value=value + 1))
            try:
                refused = client.client.get(route)
                with sessions() as session:
                    bundle = bundle_of_report(session, doc, meter_figures, system.deployment,
                                              TreeCache())
                tampered.write_bytes(bundle.dumps())
            finally:
                with sessions.begin() as session:
                    session.execute(update(ReadingRow).where(*where).values(value=value))
        finally:
            engine.dispose()
        again = client.client.get(route)
    caught = verify_files([tampered], system)[0]
    step, detail = caught.fields.get("step"), str(caught.fields.get("detail", ""))
    problem = refused.json() if refused.status_code != 200 else {}
    restored = again.status_code == 200 and again.content == original.read_bytes()
    context.written["tampered report bundle"] = tampered
    lines = [f"ledger.sqlite: reading {named} value {value:,} -> {value + 1:,}",
             f"GET {route}: HTTP {refused.status_code} "
             f"{problem.get('title', '')}: {problem.get('detail', '')}",
             f"the ledger's exporter wrote {tampered}; mrv bundle verify --rpc: " + (
                 "VERIFIES (tampering not caught)" if caught.ok else
                 f"fails at step {step!r}: {detail}"),
             "value put back: the API serves the report bundle again, "
             + ("byte for byte the one verified" if restored else "BUT NOT THE SAME")]
    ok = (refused.status_code == 409 and not caught.ok and step == "signature"
          and f"seq {seq}" in detail and restored)
    return StepOutcome(ok, tuple(lines), (
        ("tampered reading caught", f"{named} at step {step}" if not caught.ok else "NO"),))
