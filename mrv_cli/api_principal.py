"""``mrv api principal``: who may call the ledger API (docs/api.md, "Access: principals, roles
and keys").

- ``add --name N --role R [--enterprise ADDRESS]``: a new principal and its API key, printed
  once (the ledger keeps only its HMAC under ``MRV_API_SECRET``, which must be set);
- ``list [--all]``: the principals (``--all``: revoked ones too), their key ids and, for a
  regulator, the enterprises granted to it;
- ``revoke ID``: the principal and its keys stop working at once;
- ``new-key ID`` / ``revoke-key KEY_ID``: rotate a principal's keys (the new key printed once);
- ``grant ID ENTERPRISE`` / ``ungrant ID ENTERPRISE``: let a regulator see an enterprise's data,
  or stop it.

Each works on the database of ``--database`` (``MRV_DATABASE_URL``), which must be at this
code's schema (``mrv api migrate``). Bad input (an unknown id, an enterprise that does not fit
the role, a malformed address) is one line and exit 2.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from ledger_api.access.keys import key_id_of
from ledger_api.access.principals import Role
from ledger_api.access.store import (
    Listed,
    add_key,
    add_principal,
    grant_enterprise,
    list_principals,
    revoke_grant,
    revoke_key,
    revoke_principal,
)
from ledger_api.db.engine import make_engine, make_sessions
from ledger_api.db.migrate import check_current
from ledger_api.settings import ApiSettings, get_settings
from mrv_core.codec import format_address, parse_address

from .options import EXIT_OK

__all__ = ["ledger_transaction", "operator_name", "register"]

_ID = re.compile(r"[0-9]{1,18}")


def _principal_id(text: str) -> int:
    """An argparse ``type``: a principal id, ASCII digits only."""
    if not _ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected a principal id (a number from `mrv api "
                                         f"principal list`), got {text!r:.40}")
    return int(text)


def register(sub: argparse._SubParsersAction,  # type: ignore[type-arg]
             database_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``principal`` and its commands under ``mrv api``."""
    principal = sub.add_parser("principal", help="who may call the API: add, list, revoke, "
                                                 "grant, ungrant, new-key, revoke-key",
                               description="Principals (callers of the API with a role and "
                                           "an API key) and regulators' grants.")
    commands = principal.add_subparsers(dest="principal_command", required=True,
                                        metavar="COMMAND")
    add = commands.add_parser("add", help="add a principal and print its API key once",
                              description="Add a principal and print its API key. The key is "
                                          "shown once and stored nowhere: only its HMAC under "
                                          "MRV_API_SECRET is kept.")
    add.add_argument("--name", required=True, help="a unique name (1 to 200 characters)")
    add.add_argument("--role", required=True, choices=[r.value for r in Role],
                     help="what it may see (docs/api.md)")
    add.add_argument("--enterprise", metavar="ADDRESS",
                     help="the enterprise it acts for (required for enterprise_admin, "
                          "enterprise_reader and device; not for regulator or association)")
    database_option(add)
    add.set_defaults(handler=_add)

    listing = commands.add_parser("list", help="list the principals and regulators' grants")
    listing.add_argument("--all", action="store_true", help="revoked principals too")
    database_option(listing)
    listing.set_defaults(handler=_list)

    revoke = commands.add_parser("revoke", help="revoke a principal and its keys")
    revoke.add_argument("id", type=_principal_id, metavar="ID")
    database_option(revoke)
    revoke.set_defaults(handler=_revoke)

    another = commands.add_parser("new-key", help="another key for a principal, printed once",
                                  description="Another API key for an active principal "
                                              "(rotation: revoke the old one with revoke-key "
                                              "once its callers use the new one).")
    another.add_argument("id", type=_principal_id, metavar="ID")
    database_option(another)
    another.set_defaults(handler=_new_key)

    drop = commands.add_parser("revoke-key", help="revoke one key of a principal")
    drop.add_argument("key_id", metavar="KEY_ID", help="16 hex digits (principal list)")
    database_option(drop)
    drop.set_defaults(handler=_revoke_key)

    for name, handler, text in (("grant", _grant, "let a regulator see an enterprise's data"),
                                ("ungrant", _ungrant, "end a regulator's grant")):
        command = commands.add_parser(name, help=text, description=text[0].upper() + text[1:]
                                      + ".")
        command.add_argument("id", type=_principal_id, metavar="REGULATOR_ID")
        command.add_argument("enterprise", metavar="ENTERPRISE",
                             help="the enterprise's address (0x and 40 hex digits)")
        database_option(command)
        command.set_defaults(handler=handler)


@contextmanager
def ledger_transaction(settings: ApiSettings) -> Iterator[Session]:
    """A transaction on the settings' database, refusing one not at this code's schema (the
    ``mrv api`` commands that change the ledger: principals, retention)."""
    engine = make_engine(settings.database_url, must_exist=True)
    try:
        check_current(engine)
        with make_sessions(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


def operator_name() -> str:
    """``cli:<login name>`` of whoever runs the command (``cli`` without one), for audit rows."""
    try:
        return f"cli:{getpass.getuser()}"[:200]
    except (OSError, KeyError):  # no login name in this environment
        return "cli"


def _add(args: argparse.Namespace) -> int:
    settings = get_settings(database_url=args.database)
    secret = settings.server_secret()
    enterprise = None if args.enterprise is None else parse_address(args.enterprise,
                                                                     field="--enterprise")
    with ledger_transaction(settings) as session:
        principal, key = add_principal(session, name=args.name, role=Role(args.role),
                                       enterprise=enterprise, server_secret=secret,
                                       now=_now())
    scope = "" if enterprise is None else f" of {format_address(enterprise)}"
    print(f"principal {principal.id}: {principal.name} ({principal.role.value}{scope})")
    _show_key(key)
    return EXIT_OK


def _show_key(key: str) -> None:
    print(f"api key   {key}")
    print("mrv: warning: this API key is shown once and stored nowhere (the ledger keeps only "
          "its HMAC): save it now; send it as `Authorization: Bearer <key>`", file=sys.stderr)


def _new_key(args: argparse.Namespace) -> int:
    settings = get_settings(database_url=args.database)
    secret = settings.server_secret()
    with ledger_transaction(settings) as session:
        key = add_key(session, args.id, server_secret=secret, now=_now())
    print(f"principal {args.id}: new key {key_id_of(key)}")
    _show_key(key)
    return EXIT_OK


def _revoke_key(args: argparse.Namespace) -> int:
    with ledger_transaction(get_settings(database_url=args.database)) as session:
        principal_id = revoke_key(session, args.key_id, now=_now())
    print(f"principal {principal_id}: key {args.key_id} revoked")
    return EXIT_OK


def _describe(entry: Listed) -> Iterator[str]:
    p = entry.principal
    enterprise = format_address(p.enterprise) if p.enterprise is not None else "-"
    revoked = f"revoked {p.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if p.revoked_at else "active"
    keys = ",".join(entry.key_ids) or "-"
    yield (f"{p.id:>5}  {p.role.value:<17}  {enterprise:<42}  "
           f"{p.created_at:%Y-%m-%dT%H:%M:%SZ}  {revoked:<28}  keys {keys}  {p.name}")
    for g in entry.grants:
        yield (f"{'':>5}  grant {format_address(g.enterprise)} since "
               f"{g.granted_at:%Y-%m-%dT%H:%M:%SZ} by {g.granted_by}")


def _list(args: argparse.Namespace) -> int:
    with ledger_transaction(get_settings(database_url=args.database)) as session:
        entries = list_principals(session, include_revoked=args.all)
    print(f"{'id':>5}  {'role':<17}  {'enterprise':<42}  {'created':<20}  {'state':<28}  "
          "keys  name")
    for entry in entries:
        for line in _describe(entry):
            print(line)
    return EXIT_OK


def _revoke(args: argparse.Namespace) -> int:
    with ledger_transaction(get_settings(database_url=args.database)) as session:
        principal = revoke_principal(session, args.id, now=_now())
    print(f"principal {principal.id}: {principal.name} revoked, with its keys")
    return EXIT_OK


def _grant(args: argparse.Namespace) -> int:
    enterprise = parse_address(args.enterprise, field="ENTERPRISE")
    with ledger_transaction(get_settings(database_url=args.database)) as session:
        grant, new = grant_enterprise(session, args.id, enterprise, by=operator_name(), now=_now())
    state = "granted" if new else f"already granted since {grant.granted_at:%Y-%m-%dT%H:%M:%SZ}"
    print(f"principal {args.id}: {format_address(enterprise)} {state}")
    return EXIT_OK


def _ungrant(args: argparse.Namespace) -> int:
    enterprise = parse_address(args.enterprise, field="ENTERPRISE")
    with ledger_transaction(get_settings(database_url=args.database)) as session:
        revoke_grant(session, args.id, enterprise, now=_now())
    print(f"principal {args.id}: grant of {format_address(enterprise)} ended")
    return EXIT_OK
