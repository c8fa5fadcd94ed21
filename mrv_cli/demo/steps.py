"""The demo's steps after the period is in the ledger, each ``step(context) -> StepOutcome``.

:data:`AFTER_PERIOD` is the order they run in. Each takes only the
:class:`~mrv_cli.demo.context.DemoContext` (chain URL, deployment file, API URL and keys, the
enterprise's and the regulator's key files, paths) and talks to the system as an operator or a
regulator would: over the API, with the functions ``mrv`` commands use, on chain. Each can be
run again by hand against what the demo leaves (``DemoContext.load``):

- :mod:`.report_steps`: the monitoring plan, the manual fuel purchase with its evidence file,
  each site's report (created, submitted, rendered), the regulator's attestation of each, each
  report bundle verified against the chain;
- :mod:`.tamper`: one stored reading the gas invoice site's report uses changed, verification
  naming it, the value put back;
- here, :func:`reading_proofs`: the ``trustmrv-proof/2`` bundle of the first and last reading
  of the period of each meter, from ``GET /v1/proofs``, verified offline and on chain as ``mrv
  bundle verify`` does, and by the API's ``POST /v1/bundles/verify``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mrv_core.codec import format_address

from ..flows import SAMPLE_FLAG_NOTE, verify_files
from . import report_steps
from .chain_steps import open_system
from .context import DemoContext, StepOutcome
from .ledger import LedgerClient
from .tamper import tamper_report_reading

__all__ = ["AFTER_PERIOD", "reading_proofs"]


def _period_readings(client: LedgerClient, context: DemoContext) -> list[dict[str, Any]]:
    """For each energy meter of each node: its first and last reading of the period (wire
    objects with ``device`` added)."""
    plan, chosen = context.plan, []
    for node in context.nodes:
        for path, _unit, _profile in node.meters:
            params = {"device": format_address(node.device), "path": path,
                      "from": plan.period_start, "to": plan.period_end - 1, "limit": 1000}
            page: list[dict[str, Any]] = []
            while True:
                answer = client.get("/v1/readings", **params)
                page += [r["reading"] for r in answer["readings"]
                         if r["reading"]["quantity"] == "energy.active.import:Wh"]
                if answer["next"] is None:
                    break
                params["cursor"] = answer["next"]
            for reading in (page[:1] + page[1:][-1:]):  # the first and last, once each
                chosen.append({**reading, "device": format_address(node.device)})
    return chosen


def _fetch_bundle(client: LedgerClient, reading: dict[str, Any], folder: Path) -> Path:
    meter, seq = reading["meter"], reading["seq"]
    answer = client.client.get(f"/v1/proofs/{reading['device']}/{meter}/{seq}")
    answer.raise_for_status()
    folder.mkdir(parents=True, exist_ok=True)
    name = reading["meterPath"].replace("/", "_")
    path = folder / f"{name}-seq-{seq}.json"
    path.write_bytes(answer.content)
    return path


def reading_proofs(context: DemoContext) -> StepOutcome:
    """The first and last reading of the period of every meter, as proof bundles from the
    ledger API, verified offline and against the chain."""
    with LedgerClient(context) as client:
        paths = [_fetch_bundle(client, r, context.bundles)
                 for r in _period_readings(client, context)]
        outcomes = verify_files(paths, open_system(context))
        served = [client.post("/v1/bundles/verify", json.loads(p.read_bytes())) for p in paths]
    failed = [o for o in outcomes if not o.ok]
    api_valid = sum(a.status_code == 200 and a.json().get("valid") is True for a in served)
    context.written["reading proof bundles"] = context.bundles
    lines = [f"{len(paths)} proof bundles (first and last reading of the period of each meter) "
             f"in {context.bundles}",
             f"mrv bundle verify, offline and on chain: {len(paths) - len(failed)} of "
             f"{len(paths)} valid",
             f"POST /v1/bundles/verify: {api_valid} of {len(paths)} valid",
             f"SAMPLE DATA signed for this chain: {SAMPLE_FLAG_NOTE}",
             *(f"FAILED {o.path}: {o.fields}" for o in failed)]
    return StepOutcome(not failed and api_valid == len(paths) and bool(paths), tuple(lines),
                       (("proof bundles verified", f"{len(paths) - len(failed)}/{len(paths)}"),))


#: The steps after the period, in order: (title, step).
AFTER_PERIOD: tuple[tuple[str, Callable[[DemoContext], StepOutcome]], ...] = (
    ("monitoring plan: the meters that feed electricity.grid (PUT /v1/plan)",
     report_steps.monitoring_plan),
    ("manual fuel purchase with an evidence file", report_steps.manual_fuel_purchase),
    ("create, submit and render each site's report", report_steps.site_reports),
    ("attest each report as a regulator", report_steps.regulator_attestations),
    ("export each report's bundle and verify it against the chain",
     report_steps.report_bundles),
    ("tamper with a reading a report uses: verification names it", tamper_report_reading),
    ("proof bundles of stored readings, verified offline and on chain", reading_proofs),
)
