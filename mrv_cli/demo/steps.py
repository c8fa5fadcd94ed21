"""The demo's steps after the period is in the ledger, each ``step(context) -> StepOutcome``.

:data:`AFTER_PERIOD` is the order they run in. Each takes only the
:class:`~mrv_cli.demo.context.DemoContext` (chain URL, deployment file, API URL and keys, the
enterprise's key file, paths) and talks to the system as an operator would: over the API, with
``mrv`` functions, on chain. Steps whose parts are built on other branches of issue 11 raise
:class:`StepNotBuilt` naming the branch; the runner reports them as not built, never as done.
The lead replaces each body when the branches merge:

======================  =========================================  ==============
step                    what it does when built                    built on
======================  =========================================  ==============
monitoring_plan         ``PUT /v1/plan``: every demo meter feeds   i11-recompute
                        ``electricity.grid`` (rollover rule from
                        its profile, ``edge_node.node.rollover_rule``)
manual_fuel_purchase    a natural gas invoice (an evidence file)   i11-reports
                        as manual activity data
monthly_report          compute, submit (``--key`` the enterprise  i11-reports,
                        key file) and render (HTML, PDF)           i11-render
regulator_attestation   the regulator attests the report           i11-reports
report_bundle           export the report bundle, ``mrv bundle     i11-rbundle
                        verify --rpc --deployment``
======================  =========================================  ==============

Built here, with what main has: :func:`period_emissions` (the period's grid electricity from
the first and last reading of each meter in the ledger, through ``cn.machinery`` by the Python
calculator and by the contract, which must agree), :func:`reading_proofs` (the
``trustmrv-proof/2`` bundle of the first and last reading of the period of each meter, from
``GET /v1/proofs``, verified offline and on chain as ``mrv bundle verify`` does) and
:func:`tamper_stored_reading` (one stored reading changed in the ledger's database: its bundle
from the API then fails verification at the step that names it; the value is put back
afterwards, so the ledger stays verifiable).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from accounting_rules import activity, compute, load_methodology
from accounting_rules.publishing import compute_on_chain, resolve
from ledger_api.db.engine import make_engine, make_sessions
from ledger_api.db.models import ReadingRow
from mrv_core.chain import Deployment, System, connect
from mrv_core.codec import format_address, parse_address, parse_hex
from mrv_core.errors import MrvError

from ..flows import SAMPLE_FLAG_NOTE, verify_files
from .context import DemoContext, StepOutcome
from .ledger import LedgerClient

__all__ = ["AFTER_PERIOD", "ENTERPRISE_METHODOLOGY", "StepNotBuilt", "manual_fuel_purchase",
           "monitoring_plan", "monthly_report", "period_emissions", "reading_proofs",
           "regulator_attestation", "report_bundle", "tamper_stored_reading"]


#: The enterprise methodology of the demo's figures and report (all of a machinery plant's
#: sources; docs/accounting.md).
ENTERPRISE_METHODOLOGY = "cn.machinery"


class StepNotBuilt(MrvError):
    """A demo step whose parts are built on another branch (``branch``) not merged here."""

    def __init__(self, branch: str, what: str) -> None:
        super().__init__(f"{what}: built on branch {branch}, not merged here")
        self.branch = branch


def monitoring_plan(context: DemoContext) -> StepOutcome:
    """The enterprise's monitoring plan: each demo meter feeds ``electricity.grid``."""
    raise StepNotBuilt("i11-recompute", "monitoring plan (PUT /v1/plan, mrv api plan set)")


def manual_fuel_purchase(context: DemoContext) -> StepOutcome:
    """One natural gas purchase entered by hand with its invoice as the evidence file."""
    raise StepNotBuilt("i11-reports", "manual activity data with an evidence file")


def monthly_report(context: DemoContext) -> StepOutcome:
    """Compute, submit with the enterprise key file, and render the period's report."""
    raise StepNotBuilt("i11-reports + i11-render", "the monthly report (mrv report ...)")


def regulator_attestation(context: DemoContext) -> StepOutcome:
    """The regulator attests the report (``mrv report attest``)."""
    raise StepNotBuilt("i11-reports", "the regulator's attestation")


def report_bundle(context: DemoContext) -> StepOutcome:
    """Export the report bundle and verify it with ``mrv bundle verify --rpc``."""
    raise StepNotBuilt("i11-rbundle", "the report bundle and its standalone verification")


def _system(context: DemoContext) -> System:
    return System(connect(context.chain_url), Deployment.read(context.deployment))


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
        outcomes = verify_files(paths, _system(context))
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


def period_emissions(context: DemoContext) -> StepOutcome:
    """The period's grid electricity from the ledger (each meter's import counter: its last
    reading of the period minus its first), with ``cn.machinery`` as the registry resolves it at
    the period's start, computed by the Python calculator and by the contract (``eth_call``):
    both must agree to the gram. A counter that went down is refused, never guessed (the
    monitoring plan's rollover rules come with i11-recompute, whose figures replace these)."""
    plan, system = context.plan, _system(context)
    with LedgerClient(context) as client:
        chosen = _period_readings(client, context)
    ends: dict[str, list[int]] = {}
    for reading in chosen:
        ends.setdefault(reading["meterPath"], []).append(int(reading["value"]))
    lines = [f"{path}: {values[-1] - values[0]:,} Wh" for path, values in sorted(ends.items())]
    if any(values[-1] < values[0] for values in ends.values()):
        return StepOutcome(False, (*lines, "a counter went down: not computed"))
    energy = sum(values[-1] - values[0] for values in ends.values())
    resolved = resolve(system, ENTERPRISE_METHODOLOGY, plan.period_start)
    methodology = load_methodology(ENTERPRISE_METHODOLOGY, resolved.version)
    activities = [activity(methodology, "electricity.grid", energy)]
    python = compute(methodology, plan.period_start, plan.period_end, activities)
    contract = compute_on_chain(system, resolved.address, plan.period_start, plan.period_end,
                                activities)
    agree = python == contract
    tonnes = f"{python.total / 1e6:,.3f} t CO2e"
    return StepOutcome(agree, (
        *lines,
        f"electricity.grid {energy:,} Wh with {methodology.id} v{methodology.version} (in "
        f"force at the period's start, contract {resolved.address})",
        f"scope 1 {python.scope1:,} g, scope 2 {python.scope2:,} g, total {python.total:,} g: "
        f"Python and contract {'AGREE to the gram' if agree else 'DIFFER'} ({tonnes})"),
        (("emissions of the period", f"scope 1 {python.scope1:,} g, scope 2 "
                                     f"{python.scope2:,} g CO2e ({tonnes}; Python = contract: "
                                     f"{'yes' if agree else 'NO'})"),))


def tamper_stored_reading(context: DemoContext) -> StepOutcome:
    """Change one stored reading's value in the ledger's database, fetch its proof bundle
    again: verification must fail, at the ``signature`` step, naming the reading; then put the
    value back and check that the bundle verifies again."""
    engine = make_engine(context.database_url, must_exist=True)
    sessions = make_sessions(engine)
    system = _system(context)
    try:
        with LedgerClient(context) as client:
            reading = _period_readings(client, context)[0]
            device, meter, seq = (parse_address(reading["device"]),
                                  parse_hex(reading["meter"], 32), int(reading["seq"]))
            where = (ReadingRow.device == device, ReadingRow.meter == meter,
                     ReadingRow.seq == seq)
            with sessions.begin() as session:
                value = session.scalars(select(ReadingRow.value).where(*where)).one()
                session.execute(update(ReadingRow).where(*where).values(value=value + 1))
            try:
                tampered = _fetch_bundle(client, reading, context.out / "tampered")
            finally:
                with sessions.begin() as session:
                    session.execute(update(ReadingRow).where(*where).values(value=value))
            restored = _fetch_bundle(client, reading, context.out / "restored")
    finally:
        engine.dispose()
    caught, again = verify_files([tampered], system)[0], verify_files([restored], system)[0]
    named = f"{reading['meterPath']} seq {seq}"
    context.written["tampered bundle"] = tampered
    lines = [f"ledger.sqlite: reading {named} value {value:,} -> {value + 1:,}",
             f"its bundle from the API {tampered}: " + (
                 "VERIFIES (tampering not caught)" if caught.ok else
                 f"fails at step {caught.fields['step']!r}: {caught.fields['detail']}"),
             f"value put back: the bundle {'verifies' if again.ok else 'STILL FAILS'} again"]
    ok = not caught.ok and caught.fields.get("step") == "signature" and again.ok
    return StepOutcome(ok, tuple(lines), (("tampered reading caught",
                                           f"{named} at step {caught.fields.get('step')}"
                                           if not caught.ok else "NO"),))


#: The steps after the period, in order: (title, step).
AFTER_PERIOD: tuple[tuple[str, Callable[[DemoContext], StepOutcome]], ...] = (
    ("monitoring plan", monitoring_plan),
    ("manual fuel purchase with an evidence file", manual_fuel_purchase),
    ("compute, submit and render the monthly report", monthly_report),
    ("attest the report as a regulator", regulator_attestation),
    ("export and verify the report bundle", report_bundle),
    ("the period's emissions from the ledger, by Python and by the contract", period_emissions),
    ("proof bundles of stored readings, verified offline and on chain", reading_proofs),
    ("tamper with one stored reading: verification names it", tamper_stored_reading),
)
