"""``mrv api plan``: an enterprise's monitoring plan, straight in the ledger's database
(docs/api.md, "Monitoring plan and recompute"; :mod:`ledger_api.recompute.plan`).

- ``set --enterprise ADDRESS FILE``: replace the plan by FILE, JSON in the body form of
  ``PUT /v1/plan`` (``{"points": [{"meterPath", "source", "quantity", "counterModulus",
  "maxRate"}]}``, read strictly: no duplicate key, no float, at most 256 KiB), under the same
  rules, in one transaction (updated by ``cli operator <login>``).
- ``show --enterprise ADDRESS [--site enterprise/site] [--json]``: the plan, one line per
  point, or the JSON of ``GET /v1/plan``.

Refused with one line and exit 2: a file that is not such JSON, a line the plan rules refuse
(naming it), an enterprise level another enterprise's plan holds, a database not at this
code's schema.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ledger_api.bodies import JSON_BODY_DEPTH, JSON_BODY_LIMIT, validate_model
from ledger_api.errors import RequestRefused
from ledger_api.recompute.plan import check_plan, format_rate, replace_plan, stored_plan
from ledger_api.recompute.plan_route import PlanBody, plan_model
from ledger_api.settings import get_settings
from mrv_core.codec import format_address, parse_address
from mrv_core.files import read_regular_file
from mrv_core.strict_json import loads_strict

from .api_principal import ledger_transaction, operator_name
from .options import EXIT_OK

__all__ = ["register"]


def register(sub: argparse._SubParsersAction,  # type: ignore[type-arg]
             database_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``plan`` and its commands under ``mrv api``."""
    plan = sub.add_parser("plan", help="an enterprise's monitoring plan: set it, show it",
                          description="The monitoring plan: the metering points whose "
                                      "cumulative quantities feed emission sources, with their "
                                      "counter rules (docs/api.md).")
    commands = plan.add_subparsers(dest="plan_command", required=True, metavar="COMMAND")
    put = commands.add_parser("set", help="replace an enterprise's plan by a JSON file",
                              description="Replace ENTERPRISE's monitoring plan by FILE (the "
                                          "body of PUT /v1/plan), checked as the API checks "
                                          "it, in one transaction.")
    put.add_argument("--enterprise", required=True, metavar="ADDRESS",
                     help="the enterprise's address (0x and 40 hex digits)")
    put.add_argument("file", type=Path, metavar="FILE",
                     help='{"points": [{"meterPath", "source", "quantity", "counterModulus", '
                          '"maxRate"}]}')
    database_option(put)
    put.set_defaults(handler=_set)
    show = commands.add_parser("show", help="show an enterprise's plan")
    show.add_argument("--enterprise", required=True, metavar="ADDRESS",
                      help="the enterprise's address (0x and 40 hex digits)")
    show.add_argument("--site", metavar="ENTERPRISE/SITE", help="only the points of a site")
    show.add_argument("--json", action="store_true", help="the JSON of GET /v1/plan")
    database_option(show)
    show.set_defaults(handler=_show)


def _set(args: argparse.Namespace) -> int:
    enterprise = parse_address(args.enterprise, field="--enterprise")
    document = loads_strict(read_regular_file(args.file, JSON_BODY_LIMIT),
                            max_bytes=JSON_BODY_LIMIT, max_depth=JSON_BODY_DEPTH)
    try:
        body = validate_model(PlanBody, document)
        points = check_plan([line.model_dump() for line in body.points])
    except RequestRefused as exc:  # the API's refusal, told with the file and the JSON path
        where = f" at {exc.path}" if exc.path and not exc.detail.startswith(exc.path[2:]) else ""
        exc.args = (f"{args.file}: {exc.detail}{where}",)
        raise
    with ledger_transaction(get_settings(database_url=args.database)) as session:
        replace_plan(session, enterprise, points,
                     actor=f"cli operator {operator_name().removeprefix('cli:')}",
                     now=datetime.now(UTC))
    print(f"enterprise {format_address(enterprise)}: plan of {len(points)} point(s) stored")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    enterprise = parse_address(args.enterprise, field="--enterprise")
    with ledger_transaction(get_settings(database_url=args.database)) as session:
        plan = stored_plan(session, enterprise, args.site)
    if args.json:
        print(json.dumps(plan_model(enterprise, plan).model_dump(mode="json"), indent=2))
        return EXIT_OK
    when = "never set" if plan.updated_at is None else \
        f"set {plan.updated_at:%Y-%m-%dT%H:%M:%SZ} by {plan.updated_by}"
    print(f"enterprise {format_address(enterprise)}: {len(plan.points)} point(s), {when}")
    for p in plan.points:
        modulus = "never wraps" if p.counter_modulus is None else f"wraps at {p.counter_modulus}"
        rate = "" if p.max_rate is None else f", max rate {format_rate(p.max_rate)}/s"
        print(f"  {p.meter_path}  {p.source}  {p.quantity}  {modulus}{rate}")
    return EXIT_OK
