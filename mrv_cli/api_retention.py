"""``mrv api retention``: delete data past the minimum retention, on purpose and logged
(docs/api.md, "Retention"; :mod:`ledger_api.retention`).

- ``purge --enterprise ADDRESS --before YYYY-MM-DD --reason TEXT [--confirm]``: the final
  batches of the enterprise's devices whose data ended before that day (00:00 UTC), with their
  readings, records, leaves and anchor rows. Without ``--confirm`` a dry run: the same report,
  nothing deleted. With it, one transaction and one audit row (actor ``cli operator <login>``).
- ``log [--enterprise ADDRESS]``: the audit rows, oldest first.

The minimum retention comes from ``MRV_RETENTION_YEARS`` (default 10, never below 5). Refused
with one line and exit 2: a cutoff younger than the minimum retention, an empty reason, an
enterprise with no device in the ledger, a date that is not ``YYYY-MM-DD``, a database not at
this code's schema.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime

from ledger_api.db.models import RetentionPurgeRow
from ledger_api.retention import (
    Purge,
    latest_cutoff,
    parse_cutoff,
    purge,
    purge_log,
    utc_text,
)
from ledger_api.settings import get_settings
from mrv_core.codec import format_address, parse_address

from .api_principal import ledger_transaction, operator_name
from .options import EXIT_OK

__all__ = ["register"]


def register(sub: argparse._SubParsersAction,  # type: ignore[type-arg]
             database_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``retention`` and its commands under ``mrv api``."""
    retention = sub.add_parser("retention", help="delete data past the minimum retention "
                                                 "(purge), list the purges (log)",
                               description="Retention: the ledger keeps data at least "
                                           "MRV_RETENTION_YEARS (default 10, the EU MRR's; "
                                           "never below 5, China's). Deleting is this explicit, "
                                           "logged operation (docs/api.md).")
    commands = retention.add_subparsers(dest="retention_command", required=True,
                                        metavar="COMMAND")
    run = commands.add_parser("purge", help="delete an enterprise's final batches past a "
                                            "cutoff (a dry run without --confirm)",
                              description="Delete the final batches of ENTERPRISE's devices "
                                          "whose data ended before --before, with their "
                                          "readings, records, leaves and anchors, in one "
                                          "transaction, logged. Batches not final are kept "
                                          "and counted. Without --confirm nothing is deleted.")
    run.add_argument("--enterprise", required=True, metavar="ADDRESS",
                     help="the enterprise's address (0x and 40 hex digits)")
    run.add_argument("--before", required=True, metavar="YYYY-MM-DD",
                     help="batches whose data ended before this day, 00:00 UTC (at least the "
                          "minimum retention ago)")
    run.add_argument("--reason", required=True, metavar="TEXT",
                     help="why, kept in the audit log")
    run.add_argument("--confirm", action="store_true", help="delete (default: a dry run)")
    database_option(run)
    run.set_defaults(handler=_purge)

    log = commands.add_parser("log", help="list the purges (the audit log), oldest first")
    log.add_argument("--enterprise", metavar="ADDRESS", help="only this enterprise's")
    database_option(log)
    log.set_defaults(handler=_log)


def _purge(args: argparse.Namespace) -> int:
    settings = get_settings(database_url=args.database)
    enterprise = parse_address(args.enterprise, field="--enterprise")
    cutoff = parse_cutoff(args.before)
    now = datetime.now(UTC)
    with ledger_transaction(settings) as session:
        done = purge(session, enterprise=enterprise, cutoff=cutoff, reason=args.reason,
                     actor=f"cli operator {operator_name().removeprefix('cli:')}",
                     principal_id=None, retention_years=settings.retention_years, now=now,
                     confirm=args.confirm)
    _report(done, latest_cutoff(now, settings.retention_years))
    return EXIT_OK


def _report(done: Purge, latest: int) -> None:
    if done.dry_run:
        state = "dry run: nothing deleted (--confirm to delete)"
    elif done.audit_id is None:
        state = "nothing to delete"
    else:
        state = f"deleted, audit row {done.audit_id}"
    print(f"enterprise {format_address(done.enterprise)}: {state}")
    print(f"cutoff     {utc_text(done.cutoff)} (minimum retention {done.retention_years} years: "
          f"{utc_text(latest)} at the latest)")
    verb = "would delete" if done.dry_run else "deleted"
    counts = ", ".join(f"{table} {count}" for table, count in done.counts.items())
    print(f"{verb:<10} {counts}")
    for batch in done.ranges:
        print(f"batches    {format_address(batch.device)} batchSeq {batch.first}..{batch.last}")
    if done.kept:
        kept = ", ".join(f"{state} {count}" for state, count in sorted(done.kept.items()))
        print(f"kept       {kept} (not final: kept whatever their age)")


def _describe(row: RetentionPurgeRow) -> str:
    ranges = "; ".join(f"{r['device']} {r['first']}..{r['last']}" for r in json.loads(row.ranges))
    return (f"{row.id:>5}  {row.purged_at:%Y-%m-%dT%H:%M:%SZ}  {format_address(row.enterprise)}"
            f"  before {utc_text(row.cutoff)}  ({row.retention_years} y)  by {row.actor}\n"
            f"       deleted batches {row.batches}, leaves {row.leaves}, readings "
            f"{row.readings}, records {row.records}, anchors {row.anchors}; kept "
            f"{row.kept_batches} not final\n       batches {ranges}\n       reason "
            f"{row.reason!r}")


def _log(args: argparse.Namespace) -> int:
    enterprise = None if args.enterprise is None else parse_address(args.enterprise,
                                                                     field="--enterprise")
    with ledger_transaction(get_settings(database_url=args.database)) as session:
        rows = purge_log(session, enterprise)
        lines = [_describe(row) for row in rows]
    print(f"{len(lines)} purge(s)")
    for line in lines:
        print(line)
    return EXIT_OK
