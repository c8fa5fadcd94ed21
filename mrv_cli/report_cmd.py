"""``mrv report``: submit an emission report to the ReportRegistry, attest it as a regulator, show
what the chain holds for it, and enter manual activity data with evidence through the ledger API.

The enterprise's key stays with the enterprise's operator: ``submit`` signs with a keystore file
(``--key``) a report document read from a file or fetched from the ledger API. ``attest`` writes
the regulator's ``trustmrv-attestation/1`` statement, sends its hash with the verdict, and can
save the statement (``--statement-out``, a new file written BEFORE the transaction, so no
verdict goes on chain whose statement cannot be kept) or post it to the ledger API (should the
post fail after the transaction, the error says where the statement is and how to post it
again; exit 1). See docs/contracts.md ("Reports") and docs/protocol.md section 12.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from accounting_rules.reports import LIMITS, ReportDocument, loads_report
from accounting_rules.reports.fields import check_entered_text
from accounting_rules.reports.onchain import (
    ReportStatus,
    attest_report,
    read_report,
    submit_report,
)
from accounting_rules.reports.statement import (
    AVR,
    MAX_COMMENTS,
    REASON_CODES,
    AttestationStatement,
    Verdict,
    statement_bytes,
    statement_hash,
)
from ledger_api.errors import ApiRequestFailed
from mrv_core.codec import format_address, format_hex, parse_address, parse_hex
from mrv_core.errors import ConfigError, ContractRevert
from mrv_core.files import read_regular_file, require_parent_directory, write_new_file

from . import report_api, report_render
from .chain_options import add_chain_options, add_sender_options, open_chain, open_system, sender
from .dates import show_instant
from .options import EXIT_FAILED, EXIT_OK

__all__ = ["register"]


def register(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="emission reports: submit, attest, show; manual activity data",
        description="Reports on the ReportRegistry (one Report per methodology; a correction "
                    "supersedes, both stay visible) and regulators' attestations. See "
                    "docs/contracts.md, section Reports.")
    sub = report.add_subparsers(dest="report_command", metavar="ACTION", required=True)

    submit = sub.add_parser(
        "submit", help="submit a report document with the enterprise's key",
        description="Submit the Report of a trustmrv-report/1 document (from --document FILE, "
                    "or fetched from the ledger API by its report hash) to the ReportRegistry. "
                    "The registry refuses periods not ended and methodologies not in force.")
    submit.add_argument("--document", type=Path, metavar="FILE",
                        help="the report document (JSON)")
    submit.add_argument("report_hash", nargs="?", metavar="REPORT_HASH",
                        help="instead of --document: the report to fetch from --api")
    report_api.add_api_options(submit, required=False)
    _chain_options(submit)
    add_sender_options(submit, "--key", "MRV_ENTERPRISE_KEY", "enterprise")
    submit.set_defaults(handler=_submit)

    attest = sub.add_parser(
        "attest", help="attest a report as a regulator",
        description="Write the trustmrv-attestation/1 statement (verdict, its EU AVR opinion, "
                    "reason codes, comments) and record the verdict with the statement's hash "
                    "in the ReportRegistry. Reason codes: " + ", ".join(REASON_CODES) + ".")
    attest.add_argument("report_hash", metavar="REPORT_HASH", help="the report's hash (0x...)")
    attest.add_argument("--verdict", required=True,
                        choices=[v.label.lower() for v in Verdict],
                        help="accepted (satisfactory), qualified (satisfactory with comments) "
                             "or rejected (not satisfactory)")
    attest.add_argument("--reason", action="extend", nargs="+", default=[],
                        choices=list(REASON_CODES), metavar="CODE",
                        help="reason codes (several after one --reason, or --reason repeated; "
                             "qualified and rejected need one)")
    attest.add_argument("--comment", default="", metavar="TEXT",
                        help="the regulator's comments (at most 4,000 characters)")
    attest.add_argument("--statement-out", type=Path, metavar="FILE",
                        help="also write the statement here (a new file)")
    report_api.add_api_options(attest, required=False)
    _chain_options(attest)
    add_sender_options(attest, "--key", "MRV_REGULATOR_KEY", "regulator")
    attest.set_defaults(handler=_attest)

    show = sub.add_parser("show", help="what the ReportRegistry holds for a report",
                          description="The Report, its submission, supersession and "
                                      "attestations as the ReportRegistry holds them; exit 1 "
                                      "when it holds no report with this hash.")
    show.add_argument("report_hash", metavar="REPORT_HASH", help="the report's hash (0x...)")
    _chain_options(show)
    show.set_defaults(handler=_show)

    report_api.register_create(sub)
    report_api.register_activity(sub)
    report_render.register_render(sub)


def _chain_options(parser: argparse.ArgumentParser) -> None:
    """The chain options of every chain command, and ``--rpc-url`` as another name of ``--rpc``
    (the name ``mrv api serve`` uses)."""
    add_chain_options(parser, deployment=True)
    parser.add_argument("--rpc-url", dest="rpc", metavar="URL", help="the same as --rpc")


def _hash(text: str, flag: str = "REPORT_HASH") -> bytes:
    return parse_hex(text, 32, field=flag)


def _document(args: argparse.Namespace) -> ReportDocument:
    if (args.document is None) == (args.report_hash is None):
        raise ConfigError("give either --document FILE or REPORT_HASH with --api URL")
    if args.document is not None:
        return loads_report(read_regular_file(args.document, LIMITS.document_bytes))
    with report_api.client(args) as api:
        return report_api.fetch_document(api, _hash(args.report_hash))


def _submit(args: argparse.Namespace) -> int:
    doc = _document(args)
    chain = open_chain(args)
    system = open_system(chain, args.deployment)
    enterprise = sender(chain, args.key, args.password_file, args.nonce_file)
    submitted = submit_report(system, enterprise, doc)
    print(f"submitted  report {format_hex(submitted.report_hash)}")
    print(f"block      {submitted.block_number} (transaction "
          f"{format_hex(submitted.transaction_hash)}, gas {submitted.gas_used:,})")
    print(f"period     {show_instant(doc.period.start)} .. {show_instant(doc.period.end)} "
          f"({doc.period.label})")
    print(f"totals     scope 1 {doc.totals.scope1:,} g, scope 2 {doc.totals.scope2:,} g, "
          f"total {doc.totals.total:,} g CO2e")
    return EXIT_OK


def _attest(args: argparse.Namespace) -> int:
    wanted = _hash(args.report_hash)
    if args.statement_out is not None:
        require_parent_directory(args.statement_out, "--statement-out")
        _refuse_existing(args.statement_out)
    # The statement's own checks (reasons, comments) run before any chain or key is touched.
    check_entered_text(args.comment, "--comment", MAX_COMMENTS, empty=True, lines=True)
    draft = AttestationStatement(wanted, bytes(20), Verdict.parse(args.verdict),
                                 tuple(sorted(set(args.reason))), args.comment, int(time.time()))
    if args.api is not None:
        report_api.client(args).close()  # --api and --api-key checked before sending
    chain = open_chain(args)
    system = open_system(chain, args.deployment)
    regulator = sender(chain, args.key, args.password_file, args.nonce_file)
    statement = replace(draft, regulator=parse_address(regulator.address))
    if args.statement_out is not None:
        # Kept before the transaction: an attestation whose statement cannot be written is
        # never sent (its hash would be on chain for good, the statement lost).
        _keep_statement(args.statement_out, statement_bytes(statement))
    try:
        sent = attest_report(system, regulator, statement)
    except (ContractRevert, ConfigError):
        if args.statement_out is not None:  # refused: nothing attested, the file is ours
            args.statement_out.unlink(missing_ok=True)
        raise  # any other failure may have been mined: the statement file stays
    print(f"attested   report {args.report_hash}: {statement.verdict.label} "
          f"({AVR[statement.verdict]})")
    print(f"statement  {format_hex(statement_hash(statement))}")
    print(f"block      {sent.block_number} (transaction {format_hex(sent.tx_hash)})")
    if args.statement_out is not None:
        print(f"wrote      {args.statement_out}")
    if args.api is not None:
        try:
            with report_api.client(args) as api:
                report_api.post_statement(api, statement)
        except ApiRequestFailed as exc:
            return _post_failed(args, statement, exc)
        print(f"posted     the statement to {args.api}")
    return EXIT_OK


def _refuse_existing(path: Path) -> None:
    if os.path.lexists(path):
        raise ConfigError(f"--statement-out {path}: expected a new file, got an existing one")


def _keep_statement(path: Path, data: bytes) -> None:
    _refuse_existing(path)
    try:
        write_new_file(path, data, 0o644)
    except OSError as exc:
        raise ConfigError(f"--statement-out {path}: cannot write it ({exc.strerror or exc}); "
                          f"nothing was sent") from None


def _post_failed(args: argparse.Namespace, statement: AttestationStatement,
                 exc: ApiRequestFailed) -> int:
    """The attestation is on chain but the API did not take its statement: say so, where the
    statement is, and how to post it again (exit 1)."""
    target = f"{args.api.rstrip('/')}/v1/reports/{format_hex(statement.report)}/attestations"
    if args.statement_out is None:
        print("the statement (keep it; its hash is on chain):")
        print(statement_bytes(statement).decode("utf-8"))
        source = "a file holding the statement printed above"
        at = "FILE"
    else:
        source = str(args.statement_out)
        at = str(args.statement_out)
    print(f"mrv: error: the attestation is on chain but the API did not keep its statement "
          f"({exc}); the statement is in {source}: post it again with `curl -X POST "
          f"-H 'Authorization: Bearer KEY' -H 'Content-Type: application/json' "
          f"--data-binary @{at} {target}`", file=sys.stderr)
    return EXIT_FAILED


def _show(args: argparse.Namespace) -> int:
    wanted = _hash(args.report_hash)
    system = open_system(open_chain(args), args.deployment)
    status = read_report(system, wanted)
    if status is None:
        print(f"no report {args.report_hash} in the ReportRegistry")
        return EXIT_FAILED
    for line in describe_status(status):
        print(line)
    return EXIT_OK


def describe_status(status: ReportStatus) -> list[str]:
    """The lines ``mrv report show`` prints for a report's on-chain status."""
    r = status.report
    site = "the whole enterprise" if r.site == bytes(32) else format_hex(r.site)
    lines = [
        f"report       {format_hex(status.report_hash)}",
        f"enterprise   {format_address(r.enterprise)}",
        f"site         {site}",
        f"period       {show_instant(r.period_start)} .. {show_instant(r.period_end)}",
        f"methodology  {r.methodology_id.rstrip(bytes(1)).decode('ascii', 'replace')} at "
        f"{format_address(r.methodology)}",
        f"scope 1      {r.scope1:,} g CO2e",
        f"scope 2      {r.scope2:,} g CO2e",
        f"total        {r.total:,} g CO2e",
        f"batches      {format_hex(r.batches)}",
        f"document     {format_hex(r.document)}",
        f"supersedes   {'-' if r.supersedes == bytes(32) else format_hex(r.supersedes)}",
        f"submitted    block {status.submitted_block}, {show_instant(status.submitted_at)}",
        f"superseded   {'-' if status.superseded_by is None else format_hex(status.superseded_by)}",
    ]
    if not status.attestations:
        lines.append("attestations none")
    for a in status.attestations:
        lines.append(f"attestation  {format_address(a.regulator)}: {a.verdict.label} "
                     f"({AVR[a.verdict]}), {show_instant(a.attested_at)}, statement "
                     f"{format_hex(a.statement_hash)}")
    return lines
