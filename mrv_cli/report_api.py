"""The ledger API as ``mrv report`` uses it: fetch a report document, post an attestation
statement, and ``mrv report activity add|list|withdraw`` (manual activity data with evidence).

Requests go with ``Authorization: Bearer <key>`` (``--api-key``, docs/api.md "Access"); a
problem document comes back as :class:`ledger_api.errors.ApiRequestFailed` naming the route, the
status, the check and the detail (exit 2).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import httpx

from accounting_rules.reports import LIMITS, ReportDocument, canonical_bytes, loads_report
from accounting_rules.reports.fields import check_entered_text
from accounting_rules.reports.manual import (
    MAX_EVIDENCE_BYTES,
    check_evidence_file,
    evidence_hash,
    manual_amount,
    media_type_of,
)
from accounting_rules.reports.statement import AttestationStatement, statement_bytes
from accounting_rules.reports.struct import report_hash
from ledger_api.errors import ApiRequestFailed
from mrv_core.codec import format_hex, parse_hex
from mrv_core.errors import ConfigError
from mrv_core.files import read_regular_file, require_parent_directory, write_new_file

from .dates import parse_period
from .options import EXIT_OK, add_option

__all__ = ["add_api_options", "call", "client", "create_report", "enter_activity", "fetch_document",
           "post_statement", "register_activity", "register_create"]

TIMEOUT_S = 30.0


def add_api_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    add_option(parser, "--api", "MRV_API_URL", required=required, metavar="URL",
               help="the ledger API, e.g. http://127.0.0.1:8000")
    add_option(parser, "--api-key", "MRV_API_KEY", metavar="KEY",
               help="API key of the principal acting (sent as a bearer token)")


def client(args: argparse.Namespace) -> httpx.Client:
    """A client of ``--api`` sending ``--api-key``."""
    if not args.api:
        raise ConfigError("--api URL is required here")
    if not args.api_key:
        raise ConfigError("--api-key KEY is required with --api")
    if not args.api_key.isascii() or not args.api_key.isprintable() or " " in args.api_key:
        raise ConfigError("--api-key: an API key is printable ASCII without spaces")
    try:
        url = httpx.URL(args.api)
    except (httpx.InvalidURL, ValueError) as exc:
        raise ConfigError(f"--api: not a URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"--api: expected an http(s)://host[:port] URL, got {args.api!r:.80}")
    return httpx.Client(base_url=url, timeout=TIMEOUT_S, trust_env=False,
                        headers={"Authorization": f"Bearer {args.api_key}"})


def call(api: httpx.Client, method: str, path: str, *, expect: tuple[int, ...] = (200,),
          **kwargs: Any) -> httpx.Response:
    """``method path`` on ``api``; the response when its status is in ``expect``, else
    :class:`ApiRequestFailed` naming the route, the status and the problem's title and detail
    (also when the API cannot be reached)."""
    what = f"{method} {path}"
    try:
        response = api.request(method, path, **kwargs)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ApiRequestFailed(what, f"the API could not be reached: {exc}") from None
    if response.status_code not in expect:
        try:
            problem = response.json()
            detail = f"{problem.get('title', '')} {problem.get('detail', '')}".strip()
        except (ValueError, AttributeError):
            detail = response.text[:200]
        raise ApiRequestFailed(what, f"HTTP {response.status_code}: {detail}",
                               response.status_code)
    return response


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiRequestFailed(what, "the answer is not a JSON object")
    return body


def fetch_document(api: httpx.Client, wanted: bytes) -> ReportDocument:
    """The report document the API holds for report hash ``wanted`` (parsed strictly), checked
    to hash to it: the API is not trusted with what the enterprise signs."""
    path = f"/v1/reports/{format_hex(wanted)}/document"
    response = call(api, "GET", path)
    if len(response.content) > LIMITS.document_bytes:
        raise ApiRequestFailed(f"GET {path}", "the document is over its size limit")
    doc = loads_report(response.content)
    if report_hash(doc) != wanted:
        raise ApiRequestFailed(f"GET {path}", f"the document hashes to "
                               f"{format_hex(report_hash(doc))}, not {format_hex(wanted)}")
    return doc


def post_statement(api: httpx.Client, statement: AttestationStatement) -> None:
    """Post ``statement`` to the report's attestations (the API keeps it once the chain holds
    the attestation)."""
    call(api, "POST", f"/v1/reports/{format_hex(statement.report)}/attestations",
          expect=(200, 201), content=statement_bytes(statement),
          headers={"Content-Type": "application/json"})


# -- mrv report create ------------------------------------------------------------------------


def register_create(sub: Any) -> None:
    create = sub.add_parser(
        "create", help="have the ledger API build a report (measured and manual lines)",
        description="The ledger builds the trustmrv-report/1 document of a site (or the whole "
                    "enterprise) and calendar period under the methodology version in force, "
                    "keeps it, and returns its report hash; submit it with `mrv report submit "
                    "REPORT_HASH --api ...`.")
    add_api_options(create, required=True)
    create.add_argument("--site", metavar="PATH", help="enterprise/site (default: the whole "
                                                       "enterprise)")
    create.add_argument("--period", required=True, metavar="PERIOD",
                        help="2026, 2026-10, 2026-10-15 or 2026-10-15T08")
    create.add_argument("--zone", default="Asia/Shanghai", metavar="ZONE",
                        help="IANA time zone of the period (default Asia/Shanghai)")
    create.add_argument("--methodology", required=True, metavar="ID",
                        help="methodology id, e.g. cn.machinery")
    create.add_argument("--supersedes", metavar="REPORT_HASH",
                        help="the report this one corrects")
    create.add_argument("--out", type=Path, metavar="FILE",
                        help="also write the document here (a new file)")
    create.set_defaults(handler=_create)


def create_report(api: httpx.Client, body: dict[str, Any]) -> tuple[bytes, ReportDocument]:
    """``POST /v1/reports`` with ``body`` (``{site, period, zone, methodology, supersedes}``):
    the report hash the ledger gives and the document it keeps, fetched and checked to hash to
    it (:func:`fetch_document`). Raises :class:`ApiRequestFailed`."""
    made = _json(call(api, "POST", "/v1/reports", expect=(201,), json=body),
                 "POST /v1/reports")
    hash_ = made.get("reportHash")
    if not isinstance(hash_, str):
        raise ApiRequestFailed("POST /v1/reports", "the answer has no reportHash")
    wanted = parse_hex(hash_, 32, field="reportHash")
    return wanted, fetch_document(api, wanted)


def _create(args: argparse.Namespace) -> int:
    if args.supersedes is not None:
        parse_hex(args.supersedes, 32, field="--supersedes")
    if args.out is not None:
        require_parent_directory(args.out, "--out")
    body = {"site": args.site, "period": args.period, "zone": args.zone,
            "methodology": args.methodology, "supersedes": args.supersedes}
    with client(args) as api:
        hash_, doc = create_report(api, body)
    if args.out is not None:
        write_new_file(args.out, canonical_bytes(doc), 0o644)
    print(f"created    report {format_hex(hash_)} ({len(doc.measured)} measured, "
          f"{len(doc.manual)} manual line(s))")
    print(f"totals     scope 1 {doc.totals.scope1:,} g, scope 2 {doc.totals.scope2:,} g, "
          f"total {doc.totals.total:,} g CO2e")
    return EXIT_OK


# -- mrv report activity ----------------------------------------------------------------------


def register_activity(sub: Any) -> None:
    activity = sub.add_parser(
        "activity", help="manual activity data with evidence, through the ledger API",
        description="Activity data from invoices and purchase ledgers: the evidence file (PDF, "
                    "PNG or JPEG) is stored and its keccak256 goes into the report.")
    actions = activity.add_subparsers(dest="activity_command", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="enter an activity with its evidence file")
    add_api_options(add, required=True)
    add.add_argument("--site", required=True, metavar="PATH", help="enterprise/site")
    add.add_argument("--source", required=True, metavar="CODE",
                     help="emission source, e.g. fuel.natural_gas")
    add.add_argument("--amount", required=True, metavar="AMOUNT",
                     help='amount with its unit, e.g. "10000 Nm3" (converted exactly into the '
                          "source's integer unit)")
    add.add_argument("--period", required=True, metavar="PERIOD",
                     help="2026-10, 2026-10-15 or START/END: the period the activity belongs "
                          "to (Beijing time unless an offset is given)")
    add.add_argument("--evidence", required=True, type=Path, metavar="FILE",
                     help="the evidence file (PDF, PNG or JPEG, at most 16 MiB)")
    add.add_argument("--description", default="", metavar="TEXT",
                     help="what the evidence is, e.g. the invoice number")
    add.set_defaults(handler=_add)

    listing = actions.add_parser("list", help="the activities entered")
    add_api_options(listing, required=True)
    listing.add_argument("--site", metavar="PATH", help="only this site")
    listing.set_defaults(handler=_list)

    withdraw = actions.add_parser("withdraw", help="withdraw an activity (it stays on record)")
    add_api_options(withdraw, required=True)
    withdraw.add_argument("id", metavar="ID", help="the activity's id")
    withdraw.set_defaults(handler=_withdraw)


def enter_activity(api: httpx.Client, *, site: str, source: str, amount: int, start: int,
                   end: int, content: bytes, name: str, description: str
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Upload the evidence file ``content`` (``POST /v1/evidence``, checked stored under its
    keccak256), then enter the activity (``POST /v1/activities``): ``amount`` in ``source``'s
    integer unit, for ``[start, end)`` (Unix s). Returns (the stored evidence, the activity) as
    the API answers them. Raises :class:`ApiRequestFailed`, and the
    :class:`~accounting_rules.errors.ReportError` of a file that is no PDF, PNG or JPEG
    (:func:`~accounting_rules.reports.manual.check_evidence_file`), before anything is sent."""
    media_type = check_evidence_file(content)
    stored = _json(call(api, "POST", "/v1/evidence", expect=(200, 201), content=content,
                         params={"name": name}, headers={"Content-Type": media_type}),
                   "POST /v1/evidence")
    if stored.get("hash") != format_hex(evidence_hash(content)):
        raise ApiRequestFailed("POST /v1/evidence", f"the API stored {stored.get('hash')}, "
                               f"the file hashes to {format_hex(evidence_hash(content))}")
    body = {"site": site, "source": source, "amount": str(amount), "periodStart": start,
            "periodEnd": end, "evidence": stored["hash"], "description": description}
    entered = _json(call(api, "POST", "/v1/activities", expect=(201,), json=body),
                    "POST /v1/activities")
    return stored, entered


def _add(args: argparse.Namespace) -> int:
    amount = manual_amount(args.source, args.amount)
    start, end = parse_period(args.period)
    # The ledger's checks of the free text, before anything is sent.
    check_entered_text(args.evidence.name, "the --evidence file's name", LIMITS.evidence_name)
    check_entered_text(args.description, "--description", LIMITS.description, empty=True,
                       lines=True)
    content = read_regular_file(args.evidence, MAX_EVIDENCE_BYTES)
    with client(args) as api:  # enter_activity checks the file before anything is sent
        stored, entered = enter_activity(api, site=args.site, source=args.source,
                                         amount=amount, start=start, end=end, content=content,
                                         name=args.evidence.name,
                                         description=args.description)
    print(f"entered    activity {entered.get('id')}: {args.source} {amount} "
          f"{entered.get('unit')} for {args.site}")
    print(f"evidence   {stored['hash']} ({media_type_of(content)}, {len(content):,} bytes)")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    params = {} if args.site is None else {"site": args.site}
    with client(args) as api:
        found = _json(call(api, "GET", "/v1/activities", params=params), "GET /v1/activities")
    print(json.dumps(found, indent=2, ensure_ascii=False))
    return EXIT_OK


def _withdraw(args: argparse.Namespace) -> int:
    if not args.id.isdigit():
        raise ConfigError(f"ID is an activity's number, got {args.id!r:.40}")
    with client(args) as api:
        done = _json(call(api, "POST", f"/v1/activities/{args.id}/withdraw"),
                     "POST /v1/activities/{id}/withdraw")
    print(f"withdrawn  activity {done.get('id')} at {done.get('withdrawnAt')}")
    return EXIT_OK
