"""Procedures several commands share: anchoring a sample batch, writing bundles, verifying files.

These compose mrv_core's pieces the way an operator would; the commands only parse options and
print.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accounting_rules.reports.bundle import FORMAT as REPORT_BUNDLE_FORMAT
from accounting_rules.reports.bundle import LIMITS as REPORT_LIMITS
from accounting_rules.reports.bundle import ReportBundle, is_report_bundle
from accounting_rules.reports.overrides import ParameterOverride
from accounting_rules.reports.verify import verify_report_bundle
from accounting_rules.reports.verify_chain import verify_report_on_chain
from mrv_core import (
    AnchorRef,
    Batch,
    BatchFile,
    Domain,
    ProofBundle,
    VerificationError,
    VerifiedBatchFile,
    bundle_for_readings,
)
from mrv_core.chain import KeySigner, System, Transactor, verify_on_chain
from mrv_core.codec import format_address, format_hex
from mrv_core.errors import ConfigError, DecodeError, InvalidBatchHeader
from mrv_core.hashing import keccak256
from mrv_core.keys import DeviceKey
from mrv_core.verify import load_file, verify_json

__all__ = ["CHAIN_NOT_CHECKED", "PLAN_PATHS_SHOWN", "SAMPLE_FLAG_NOTE", "SAMPLE_SITE",
           "UNSIGNED_HEADER_NOTE", "VerifyOutcome", "anchor_batch_as_sample_enterprise",
           "plan_text", "prepare_sample_device", "print_outcomes", "verify_files",
           "write_bundles"]

#: The site the sample device is registered at: keccak256 of its path prefix.
SAMPLE_SITE = keccak256(b"demo-co/wuxi-plant")
#: What a verified version 1 document does not prove (printed, and listed in ``--json``).
UNSIGNED_HEADER_NOTE = ("unsigned-header: a version 1 document; nothing signed covers its "
                        "batchSeq, leafCount and time span offline (check them with --rpc)")
#: The same, once the chain steps compared the header with the anchoring event.
UNSIGNED_HEADER_CHAIN_NOTE = ("unsigned-header: a version 1 document; its header was checked "
                              "against the chain's BatchAnchored event instead")
#: What the documents' ``"sample"`` flag means, wherever a command prints sample data.
SAMPLE_FLAG_NOTE = ('"sample": true marks the offline SAMPLE domain (chainId 0) only; simulated '
                    'readings signed for a chain say "sample": false')
#: Plan meter paths a report's text output lists (``--json`` lists all).
PLAN_PATHS_SHOWN = 50
#: Anchors a funded sample device can pay for (on chains that charge gas).
_ANCHORS_TO_FUND = 50
_ANCHOR_GAS = 60_000


def anchor_batch_as_sample_enterprise(system: System, enterprise: Transactor, device: DeviceKey,
                                      batch: Batch) -> AnchorRef:
    """Make ``enterprise`` an enterprise (when it is the consortium admin), register ``device``
    under it, fund the device's gas if the chain charges any, and anchor ``batch`` from the
    device's own account."""
    return system.anchor(prepare_sample_device(system, enterprise, device), batch.header)


def prepare_sample_device(system: System, enterprise: Transactor,
                          device: DeviceKey) -> Transactor:
    """Everything before a sample device can anchor (see
    :func:`anchor_batch_as_sample_enterprise`); returns the device's transactor."""
    if not system.has_role("ENTERPRISE_ROLE", enterprise.address):
        if not system.has_role("DEFAULT_ADMIN_ROLE", enterprise.address):
            raise ConfigError(f"{enterprise.address} is neither an enterprise nor the consortium "
                              "admin: it cannot register the sample device")
        system.grant_role(enterprise, "ENTERPRISE_ROLE", enterprise.address)
    address = format_address(device.address)
    status = system.device_status(device.address)
    if status == "unregistered":
        metadata = keccak256(json.dumps({"kind": "sample device", "meters": 4}).encode())
        system.register_device(enterprise, device, SAMPLE_SITE, metadata)
    elif status != "active":
        raise ConfigError(f"sample device {address} is {status} on this chain; use another key")
    _fund_gas(system, enterprise, address)
    return Transactor(system.chain, KeySigner(device))


def _fund_gas(system: System, funder: Transactor, address: str) -> None:
    w3 = system.chain.w3
    price = system.call("eth_gasPrice", lambda: int(w3.eth.gas_price))
    block_gas = system.call("eth_getBlockByNumber",
                            lambda: int(w3.eth.get_block("latest")["gasLimit"]))
    # Nodes estimate gas with the block's limit and want the balance to cover it at the fee cap.
    needed = price * (2 * block_gas + _ANCHOR_GAS * _ANCHORS_TO_FUND)
    balance = system.call("eth_getBalance", lambda: int(w3.eth.get_balance(address)))  # type: ignore[arg-type]
    if needed and balance < needed:
        funder.transfer(address, needed - balance)


def write_bundles(out: Path, batch: Batch, domain: Domain, anchor: AnchorRef | None) -> int:
    """One bundle per reading, a multiproof bundle of all (if several) and the batch file, all
    version 2: ``batch`` must carry its header signature (:meth:`DeviceKey.close_batch`)."""
    if batch.header_signature is None:
        raise InvalidBatchHeader("signature", "the batch header is unsigned: close the batch with "
                                 "DeviceKey.close_batch so the documents are version 2")
    out.mkdir(parents=True, exist_ok=True)
    BatchFile.of(batch, domain, anchor).write(out / f"batch-{batch.header.batch_seq}.json")
    count = len(batch.readings)
    width = max(5, len(str(count - 1)))
    for i in range(count):
        bundle_for_readings(batch, domain, [i], anchor).write(out / f"reading-{i:0{width}d}.json")
    if count > 1:
        bundle_for_readings(batch, domain, list(range(count)), anchor).write(
            out / "multiproof.json")
    return count


@dataclass(frozen=True)
class VerifyOutcome:
    path: Path
    ok: bool
    fields: dict[str, Any]


def verify_files(paths: Sequence[Path], system: System | None) -> list[VerifyOutcome]:
    """Verify each file offline and, given a system, on chain: proof bundles and batch files
    (``mrv_core.verify``), report bundles (``accounting_rules.reports.verify``), told apart by
    their ``format``."""
    outcomes = []
    for path in paths:
        try:
            doc, size = load_file(path)
            if is_report_bundle(doc):
                outcomes.append(_verify_report(path, doc, size, system))
                continue
            verified = verify_json(doc, size)
            if system is not None:
                verify_on_chain(verified, system)
        except VerificationError as exc:
            outcomes.append(VerifyOutcome(path, False, {"step": exc.step, "detail": exc.detail}))
            continue
        if isinstance(verified, VerifiedBatchFile):
            document: ProofBundle | BatchFile = verified.batch_file
            readings = None
        else:
            document = verified.bundle
            readings = len(verified.bundle.readings)
        header = document.batch
        outcomes.append(VerifyOutcome(path, True, {
            "kind": "batch" if readings is None else "bundle", "format": document.format,
            "readings": readings, "leafCount": header.leaf_count,
            "device": format_address(header.device), "batchSeq": header.batch_seq,
            "root": format_hex(header.root), "sample": document.sample,
            "headerSigned": verified.header_signed,
            "notes": [] if verified.header_signed else [
                UNSIGNED_HEADER_NOTE if system is None else UNSIGNED_HEADER_CHAIN_NOTE],
            "chainChecked": system is not None}))
    return outcomes


def _verify_report(path: Path, doc: object, size: int, system: System | None) -> VerifyOutcome:
    """One report bundle: every offline step and, given a system, every chain step."""
    if size > REPORT_LIMITS.bundle_bytes:
        raise VerificationError("format", f"document is {size} bytes, report bundle limit "
                                          f"{REPORT_LIMITS.bundle_bytes}")
    try:
        bundle = ReportBundle.from_json(doc)
    except DecodeError as exc:
        raise VerificationError("format", str(exc)) from None
    verified = (verify_report_bundle(bundle) if system is None
                else verify_report_on_chain(bundle, system))
    report, status = bundle.report, verified.chain
    notes = []
    unchecked = len(report.measured) - len(verified.cross_checked)
    if unchecked:
        notes.append(f"{unchecked} of {len(report.measured)} measured line(s) not cross-checked "
                     "with the devices' signed summaries (none in the bundle tile the period)")
    notes += [override.describe() for override in verified.overrides]
    if status is not None:
        if status.superseded_by is not None:
            notes.append(f"superseded by report {format_hex(status.superseded_by)}")
        notes += [f"attested {a.verdict.label} by {format_address(a.regulator)} (statement "
                  f"{format_hex(a.statement_hash)})" for a in status.attestations]
        if not status.attestations:
            notes.append("not attested by any regulator")
    return VerifyOutcome(path, True, {
        "kind": "report", "format": REPORT_BUNDLE_FORMAT, "reportHash": format_hex(
            bundle.report_hash), "enterprise": format_address(report.enterprise),
        "site": None if report.site is None else report.site.path,
        "period": {"start": report.period.start, "end": report.period.end,
                   "label": report.period.label},
        "methodology": f"{report.methodology.id} v{report.methodology.version}",
        "measuredLines": len(report.measured), "manualLines": len(report.manual),
        "crossChecked": len(verified.cross_checked),
        "plan": [line.meter_path for line in report.plan],
        "summarizedMeters": list(verified.meters.named),
        "overrides": [_override_json(o) for o in verified.overrides],
        "warnings": list(verified.meters.warnings()),
        "batches": len(bundle.batches), "scope1": report.totals.scope1,
        "scope2": report.totals.scope2, "total": report.totals.total, "sample": False,
        "headerSigned": True, "notes": notes, "chainChecked": system is not None,
        "supersededBy": (None if status is None or status.superseded_by is None
                         else format_hex(status.superseded_by)),
        "attestations": [] if status is None else [
            {"regulator": format_address(a.regulator), "verdict": a.verdict.label,
             "statementHash": format_hex(a.statement_hash)} for a in status.attestations]})


def _override_json(override: ParameterOverride) -> dict[str, Any]:
    row = override.default
    return {"line": override.number, "id": override.line.id, "source": override.line.source,
            "target": override.target, "parameter": override.parameter,
            "unit": override.line.unit, "value": override.line.amount,
            "default": None if row is None else {"key": row.key, "value": row.value,
                                                 "decimals": row.decimals},
            "evidence": format_hex(override.line.evidence)}


def plan_text(paths: Sequence[str]) -> str:
    """The plan's meter paths on one line: their count, the path levels they share once, and
    the first :data:`PLAN_PATHS_SHOWN` paths after it."""
    if not paths:
        return "0 meters"
    shared = paths[0].split("/")[:-1]
    for path in paths[1:]:
        parts = path.split("/")[:-1]
        while shared != parts[:len(shared)]:
            shared.pop()
    prefix = "".join(f"{level}/" for level in shared)
    shown = ", ".join(path[len(prefix):] for path in paths[:PLAN_PATHS_SHOWN])
    more = (f", ... and {len(paths) - PLAN_PATHS_SHOWN} more (--json lists every path)"
            if len(paths) > PLAN_PATHS_SHOWN else "")
    return (f"{len(paths)} meter(s)" + (f" under {prefix}" if prefix else "") + ": " + shown
            + more)


def print_outcomes(outcomes: Sequence[VerifyOutcome], *, as_json: bool,
                   chain_checked: bool, max_ok_lines: int | None = None) -> int:
    """Print one line per file (at most ``max_ok_lines`` successes) and a summary; return how
    many failed."""
    shown_ok = 0
    for outcome in outcomes:
        if outcome.ok and not as_json and max_ok_lines is not None:
            shown_ok += 1
            if shown_ok > max_ok_lines:
                continue
        if as_json:
            print(json.dumps({"file": str(outcome.path), "ok": outcome.ok, **outcome.fields}))
            continue
        f = outcome.fields
        if not outcome.ok:
            print(f"FAIL  {outcome.path}: step '{f['step']}' failed: {f['detail']}")
            continue
        if f["kind"] == "report":
            print(f"OK    {outcome.path}: report {f['reportHash']} of {f['enterprise']}"
                  f"{'' if f['site'] is None else ' at ' + f['site']}, {f['period']['label']}, "
                  f"{f['methodology']}: {f['measuredLines']} measured and {f['manualLines']} "
                  f"manual line(s), {f['batches']} batch(es); total {f['total']} g CO2e")
            print(f"      plan: {plan_text(f['plan'])}")
            for text in f["notes"]:
                print(f"      note: {text}")
            for text in f["warnings"]:
                print(f"      WARNING: {text}")
            continue
        note = "  SAMPLE (offline domain, never valid on a chain)" if f["sample"] else ""
        what = (f"batch file, all {f['leafCount']} leaves" if f["kind"] == "batch"
                else f"{f['readings']} reading(s)")
        print(f"OK    {outcome.path}: {what} of {f['device']} in batch #{f['batchSeq']}, "
              f"root {f['root']}{note}")
        for text in f["notes"]:
            print(f"      note: {text}")
    failed = sum(not o.ok for o in outcomes)
    if not as_json and max_ok_lines is not None and shown_ok > max_ok_lines:
        hidden = shown_ok - max_ok_lines
        print(f"...   and {hidden} more OK" if max_ok_lines
              else f"OK    {hidden} file(s), not listed one by one")
    unsigned = sum(o.ok and not o.fields["headerSigned"] for o in outcomes)
    if not as_json and unsigned:
        print(f"NOTE  {unsigned} verified file(s) unsigned-header (version 1): their batchSeq, "
              "leafCount and time span are not authenticated offline"
              + (" (the chain vouched for them)" if chain_checked else ""))
    if not as_json:
        print(_summary_line(len(outcomes) - failed, failed, chain_checked=chain_checked))
    return failed


#: The last line's words when the chain was not read: a file VALID offline may still be
#: unanchored, anchored by another device, revoked, or a report never submitted.
CHAIN_NOT_CHECKED = "chain not checked (give --rpc and --deployment)"


def _summary_line(valid: int, failed: int, *, chain_checked: bool) -> str:
    """The last line of ``mrv bundle verify``: how many files are VALID, offline and against
    the chain, or offline only with the chain plainly not checked, and how many FAILED."""
    line = f"{valid} of {valid + failed} file(s) VALID offline"
    if chain_checked:
        line += " and against the chain"
    if failed:
        line += f", {failed} FAILED"
    return line if chain_checked else f"{line}: {CHAIN_NOT_CHECKED}"
