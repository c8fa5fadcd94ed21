"""Methodologies on chain: deploying a version, publishing it, resolving the one in force,
auditing a published contract against its data file, and computing with the contract.

An association deploys one immutable ``FactorMethodology`` per methodology version (its
constructor arguments come from the data file, :mod:`.onchain`) and publishes it in the
MethodologyRegistry with the time it takes effect. Anyone resolves (methodology id, data time)
to the version in force and calls its ``compute`` with ``eth_call``; a revert comes back as the
same typed error the Python calculator raises for the same input.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mrv_core.chain import System, Transactor
from mrv_core.chain.artifacts import revert_data
from mrv_core.codec import format_address, parse_address
from mrv_core.errors import ChainError, ContractRevert

from .calculator import Activity, Result
from .codes import decode_code, encode_code
from .errors import AccountingError, error_from_contract
from .model import Methodology
from .onchain import activity_tuples, constructor_args, result_from_abi
from .registry import load_methodology, methodologies

__all__ = [
    "Published",
    "Resolved",
    "audit",
    "audit_registered",
    "call_error",
    "citations",
    "compute_on_chain",
    "publish",
    "registered",
    "resolve",
]

ENGINE = "FactorMethodology"


@dataclass(frozen=True)
class Published:
    """A methodology version deployed and registered."""

    methodology_id: str
    version: int
    address: str
    effective_from: int
    deploy_gas: int
    publish_gas: int


@dataclass(frozen=True)
class Resolved:
    """The version of a methodology in force at a time, as the registry says."""

    methodology_id: str
    address: str
    version: int
    effective_from: int


def publish(system: System, association: Transactor, methodology: Methodology,
            effective_from: int) -> Published:
    """Deploy ``methodology`` as a FactorMethodology and register it, in force from
    ``effective_from`` (Unix seconds; the registry refuses a past time except for an id's first
    version)."""
    contract, deployed = association.deploy(ENGINE, *constructor_args(methodology))
    registered = association.send(
        system.methodologies.functions.publish(encode_code(methodology.id), contract.address,
                                               effective_from),
        description=f"publish {methodology.id} v{methodology.version}")
    return Published(methodology.id, methodology.version, str(contract.address), effective_from,
                     deployed.gas_used, registered.gas_used)


def resolve(system: System, methodology_id: str, timestamp: int) -> Resolved:
    """The version of ``methodology_id`` in force at ``timestamp`` (raises the registry's
    ``MethodologyRegistryNoVersionInForce`` as a :class:`ContractRevert` when there is none)."""
    function = system.methodologies.functions.resolve(encode_code(methodology_id), timestamp)
    try:
        version = system.call("eth_call", function.call)
    except ChainError:
        raise
    except Exception as exc:
        raise call_error(system, exc, f"resolve {methodology_id} at {timestamp}") from None
    return _resolved(methodology_id, version)


def registered(system: System, methodology_id: str) -> list[Resolved]:
    """Every version of ``methodology_id`` the registry holds, in publication order."""
    functions = system.methodologies.functions
    code = encode_code(methodology_id)
    count = int(system.call("eth_call", functions.versionCount(code).call))
    return [_resolved(methodology_id, system.call("eth_call", functions.versionAt(code, i).call))
            for i in range(count)]


def _resolved(methodology_id: str, version: Sequence[Any]) -> Resolved:
    """A registry ``Version`` (methodology, version, effectiveFrom) as web3 returns it."""
    address, number, effective_from = version
    return Resolved(methodology_id, format_address(parse_address(str(address))), int(number),
                    int(effective_from))


def audit_registered(system: System, methodology_ids: Iterable[str]
                     ) -> list[tuple[Resolved, list[str] | None]]:
    """:func:`audit` of every version the registry holds of each id: each with what differs
    from its data file, or ``None`` when no data file of that version is shipped."""
    shipped = set(methodologies())
    outcomes: list[tuple[Resolved, list[str] | None]] = []
    for methodology_id in methodology_ids:
        for resolved in registered(system, methodology_id):
            key = (methodology_id, resolved.version)
            outcomes.append((resolved, audit(system, resolved.address, load_methodology(*key))
                             if key in shipped else None))
    return outcomes


def audit(system: System, address: str, methodology: Methodology) -> list[str]:
    """What the methodology contract at ``address`` holds that differs from ``methodology`` (its
    data file): identity, spec hash, every source spec, every factor row and every citation its
    constructor emitted. An empty list: the contract is exactly the data file."""
    functions = system.at(ENGINE, address).functions

    def view(function: Any) -> Any:
        return _plain(system.call("eth_call", function.call))

    identity, version, spec_hash, specs, rows = constructor_args(methodology)
    problems = [
        f"{name}: {_shown(got)} on chain, {_shown(expected)} in the data file"
        for name, got, expected in (
            ("methodologyId", view(functions.methodologyId()), identity),
            ("version", view(functions.version()), version),
            ("specHash", view(functions.specHash()), spec_hash))
        if got != expected]
    codes = view(functions.sources())
    if codes != [spec[0] for spec in specs]:
        problems.append(f"sources: {len(codes)} on chain, {len(specs)} in the data file, or in "
                        "another order")
    for spec in specs:
        if spec[0] in codes and view(functions.sourceSpec(spec[0])) != spec:
            problems.append(f"source {_text(spec[0])}: its spec differs")
    keys = view(functions.factorKeys())
    if keys != [row[0] for row in rows]:
        problems.append(f"factor keys: {len(keys)} on chain, {len(rows)} in the data file, or in "
                        "another order")
    cited = citations(system, address)
    for row in rows:
        key, stored, citation = row[0], row[1:8], row[8]
        if key not in keys:
            continue
        got = view(functions.factor(key))
        if got != stored:
            problems.append(f"factor {_text(key)}: {_row_text(got)} on chain, "
                            f"{_row_text(stored)} in the data file")
        if cited.get(_text(key)) != citation:
            problems.append(f"factor {_text(key)}: its citation differs")
    return problems


def _plain(value: Any) -> Any:
    """A value web3 decoded, as :mod:`.onchain` builds it: bytes, tuples for structs, lists for
    arrays."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    return bytes(value) if isinstance(value, (bytes, bytearray)) else value


def _text(code: bytes) -> str:
    """A code for a message: its text, or ``0x`` hex when the bytes hold no code."""
    return decode_code(code) or "0x" + code.hex()


def _row_text(row: Sequence[Any]) -> str:
    _source, parameter, valid_from, valid_until, value, decimals, unit = row
    return (f"{_text(parameter)} {value} {_text(unit)} (decimals {decimals}) "
            f"[{valid_from}, {valid_until})")


def _shown(value: object) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


def citations(system: System, address: str) -> dict[str, str]:
    """The citation of every factor of the methodology contract at ``address``, by factor key, as
    its constructor emitted them (``FactorCited`` events; citations are not kept in storage)."""
    event = system.at(ENGINE, address).events.FactorCited()
    logs = system.call("eth_getLogs", lambda: event.get_logs(from_block=0))
    return {_text(bytes(log.args.key)): str(log.args.citation) for log in logs}


def compute_on_chain(system: System, address: str, period_start: int, period_end: int,
                     activities: Sequence[Activity]) -> Result:
    """``compute`` of the methodology contract at ``address`` by ``eth_call``.

    A compute revert raises the :class:`AccountingError` the Python calculator raises for the
    same input (``MethodologyNoFactorForPeriod`` -> ``NoFactorForPeriod``, panic 0x11 ->
    ``AccountingOverflow`` ...); anything else raises the chain error.
    """
    function = system.at(ENGINE, address).functions.compute(period_start, period_end,
                                                             activity_tuples(activities))
    try:
        value = system.call("eth_call", function.call)
    except ChainError:
        raise
    except Exception as exc:
        raise call_error(system, exc, "compute") from None
    return result_from_abi(value)


def call_error(system: System, exc: Exception, what: str) -> AccountingError | ChainError:
    """The error to raise for ``exc``, raised by a call to a methodology or the registry: the
    calculator's :class:`AccountingError` for a compute revert the calculator also knows, the
    decoded :class:`ContractRevert` for any other revert, else a :class:`ChainError`."""
    data = revert_data(exc)
    if data is None:
        return ChainError(f"{what}: {exc}")
    error = system.artifacts.decode_revert(data)
    if isinstance(error, ContractRevert):
        accounting = error_from_contract(error.error, error.args_by_name)
        if accounting is not None:
            return accounting
    error.args = (f"{what}: {error}",)
    return error
