"""Reports on chain: submit a report (the enterprise's key), attest it (a regulator's key), read
its record, its supersession and its attestations.

The ReportRegistry (``contracts/interfaces/IReportRegistry.sol``) stores a Report under its
EIP-712 struct hash (:func:`.struct.report_hash`) and never overwrites one: a corrected report is
a new report whose ``supersedes`` names the old one, and both stay readable (the old one's
record gains ``supersededBy``). It refuses periods that have not ended, a methodology that is not
the version the MethodologyRegistry resolves for the period's start, a sender without the role;
those refusals come back before anything is sent, as the registry's custom errors
(:class:`mrv_core.errors.ContractRevert`; ``mrv_cli.reverts`` adds the remedy).
"""

from __future__ import annotations

from dataclasses import dataclass

from mrv_core.chain import Sent, System, Transactor
from mrv_core.codec import format_address, format_hex, parse_address
from mrv_core.eip712 import Domain
from mrv_core.errors import ConfigError

from ..codes import ZERO32
from ..errors import SupersessionMismatch
from .document import ReportDocument
from .statement import AttestationStatement, Verdict, statement_hash
from .struct import Report, report_hash, report_of

__all__ = [
    "AttestationRecord",
    "ReportStatus",
    "Submitted",
    "attest_report",
    "read_report",
    "report_domain",
    "submit_report",
]


@dataclass(frozen=True, slots=True)
class Submitted:
    """A report mined: its hash, the transaction and its block."""

    report_hash: bytes
    transaction_hash: bytes
    block_number: int
    gas_used: int


@dataclass(frozen=True, slots=True)
class AttestationRecord:
    """One regulator's attestation as the registry keeps it."""

    regulator: bytes
    verdict: Verdict
    attested_at: int
    statement_hash: bytes


@dataclass(frozen=True, slots=True)
class ReportStatus:
    """What the registry holds for a report: the Report, when it was submitted, the report that
    supersedes it (``None`` while none does) and the attestations in the order given."""

    report_hash: bytes
    report: Report
    submitted_block: int
    submitted_at: int
    superseded_by: bytes | None
    attestations: tuple[AttestationRecord, ...]


def report_domain(system: System) -> Domain:
    """The EIP-712 domain of the deployment's ReportRegistry (its ``reportDigest``)."""
    return Domain(system.chain.chain_id, parse_address(system.reports.address))


def submit_report(system: System, enterprise: Transactor,
                  report: ReportDocument | Report) -> Submitted:
    """Submit ``report`` (a document: its Report, :func:`.struct.report_of`) from the
    enterprise's account.

    Raises :class:`ConfigError` when the sender is not the report's enterprise (before anything
    is sent) and the registry's refusals as :class:`~mrv_core.errors.ContractRevert`:
    ``ReportRegistryMissingRole``, ``...PeriodNotEnded``, ``...InvalidPeriod``,
    ``...MethodologyMismatch``, ``MethodologyRegistryNoVersionInForce``, ``...ReportExists``,
    ``...UnknownReport``/``...ForeignReport``/``...AlreadySuperseded`` for a bad ``supersedes``;
    :class:`~accounting_rules.errors.SupersessionMismatch` (before anything is sent) when
    ``supersedes`` is a report on chain of another enterprise, site, period or methodology id.
    """
    struct = report_of(report) if isinstance(report, ReportDocument) else report
    if parse_address(enterprise.address) != struct.enterprise:
        raise ConfigError(f"the report is {format_address(struct.enterprise)}'s, the key is "
                          f"{enterprise.address}'s: an enterprise submits only its own reports")
    _check_supersedes(system, struct)
    expected = report_hash(struct)
    sent = enterprise.send(system.reports.functions.submitReport(struct.as_abi()),
                           description=f"submit report {format_hex(expected)}")
    return Submitted(expected, sent.tx_hash, sent.block_number, sent.gas_used)


#: The Report fields a correction shares with the report it supersedes.
_SAME_SCOPE = ("enterprise", "site", "period_start", "period_end", "methodology_id")


def _check_supersedes(system: System, report: Report) -> None:
    """Raise :class:`SupersessionMismatch` when ``report.supersedes`` is a report on chain of
    another enterprise, site, period or methodology id. The registry checks only the
    enterprise (docs/contracts.md "Reports"); an unknown hash is left to its
    ``ReportRegistryUnknownReport``."""
    if report.supersedes == ZERO32:
        return
    previous = read_report(system, report.supersedes)
    if previous is None:
        return
    for field in _SAME_SCOPE:
        held, given = getattr(previous.report, field), getattr(report, field)
        if held != given:
            raise SupersessionMismatch(format_hex(report.supersedes), field, _show(held),
                                       _show(given))


def _show(value: bytes | int) -> str:
    return str(value) if isinstance(value, int) else format_hex(value)


def attest_report(system: System, regulator: Transactor,
                  statement: AttestationStatement) -> Sent:
    """Record ``statement``'s verdict on its report with its hash, from the regulator's account.

    Raises :class:`ConfigError` when the sender is not the statement's regulator, and the
    registry's refusals as :class:`~mrv_core.errors.ContractRevert`
    (``ReportRegistryMissingRole``, ``...UnknownReport``, ``...AlreadyAttested``,
    ``...SelfAttestation``)."""
    if parse_address(regulator.address) != statement.regulator:
        raise ConfigError(f"the statement is {format_address(statement.regulator)}'s, the key is "
                          f"{regulator.address}'s")
    return regulator.send(
        system.reports.functions.attestReport(statement.report, int(statement.verdict),
                                              statement_hash(statement)),
        description=f"attest report {format_hex(statement.report)}")


def read_report(system: System, hash_: bytes) -> ReportStatus | None:
    """The registry's record of report ``hash_`` with its attestations, or ``None`` when it
    holds no such report (``eth_call`` only)."""
    functions = system.reports.functions
    if not system.call("eth_call", functions.reportExists(hash_).call):
        return None
    report, block, at, superseded_by = system.call("eth_call",
                                                   functions.reportRecord(hash_).call)
    attestations = []
    for regulator in system.call("eth_call", functions.attestersOf(hash_).call):
        verdict, attested_at, statement = system.call(
            "eth_call", functions.attestation(hash_, regulator).call)
        attestations.append(AttestationRecord(parse_address(str(regulator)), Verdict(verdict),
                                              int(attested_at), bytes(statement)))
    superseded = bytes(superseded_by)
    return ReportStatus(hash_, Report.from_abi(report), int(block), int(at),
                        None if superseded == ZERO32 else superseded, tuple(attestations))
