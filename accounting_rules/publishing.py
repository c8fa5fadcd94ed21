"""Methodologies on chain: assigning an id, deploying a version, publishing it, resolving the
one in force, auditing a published contract against its data file, and computing with it.

The consortium admin assigns each methodology id to one association (:func:`assign_id`). The
association creates one ``FactorMethodology`` per version through the registry's
``MethodologyFactory`` (its constructor arguments come from the data file, :mod:`.onchain`),
loading a factor table too large for one transaction in chunks (:func:`chunks`) before sealing it,
and publishes it in the MethodologyRegistry with the time it takes effect; the registry pins the
contract's code hash. Anyone resolves (methodology id, data time) to the version in force and
computes through the registry's ``compute`` with ``eth_call``, which checks the pinned code hash in
the same call; a revert comes back as the same typed error the Python calculator raises for the
same input, a changed contract as ``MethodologyRegistryCodeChanged``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import encode as abi_encode
from web3.logs import DISCARD

from mrv_core.chain import Sent, System, Transactor
from mrv_core.chain.artifacts import revert_data
from mrv_core.chain.backend import checksum
from mrv_core.codec import format_address, parse_address
from mrv_core.errors import (
    ChainError,
    ConfigError,
    ContractRevert,
    MrvError,
    RefusedBeforeSending,
    TransactionFailed,
)
from mrv_core.hashing import keccak256

from .calculator import Activity, Result
from .codes import decode_code, encode_code
from .errors import AccountingError, error_from_contract
from .model import Methodology
from .onchain import (
    CONSTRUCTOR_TYPES,
    ConstructorArgs,
    FactorRowTuple,
    activity_tuples,
    constructor_args,
    result_from_abi,
)
from .registry import load_methodology, methodologies

__all__ = [
    "CHUNK_ROWS",
    "MAX_EFFECTIVE_AHEAD",
    "MAX_INITCODE_BYTES",
    "Published",
    "Resolved",
    "assign_id",
    "audit",
    "audit_registered",
    "call_error",
    "check_publishable",
    "chunks",
    "citations",
    "compute_on_chain",
    "live_code_hash",
    "publish",
    "registered",
    "resolve",
]

ENGINE = "FactorMethodology"
FACTORY = "MethodologyFactory"
#: EIP-3860 (shanghai on): the most initcode a CREATE may run. The factory's CREATE carries
#: FactorMethodology's creation code and the ABI-encoded sources and first factor rows.
MAX_INITCODE_BYTES = 49_152
#: The most factor rows one transaction loads. Measured (docs/contracts.md, "Publishing a
#: version"): a row costs about 148,000 gas to load through the factory, so 60 rows cost 8.9 M
#: gas, and the heaviest creating transaction (cn.machinery: 59 sources and its first rows)
#: 11.3 M: every transaction stays a third under EIP-7825's 2**24 cap and under half a 30 M block.
CHUNK_ROWS = 60
#: EIP-7825 (osaka on): the most gas one transaction may carry. Publishing sends each
#: transaction with this limit (or the block's, when lower) after a dry run by ``eth_call``,
#: instead of estimating: py-evm estimates by bisection, a dozen executions per transaction.
MAX_TX_GAS = 2**24
#: The furthest ahead of the latest block an effective time may be: ten years of 365 days. A
#: later version must take effect after the previous one and an id cannot be reassigned after its
#: first version, so a far-future effective time would freeze the id for ever (and a date past
#: year 9999 cannot even be shown).
MAX_EFFECTIVE_AHEAD = 10 * 365 * 86_400


@dataclass(frozen=True)
class Published:
    """A methodology version created, loaded, sealed and registered.

    ``load_gas`` is the gas of each transaction that built the contract, in order: the factory's
    ``create`` (with the first rows), one ``addFactors`` per further chunk, ``seal`` when the table
    was loaded in several transactions; ``deploy_gas`` is their sum.
    """

    methodology_id: str
    version: int
    address: str
    effective_from: int
    deploy_gas: int
    publish_gas: int
    load_gas: tuple[int, ...] = ()
    code_hash: bytes = b""


@dataclass(frozen=True)
class Resolved:
    """A published version of a methodology, as the registry says: where it lives, its number,
    when it takes effect and the code hash pinned when it was published."""

    methodology_id: str
    address: str
    version: int
    effective_from: int
    code_hash: bytes


def assign_id(system: System, admin: Transactor, methodology_id: str, association: str) -> Sent:
    """Assign ``methodology_id`` to ``association`` (only it publishes versions of the id), sent by
    the consortium admin; possible until the id's first version is published. Raises the
    registry's revert (``MethodologyRegistryMissingRole``, ``MethodologyRegistryNotAnAssociation``,
    ``MethodologyRegistryIdInUse``) as a :class:`ContractRevert`."""
    return admin.send(
        system.methodologies.functions.assignId(encode_code(methodology_id), association),
        description=f"assign {methodology_id} to {association}")


def chunks(args: ConstructorArgs, creation_code_bytes: int,
           chunk_rows: int = CHUNK_ROWS) -> list[list[FactorRowTuple]]:
    """The factor rows of a methodology version (``args``: its :func:`.onchain.constructor_args`)
    in the transactions that load them: the first chunk goes to the constructor and is as long as
    EIP-3860 allows (``creation_code_bytes`` plus the encoded constructor arguments within
    :data:`MAX_INITCODE_BYTES`) up to ``chunk_rows``; the others hold ``chunk_rows`` rows each.
    Always at least one (possibly empty) chunk."""
    identity, version, spec_hash, specs, rows = args

    def initcode(count: int) -> int:
        args: ConstructorArgs = (identity, version, spec_hash, specs, rows[:count])
        return creation_code_bytes + len(abi_encode(CONSTRUCTOR_TYPES, args))

    if initcode(0) > MAX_INITCODE_BYTES:
        raise TransactionFailed(
            f"{decode_code(identity)} v{version}: its sources alone make "
            f"{initcode(0):,} bytes of initcode, over EIP-3860's {MAX_INITCODE_BYTES:,}")
    first = min(chunk_rows, len(rows))
    while first > 0 and initcode(first) > MAX_INITCODE_BYTES:
        first -= 1
    rest = rows[first:]
    return [rows[:first]] + [rest[i:i + chunk_rows] for i in range(0, len(rest), chunk_rows)]


def publish(system: System, association: Transactor, methodology: Methodology,
            effective_from: int, *, chunk_rows: int = CHUNK_ROWS,
            progress: Callable[[str], None] | None = None) -> Published:
    """Create ``methodology`` as a FactorMethodology through the registry's factory, load its
    factor table in chunks of at most ``chunk_rows`` rows (:func:`chunks`), seal it, and register
    it in force from ``effective_from`` (Unix seconds; the registry refuses a past time except for
    an id's first version). ``association`` must be the account the id is assigned to.
    ``progress`` receives one line per mined transaction, the created contract's address first.

    Raises before sending anything (:func:`check_publishable`): :class:`ConfigError` when the id
    is not assigned to ``association``; :class:`RefusedBeforeSending` for an effective time more
    than :data:`MAX_EFFECTIVE_AHEAD` seconds after the latest block; the registry's own
    :class:`ContractRevert` (``MethodologyRegistryMissingRole``,
    ``MethodologyRegistryVersionNotIncreasing``,
    ``...EffectiveTimeInPast``, ``...EffectiveTimeNotAfterPrevious``) for a version the registry
    would refuse. Else the first transaction's failure (a :class:`ContractRevert` for a revert);
    a failure or interruption after ``create`` names the unsealed contract left on chain."""
    what = f"{methodology.id} v{methodology.version}"
    check_publishable(system, association.address, methodology, effective_from)
    tell = progress or (lambda _line: None)
    factory = system.at(FACTORY, system.call(
        "eth_call", system.methodologies.functions.factory().call))
    args = constructor_args(methodology)
    parts = chunks(args, len(association.artifacts.bytecode(ENGINE)), chunk_rows)
    identity, version, spec_hash, specs, _rows = args
    created = _send(system, association,
                    factory.functions.create(identity, version, spec_hash, specs, parts[0],
                                             len(parts) > 1),
                    f"create {what}")
    events = factory.events.MethodologyCreated().process_receipt(created.receipt, errors=DISCARD)
    if len(events) != 1:
        raise TransactionFailed(f"create {what}: {len(events)} MethodologyCreated events")
    address = format_address(parse_address(str(events[0].args.methodology)))
    left = (f"{what} is left unpublished at {address} (created, not registered); a re-run "
            "starts over with a new contract")
    try:
        tell(f"created    {what} at {address} (block {created.block_number}, chunk 1 of "
             f"{len(parts)})")
        sent = [created]
        for number, part in enumerate(parts[1:], start=2):
            sent.append(_send(system, association, factory.functions.addFactors(address, part),
                              f"load {what}: chunk {number} of {len(parts)}"))
            tell(f"loaded     chunk {number} of {len(parts)} (block {sent[-1].block_number})")
        if len(parts) > 1:
            sent.append(_send(system, association, factory.functions.seal(address),
                              f"seal {what}"))
            tell(f"sealed     {address} (block {sent[-1].block_number})")
        registered = _send(system, association,
                           system.methodologies.functions.publish(identity, address,
                                                                  effective_from),
                           f"publish {what}")
    except MrvError as exc:
        exc.args = (f"{exc}; {left}",)
        raise
    except KeyboardInterrupt:
        raise KeyboardInterrupt(left) from None
    load_gas = tuple(s.gas_used for s in sent)
    pinned = bytes(system.call("eth_call",
                               system.methodologies.functions.codeHashOf(address).call))
    return Published(methodology.id, methodology.version, address, effective_from,
                     sum(load_gas), registered.gas_used, load_gas, pinned)


def check_publishable(system: System, association: str, methodology: Methodology,
                      effective_from: int) -> None:
    """Refuse, before anything is sent, a publication of ``methodology`` by ``association`` in
    force from ``effective_from`` (Unix seconds) that the registry would refuse at its final
    ``publish`` transaction, after ``create``, every chunk and ``seal`` were mined: the id's
    assignee, the sender's ``ASSOCIATION_ROLE``, the version number and effective time against
    the id's latest version and the latest block's time, and :data:`MAX_EFFECTIVE_AHEAD`.
    Errors as in :func:`publish`. (The registry checks the time again against its own block,
    later than the latest one here.)"""
    assigned = format_address(parse_address(str(system.call(
        "eth_call", system.methodologies.functions.publisherOf(encode_code(methodology.id)).call))))
    if assigned != format_address(parse_address(association)):
        holder = "no association" if int(assigned, 16) == 0 else assigned
        raise ConfigError(
            f"{methodology.id} is assigned to {holder}, not to {association}: the "
            f"consortium admin assigns it first (`mrv accounting assign {methodology.id} "
            f"{association}`)")
    what = f"publish {methodology.id} v{methodology.version}"
    if not system.has_role("ASSOCIATION_ROLE", association):
        raise _refused(what, "MethodologyRegistryMissingRole",
                       {"account": association, "role": system.role("ASSOCIATION_ROLE")},
                       f"{association} no longer holds ASSOCIATION_ROLE")
    now = system.chain.latest_timestamp()
    if effective_from > now + MAX_EFFECTIVE_AHEAD:
        raise RefusedBeforeSending(
            f"{what}: effective time {effective_from} is {effective_from - now:,} s after the "
            f"latest block ({now}), more than the {MAX_EFFECTIVE_AHEAD:,} s (10 years) allowed: "
            "every later version must take effect after it, so the id would be frozen; nothing "
            "was sent")
    versions = registered(system, methodology.id)
    if not versions:
        return
    previous = versions[-1]
    code = encode_code(methodology.id)
    if methodology.version <= previous.version:
        raise _refused(what, "MethodologyRegistryVersionNotIncreasing",
                       {"id": code, "previous": previous.version, "given": methodology.version},
                       f"v{previous.version} is the latest published version, so the next must "
                       f"be above it, not v{methodology.version}")
    if effective_from < now:
        raise _refused(what, "MethodologyRegistryEffectiveTimeInPast",
                       {"effectiveFrom": effective_from, "now_": now},
                       f"a later version takes effect at or after the latest block's time {now}, "
                       f"not at {effective_from}")
    if effective_from <= previous.effective_from:
        raise _refused(what, "MethodologyRegistryEffectiveTimeNotAfterPrevious",
                       {"previous": previous.effective_from, "given": effective_from},
                       f"v{previous.version} takes effect at {previous.effective_from}, so this "
                       f"version must take effect after it, not at {effective_from}")


def _refused(what: str, error: str, args: dict[str, object], why: str) -> ContractRevert:
    """The registry's revert ``error(args)``, raised before sending anything."""
    revert = ContractRevert.of(error, args)
    revert.args = (f"{what}: refused before sending anything, the registry would have {revert}: "
                   f"{why}",)
    return revert


def _send(system: System, sender: Transactor, call: Any, description: str) -> Sent:
    """``call`` sent by ``sender`` with a gas limit of :data:`MAX_TX_GAS` (or the latest block's
    limit, when lower), after one dry run by ``eth_call`` that raises a revert as a
    :class:`ContractRevert` (:func:`call_error`) before anything is sent."""
    chain = sender.chain
    try:
        chain.retrying("eth_call", lambda: call.call({"from": sender.address}))
    except MrvError:
        raise
    except Exception as exc:
        raise call_error(system, exc, description) from None
    block_limit = int(chain.retrying("eth_getBlockByNumber",
                                     lambda: chain.w3.eth.get_block("latest"))["gasLimit"])
    return sender.send(call, description=description, gas=min(MAX_TX_GAS, block_limit))


def resolve(system: System, methodology_id: str, timestamp: int) -> Resolved:
    """The version of ``methodology_id`` in force at ``timestamp``. Raises the registry's
    ``MethodologyRegistryNoVersionInForce`` as a :class:`ContractRevert` when there is none, and
    ``MethodologyRegistryCodeChanged`` when the code at its address no longer hashes to the
    pinned hash."""
    functions = system.methodologies.functions
    function = functions.resolve(encode_code(methodology_id), timestamp)
    try:
        address, number, effective_from = system.call("eth_call", function.call)
    except ChainError:
        raise
    except Exception as exc:
        raise call_error(system, exc, f"resolve {methodology_id} at {timestamp}") from None
    pinned = system.call("eth_call", functions.codeHashOf(address).call)
    return _resolved(methodology_id, (address, number, effective_from, pinned))


def registered(system: System, methodology_id: str) -> list[Resolved]:
    """Every version of ``methodology_id`` the registry holds, in publication order."""
    functions = system.methodologies.functions
    code = encode_code(methodology_id)
    count = int(system.call("eth_call", functions.versionCount(code).call))
    return [_resolved(methodology_id, system.call("eth_call", functions.versionAt(code, i).call))
            for i in range(count)]


def _resolved(methodology_id: str, version: Sequence[Any]) -> Resolved:
    """A registry ``Version`` (methodology, version, effectiveFrom, codeHash) as web3 returns it."""
    address, number, effective_from, code_hash = version
    return Resolved(methodology_id, format_address(parse_address(str(address))), int(number),
                    int(effective_from), bytes(code_hash))


def live_code_hash(system: System, address: str) -> bytes:
    """keccak256 of the code at ``address`` now (what ``EXTCODEHASH`` returns for an account with
    code), to compare with the hash the registry pinned."""
    code = system.call("eth_getCode", lambda: system.chain.w3.eth.get_code(checksum(address)))
    return keccak256(bytes(code))


def audit_registered(system: System, methodology_ids: Iterable[str]
                     ) -> list[tuple[Resolved, list[str] | None]]:
    """:func:`audit` of every version the registry holds of each id: each with what differs
    from its data file, or ``None`` when no data file of that version is shipped. A version
    whose code no longer hashes to the pinned hash differs whatever its data: its audit is that
    one problem (nothing the changed code answers can be trusted)."""
    shipped = set(methodologies())
    outcomes: list[tuple[Resolved, list[str] | None]] = []
    for methodology_id in methodology_ids:
        for resolved in registered(system, methodology_id):
            key = (methodology_id, resolved.version)
            live = live_code_hash(system, resolved.address)
            if live != resolved.code_hash:
                outcomes.append((resolved, [
                    f"code hash: 0x{live.hex()} at the address, 0x{resolved.code_hash.hex()} "
                    "pinned at publication: the contract changed"]))
                continue
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
    """``compute`` of the published methodology contract at ``address``, by ``eth_call`` to the
    registry's ``compute``, which checks the code hash pinned at publication in the same call.

    A compute revert raises the :class:`AccountingError` the Python calculator raises for the
    same input (``MethodologyNoFactorForPeriod`` -> ``NoFactorForPeriod``, panic 0x11 ->
    ``AccountingOverflow`` ...); an unpublished address raises ``MethodologyRegistryNotPublished``
    and changed code ``MethodologyRegistryCodeChanged`` (as :class:`ContractRevert`); anything else
    raises the chain error.
    """
    function = system.methodologies.functions.compute(address, period_start, period_end,
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
