"""Methodologies on chain: deploying a version, publishing it, resolving the one in force,
auditing a published contract against its data file, and computing with the contract.

An association deploys one immutable ``FactorMethodology`` per methodology version (its
constructor arguments come from the data file, :mod:`.onchain`) and publishes it in the
MethodologyRegistry with the time it takes effect. Anyone resolves (methodology id, data time)
to the version in force and calls its ``compute`` with ``eth_call``; a revert comes back as the
same typed error the Python calculator raises for the same input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mrv_core.chain import System, Transactor
from mrv_core.chain.artifacts import revert_data
from mrv_core.chain.backend import checksum
from mrv_core.codec import format_address
from mrv_core.errors import ChainError, ContractRevert

from .calculator import Activity, Result
from .codes import encode_code
from .errors import AccountingError, error_from_contract
from .model import Methodology
from .onchain import activity_tuples, constructor_args, result_from_abi

__all__ = [
    "Published",
    "Resolved",
    "audit",
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
        address, version, effective_from = system.call("eth_call", function.call)
    except ChainError:
        raise
    except Exception as exc:
        raise _decoded(system, exc, f"resolve {methodology_id} at {timestamp}") from None
    return Resolved(methodology_id, format_address(bytes.fromhex(str(address)[2:])),
                    int(version), int(effective_from))


def registered(system: System, methodology_id: str) -> list[Resolved]:
    """Every version of ``methodology_id`` the registry holds, in publication order."""
    functions = system.methodologies.functions
    code = encode_code(methodology_id)
    count = int(system.call("eth_call", functions.versionCount(code).call))
    versions = []
    for index in range(count):
        address, number, effective = system.call("eth_call", functions.versionAt(code, index).call)
        versions.append(Resolved(methodology_id, format_address(bytes.fromhex(str(address)[2:])),
                                 int(number), int(effective)))
    return versions


def audit(system: System, address: str, methodology: Methodology) -> list[str]:
    """What the methodology contract at ``address`` holds that differs from ``methodology`` (its
    data file): identity, spec hash, every source spec, every factor row and every citation its
    constructor emitted. An empty list: the contract is exactly the data file."""
    functions = system.chain.w3.eth.contract(address=checksum(address),
                                             abi=system.artifacts.abi(ENGINE)).functions

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
    return code.rstrip(b"\0").decode("ascii", errors="replace")


def _row_text(row: Sequence[Any]) -> str:
    _source, parameter, valid_from, valid_until, value, decimals, unit = row
    return (f"{_text(parameter)} {value} {_text(unit)} (decimals {decimals}) "
            f"[{valid_from}, {valid_until})")


def _shown(value: object) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


def citations(system: System, address: str) -> dict[str, str]:
    """The citation of every factor of the methodology contract at ``address``, by factor key, as
    its constructor emitted them (``FactorCited`` events; citations are not kept in storage)."""
    contract = system.chain.w3.eth.contract(address=checksum(address),
                                            abi=system.artifacts.abi(ENGINE))
    logs = system.call("eth_getLogs",
                       lambda: contract.events.FactorCited().get_logs(from_block=0))
    return {_text(bytes(log.args.key)): str(log.args.citation) for log in logs}


def compute_on_chain(system: System, address: str, period_start: int, period_end: int,
                     activities: Sequence[Activity]) -> Result:
    """``compute`` of the methodology contract at ``address`` by ``eth_call``.

    A compute revert raises the :class:`AccountingError` the Python calculator raises for the
    same input (``MethodologyNoFactorForPeriod`` -> ``NoFactorForPeriod``, panic 0x11 ->
    ``AccountingOverflow`` ...); anything else raises the chain error.
    """
    contract = system.chain.w3.eth.contract(address=checksum(address),
                                            abi=system.artifacts.abi(ENGINE))
    function = contract.functions.compute(period_start, period_end,
                                          activity_tuples(activities))
    try:
        value = system.call("eth_call", function.call)
    except ChainError:
        raise
    except Exception as exc:
        raise _decoded(system, exc, "compute") from None
    return result_from_abi(value)


def _decoded(system: System, exc: Exception, what: str) -> AccountingError | ChainError:
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
