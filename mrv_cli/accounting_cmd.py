"""``mrv accounting``: list, show, compute with, assign, publish and audit the accounting
methodologies."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from accounting_rules import (
    OPEN_ENDED,
    AccountingError,
    Activity,
    Methodology,
    Result,
    activity,
    compute,
    load_methodology,
    methodologies,
)
from accounting_rules.publishing import (
    ENGINE,
    Resolved,
    assign_id,
    audit_registered,
    compute_on_chain,
    live_code_hash,
    publish,
    registered,
    resolve,
)
from mrv_core.chain import System
from mrv_core.codec import format_address, format_hex, parse_address, parse_hex
from mrv_core.errors import ConfigError, ContractRevert, FormatError, MethodologyError

from .chain_options import add_chain_options, add_sender_options, open_chain, open_system, sender
from .dates import parse_instant, parse_period, show_instant
from .options import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_option

__all__ = ["register"]


def register(commands: Any) -> None:
    accounting = commands.add_parser(
        "accounting",
        help="emission accounting methodologies: list, show, compute, assign, publish, audit",
        description="Methodologies as data (accounting_rules/data) and as contracts; both must "
                    "give the same integers. See docs/accounting.md.")
    sub = accounting.add_subparsers(dest="accounting_command", metavar="ACTION", required=True)

    listing = sub.add_parser("list", help="every methodology version shipped")
    listing.set_defaults(handler=_list)

    show = sub.add_parser("show", help="a methodology: formula, sources, factors and their sources")
    show.add_argument("methodology", metavar="METHODOLOGY", help="methodology id")
    show.add_argument("--version", type=int, metavar="N", help="version (default: the latest)")
    show.set_defaults(handler=_show)

    calc = sub.add_parser(
        "compute", help="emissions of activity data, by the Python calculator and, with --rpc, "
                        "by the contract; exit 1 when they differ",
        description="Compute grams CO2e for a period. Activities are SOURCE=AMOUNT[UNIT], e.g. "
                    "electricity.grid=120MWh, fuel.natural_gas=10000Nm3; deductions and "
                    "measured parameters add their evidence hash: electricity.gec=50MWh@0x<hash>.")
    add_option(calc, "--methodology", "MRV_METHODOLOGY", required=True, metavar="ID",
               help="methodology id, e.g. cn.machinery")
    add_option(calc, "--period", "MRV_PERIOD", required=True, metavar="PERIOD",
               help="2023, 2023-06, 2023-06-15 or START/END (end exclusive); Beijing time unless "
                    "an offset is given")
    which = calc.add_mutually_exclusive_group()
    which.add_argument("--at", metavar="DATE",
                       help="with --rpc: the version in force at DATE (default: the period start)")
    which.add_argument("--version", type=int, metavar="N",
                       help="this version (default: with --rpc the version in force, without it "
                            "the latest shipped)")
    calc.add_argument("--activity", action="append", required=True, metavar="SOURCE=AMOUNT",
                      help="an activity line (repeat the option for several)")
    add_chain_options(calc, deployment=True,
                      without_rpc="without it only the Python calculator runs")
    calc.set_defaults(handler=_compute)

    check = sub.add_parser(
        "audit", help="check every published version against its data file; exit 1 on any "
                      "difference",
        description="For each version the MethodologyRegistry holds (of METHODOLOGY, or of every "
                    "shipped id), show the code hash pinned at publication and the code hash at "
                    "the address now (a difference fails: the contract changed), and compare the "
                    "contract with the data file of that version: identity, spec hash, every "
                    "source, every factor row and every citation.")
    check.add_argument("methodology", metavar="METHODOLOGY", nargs="?",
                       help="methodology id (default: every shipped id)")
    add_chain_options(check, deployment=True)
    check.set_defaults(handler=_audit)

    assign = sub.add_parser(
        "assign", help="assign a methodology id to an association (consortium admin only)",
        description="Assign METHODOLOGY to the association ADDRESS in the MethodologyRegistry: "
                    "only that association publishes versions of it. Possible until the id's "
                    "first version is published (reassigning before then replaces it).")
    assign.add_argument("methodology", metavar="METHODOLOGY", help="methodology id")
    assign.add_argument("association", metavar="ADDRESS",
                        help="the association account (it holds ASSOCIATION_ROLE)")
    add_chain_options(assign, deployment=True)
    add_sender_options(assign, "--key", "MRV_ADMIN_KEY", "consortium admin")
    assign.set_defaults(handler=_assign)

    pub = sub.add_parser(
        "publish", help="create a methodology version, load and seal it, and register it "
                        "(the association the id is assigned to)",
        description="Create the FactorMethodology contract of a version from its data file "
                    "through the registry's MethodologyFactory (a factor table too large for one "
                    "transaction is loaded in chunks, then sealed; every transaction stays under "
                    "2**24 gas) and register it in the MethodologyRegistry, in force from "
                    "--effective-from. The consortium admin assigns the id first "
                    "(`mrv accounting assign`).")
    pub.add_argument("methodology", metavar="METHODOLOGY", help="methodology id")
    pub.add_argument("--version", type=int, metavar="N", help="version (default: the latest)")
    pub.add_argument("--effective-from", required=True, metavar="DATE",
                     help="when the version takes effect; not in the past, except for the first "
                          "version of an id, and at most 10 years after the latest block (each "
                          "later version must take effect after it, and an id cannot be "
                          "reassigned after its first version, so a far-future time would "
                          "freeze the id for ever)")
    add_chain_options(pub, deployment=True)
    add_sender_options(pub, "--key", "MRV_ASSOCIATION_KEY", "association")
    pub.set_defaults(handler=_publish)


# -- list and show --------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    print(f"{'id':<26} {'version':>7}  {'spec hash':<20} title")
    for methodology_id, version in methodologies():
        m = load_methodology(methodology_id, version)
        print(f"{m.id:<26} {m.version:>7}  {format_hex(m.spec_hash)[:18]}.. {m.title}")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    m = load_methodology(args.methodology, args.version)
    print(f"{m.id} v{m.version}: {m.title}")
    print(f"spec hash  {format_hex(m.spec_hash)}")
    if m.composed_of:
        print("composed of " + ", ".join(f"{i} v{v}" for i, v in m.composed_of))
    print()
    print(m.specification)
    print("\nSources")
    for spec in m.sources:
        formula = (" x ".join(spec.parameters) or "amount") + \
            f" x {spec.numerator} / {spec.denominator}" if spec.kind.label == "emission" \
            else f"{spec.kind.label} of {spec.target}"
        print(f"  {spec.source:<34} {spec.unit:<4} scope {spec.scope}  {formula}")
    print("\nFactors")
    for row in m.factors:
        until = "open" if row.valid_until == OPEN_ENDED else _date(row.valid_until)
        print(f"  {row.key:<30} {row.source} {row.parameter} [{_date(row.valid_from)}, {until}) "
              f"= {row.value} {row.unit} ({row.published})")
        print(f"      source: {row.citation.text()}")
        print(f"      verification: {row.citation.verification}")
    return EXIT_OK


def _date(timestamp: int) -> str:
    return show_instant(timestamp, date_only=True)


# -- compute --------------------------------------------------------------------------------------


def _compute(args: argparse.Namespace) -> int:
    start, end = parse_period(args.period)
    at = parse_instant(args.at) if args.at else start  # every argument checked before connecting
    system = None
    resolved: Resolved | None = None
    if args.rpc:
        system = open_system(open_chain(args), args.deployment)
        resolved = (_registered_version(system, args.methodology, args.version)
                    if args.version is not None
                    else _in_force(system, args.methodology, at))
        version: int | None = resolved.version
    elif args.at:
        raise ConfigError("--at resolves the version in force on chain: it needs --rpc")
    else:
        version = args.version
    m = load_methodology(args.methodology, version)
    lines = [_activity(m, text) for text in args.activity]
    report: dict[str, Any] = {"methodology": m.id, "version": m.version,
                              "specHash": format_hex(m.spec_hash),
                              "period": {"start": start, "end": end}}
    python = _attempt(lambda: compute(m, start, end, lines))
    report["python"] = _as_json(python, m, lines)
    agree = True
    if system is not None and resolved is not None:
        chain_spec = bytes(system.call(
            "eth_call", system.at(ENGINE, resolved.address).functions.specHash().call))
        report["contract"] = {"address": resolved.address,
                              "effectiveFrom": resolved.effective_from,
                              "specHashMatches": chain_spec == m.spec_hash}
        on_chain = _attempt(lambda: compute_on_chain(system, resolved.address, start, end, lines))
        report["contract"]["result"] = _as_json(on_chain, m, lines)
        agree = chain_spec == m.spec_hash and report["contract"]["result"] == report["python"]
        report["agree"] = agree
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if not agree:
        print("mrv: the contract and the Python calculator DIFFER", file=sys.stderr)
        return EXIT_FAILED
    if isinstance(python, AccountingError):
        print(f"mrv: error: {python}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _in_force(system: System, methodology_id: str, timestamp: int) -> Resolved:
    """The version in force at ``timestamp``; when there is none, a :class:`ConfigError` that
    says why (nothing published, or only later versions) and what to do."""
    try:
        return resolve(system, methodology_id, timestamp)
    except ContractRevert.named("MethodologyRegistryNoVersionInForce"):
        versions = registered(system, methodology_id)
    when = show_instant(timestamp)
    if not versions:
        raise ConfigError(
            f"no version of {methodology_id} is in force at {when}: none is published on this "
            f"chain; publish one first (`mrv accounting publish {methodology_id} "
            "--effective-from DATE`, association role)")
    raise ConfigError(
        f"no version of {methodology_id} is in force at {when}: the first published one takes "
        f"effect at {show_instant(versions[0].effective_from)}; "
        "compute a later period, or publish a version in force then")


def _registered_version(system: System, methodology_id: str, version: int) -> Resolved:
    for resolved in registered(system, methodology_id):
        if resolved.version == version:
            return resolved
    raise ConfigError(f"{methodology_id} v{version} is not published on this chain")


def _activity(m: Methodology, text: str) -> Activity:
    source, sep, quantity = text.partition("=")
    if not sep or not source or not quantity:
        raise ConfigError(f"--activity wants SOURCE=AMOUNT[UNIT][@0xEVIDENCE], got {text!r}")
    quantity, _, evidence = quantity.partition("@")
    try:
        proof = parse_hex(evidence, 32, field="evidence") if evidence else bytes(32)
        return activity(m, source.strip(), quantity.strip(), proof)
    except (MethodologyError, FormatError) as exc:
        raise ConfigError(f"--activity {text!r}: {exc}") from None


def _attempt(run: Any) -> Result | AccountingError:
    try:
        result: Result = run()
    except AccountingError as exc:
        return exc
    return result


def _as_json(outcome: Result | AccountingError, m: Methodology,
             lines: list[Activity]) -> dict[str, Any]:
    if isinstance(outcome, AccountingError):
        return {"error": type(outcome).__name__, "detail": str(outcome)}
    return {
        "activities": [{"source": line.source_code, "amount": str(line.amount),
                        "unit": m.source(str(line.source_code)).unit, "scope": e.scope,
                        "grams": str(e.grams)}
                       for line, e in zip(lines, outcome.emissions, strict=True)],
        "scope1": str(outcome.scope1), "scope2": str(outcome.scope2),
        "total": str(outcome.total),
    }


# -- audit ----------------------------------------------------------------------------------------


def _audit(args: argparse.Namespace) -> int:
    if not args.rpc:
        raise ConfigError("audit reads a chain: pass --rpc URL and --deployment FILE")
    system = open_system(open_chain(args), args.deployment)
    ids = [args.methodology] if args.methodology else sorted({i for i, _ in methodologies()})
    outcomes = audit_registered(system, ids)
    if not outcomes:
        raise ConfigError(f"no version of {' or '.join(ids)} is published on this chain")
    for version, problems in outcomes:
        where = (f"{version.methodology_id} v{version.version} at {version.address}, in force "
                 f"from {_date(version.effective_from)}")
        hashes = (f"        code hash  pinned {format_hex(version.code_hash)}\n"
                  f"                   live   "
                  f"{format_hex(live_code_hash(system, version.address))}")
        if problems is None:
            print(f"UNKNOWN {where}: no data file for this version")
            print(hashes)
            continue
        print(f"{'DIFFERS' if problems else 'OK':<7} {where}")
        print(hashes)
        for problem in problems:
            print(f"        {problem}")
    equal = sum(problems == [] for _, problems in outcomes)
    print(f"{equal} of {len(outcomes)} published version(s) equal their data files")
    return EXIT_OK if equal == len(outcomes) else EXIT_FAILED


# -- assign and publish ---------------------------------------------------------------------------


def _assign(args: argparse.Namespace) -> int:
    chain = open_chain(args)
    system = open_system(chain, args.deployment)
    admin = sender(chain, args.key, args.password_file, args.nonce_file)
    association = format_address(parse_address(args.association, field="ADDRESS"))
    if not system.has_role("ASSOCIATION_ROLE", association):
        raise ConfigError(f"{association} lacks ASSOCIATION_ROLE; grant it first with "
                          f"`mrv chain grant association {association}`")
    load_methodology(args.methodology)  # a shipped id (else UnknownMethodology, exit 2)
    sent = assign_id(system, admin, args.methodology, association)
    print(f"assigned   {args.methodology} to {association} (block {sent.block_number})")
    return EXIT_OK



def _publish(args: argparse.Namespace) -> int:
    chain = open_chain(args)
    system = open_system(chain, args.deployment)
    association = sender(chain, args.key, args.password_file, args.nonce_file)
    if not system.has_role("ASSOCIATION_ROLE", association.address):
        raise ConfigError(f"{association.address} lacks ASSOCIATION_ROLE; the consortium admin "
                          f"grants it with `mrv chain grant association {association.address}`")
    m = load_methodology(args.methodology, args.version)
    published = publish(system, association, m, parse_instant(args.effective_from),
                        progress=print)
    print(f"published  {m.id} v{m.version} at {published.address}")
    print(f"in force   from {args.effective_from} ({published.effective_from})")
    print(f"spec hash  {format_hex(m.spec_hash)}")
    print(f"code hash  {format_hex(published.code_hash)} (pinned by the registry)")
    print(f"gas        deploy {published.deploy_gas:,} in {len(published.load_gas)} "
          f"transaction(s) (" + ", ".join(f"{gas:,}" for gas in published.load_gas)
          + f"), register {published.publish_gas:,}")
    return EXIT_OK
