"""What a rendered report shows beside its document: on-chain status, attestations, anchors.

A report document (``trustmrv-report/1``) is fixed once hashed; what happened to it afterwards
lives on chain: its submission (transaction and block), the report that supersedes it, the
regulators' attestations and the anchor transactions of its batches. :class:`RenderContext`
carries these for :func:`accounting_rules.reports.render.render_html`; every field is optional,
and the rendered report says "not given" where one is missing rather than guessing. (The report
hash is not among them: it is the document's, computed by ``struct.report_hash``.)

As JSON (``mrv report render --context FILE``) it is the object ``trustmrv-report-context/1``,
read as strictly as the report document (``_codec``: exactly these fields, canonical spellings,
integers as base-10 strings); an attestation is what the registry holds (regulator, verdict,
time, statement hash) with, when known, the regulator's whole statement (``trustmrv-attestation/1``,
:mod:`.statement`), which must hash to the one on chain. :meth:`RenderContext.from_status` builds
a context from ``onchain.read_report``::

    {"format": "trustmrv-report-context/1",
     "submission": {"txHash": "0x<32>" | null, "block": "12"} | null,
     "supersededBy": "0x<32>" | null,
     "attestations": [{"regulator": "0xEIP55", "verdict": "Accepted" | "Qualified" | "Rejected",
                       "attestedAt": "1793600000", "statementHash": "0x<32>",
                       "statement": {"format": "trustmrv-attestation/1", ...} | null,
                       "tx": {"txHash": "0x<32>", "block": "13"} | null}],
     "anchors": [{"device": "0xEIP55", "batchSeq": "4",
                  "tx": {"txHash": "0x<32>", "block": "9"}}],
     "verify": {"bundle": "report-bundle.json", "rpcUrl": "http://127.0.0.1:8545",
                "deployment": "deployment.json"} | null}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final

from mrv_core.codec import UINT64_MAX, format_address, format_hex
from mrv_core.errors import FormatError
from mrv_core.strict_json import loads_strict

from ._codec import (
    ADDRESS,
    BYTES32,
    Kind,
    array,
    check_fields,
    decode_record,
    encode_record,
    nested,
    optional,
    text,
    uint,
)
from .statement import (
    AVR,
    AttestationStatement,
    Verdict,
    decode_statement,
    encode_statement,
    statement_hash,
)

if TYPE_CHECKING:
    from .onchain import ReportStatus

__all__ = [
    "CONTEXT_FORMAT",
    "AnchorRef",
    "AttestationRef",
    "RenderContext",
    "TxRef",
    "VerifyHints",
    "decode_context",
    "encode_context",
    "loads_context",
]

CONTEXT_FORMAT: Final = "trustmrv-report-context/1"
#: Bounds of a context file: its bytes, the lists, the longest string (an attestation comment).
MAX_CONTEXT_BYTES: Final = 8 * 1024 * 1024
MAX_ANCHORS: Final = 30_000  # as many as a document's batches
MAX_ATTESTATIONS: Final = 100
MAX_STRING: Final = 4_000
U64 = uint(UINT64_MAX)


@dataclass(frozen=True, slots=True)
class TxRef:
    """A transaction: its hash (``None`` when only its block is known, as the registry's record
    of a submission tells) and the number of the block holding it."""

    tx_hash: bytes | None
    block: int
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("txHash", "tx_hash", optional(BYTES32)), ("block", "block", U64))

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True, slots=True)
class AnchorRef:
    """The anchor transaction of one batch ``(device, batch_seq)`` of the document."""

    device: bytes
    batch_seq: int
    tx: TxRef
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("device", "device", ADDRESS), ("batchSeq", "batch_seq", U64),
        ("tx", "tx", nested(TxRef)))

    def __post_init__(self) -> None:
        check_fields(self)


def _check_statement(value: object, name: str) -> AttestationStatement:
    if not isinstance(value, AttestationStatement):
        raise FormatError(name, f"expected an AttestationStatement, got {type(value).__name__}")
    return value


def _decode_statement(value: object, where: str) -> AttestationStatement:
    """:func:`decode_statement` with its error's JSON path placed under ``where``."""
    try:
        return decode_statement(value)
    except FormatError as exc:
        inner = exc.where[1:] if exc.where.startswith("$") else f".{exc.where}"
        raise type(exc)(f"{where}{inner}", exc.problem) from None


STATEMENT = Kind(_check_statement, encode_statement, _decode_statement)
_LABELS = {verdict.label: verdict for verdict in Verdict}


def _check_verdict(value: object, name: str) -> Verdict:
    if not isinstance(value, Verdict):
        raise FormatError(name, f"expected a Verdict, got {value!r:.40}")
    return value


def _decode_verdict(value: object, where: str) -> Verdict:
    if not isinstance(value, str) or value not in _LABELS:
        raise FormatError(where, f"expected one of {', '.join(_LABELS)}, got {value!r:.40}")
    return _LABELS[value]


VERDICT = Kind(_check_verdict, lambda v: v.label, _decode_verdict)


@dataclass(frozen=True, slots=True)
class AttestationRef:
    """One regulator's attestation as the registry keeps it (regulator, verdict, when, the
    statement's hash), the statement itself when known (``trustmrv-attestation/1``: reasons,
    comments; it must hash to ``statement_hash`` and name the same regulator and verdict) and
    the transaction that recorded it (``None``: not given)."""

    regulator: bytes
    verdict: Verdict
    attested_at: int
    statement_hash: bytes
    statement: AttestationStatement | None
    tx: TxRef | None
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("regulator", "regulator", ADDRESS), ("verdict", "verdict", VERDICT),
        ("attestedAt", "attested_at", U64), ("statementHash", "statement_hash", BYTES32),
        ("statement", "statement", optional(STATEMENT)), ("tx", "tx", optional(nested(TxRef))))

    def __post_init__(self) -> None:
        check_fields(self)
        s = self.statement
        if s is None:
            return
        if statement_hash(s) != self.statement_hash:
            raise FormatError("statement", f"hashes to {format_hex(statement_hash(s))}, the "
                                           f"registry holds {format_hex(self.statement_hash)}")
        if (s.regulator, s.verdict) != (self.regulator, self.verdict):
            raise FormatError("statement", f"is {format_address(s.regulator)}'s "
                                           f"{s.verdict.label}, the registry holds "
                                           f"{format_address(self.regulator)}'s "
                                           f"{self.verdict.label}")

    @property
    def avr(self) -> str:
        """The EU AVR kind of opinion of the verdict (``statement.AVR``)."""
        return AVR[self.verdict]


@dataclass(frozen=True, slots=True)
class VerifyHints:
    """What the report's "how to verify" names: the report bundle's file and the chain's
    JSON-RPC URL and deployment file. Shown as given (text, escaped), never opened."""

    bundle: str
    rpc_url: str
    deployment: str
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("bundle", "bundle", text(1_000)), ("rpcUrl", "rpc_url", text(1_000)),
        ("deployment", "deployment", text(1_000)))

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True, slots=True)
class RenderContext:
    """The optional extras of a rendered report (module docstring); all empty by default."""

    submission: TxRef | None = None
    superseded_by: bytes | None = None
    attestations: tuple[AttestationRef, ...] = ()
    anchors: tuple[AnchorRef, ...] = ()
    verify: VerifyHints | None = None
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("submission", "submission", optional(nested(TxRef))),
        ("supersededBy", "superseded_by", optional(BYTES32)),
        ("attestations", "attestations", array(nested(AttestationRef), MAX_ATTESTATIONS)),
        ("anchors", "anchors", array(nested(AnchorRef), MAX_ANCHORS)),
        ("verify", "verify", optional(nested(VerifyHints))))

    def __post_init__(self) -> None:
        check_fields(self)
        keys = [(a.device, a.batch_seq) for a in self.anchors]
        if len(set(keys)) != len(keys):
            raise FormatError("anchors", "a batch (device, batchSeq) is listed twice")

    @classmethod
    def from_status(cls, status: ReportStatus, statements: Iterable[AttestationStatement] = (),
                    *, submission_tx: bytes | None = None, anchors: Iterable[AnchorRef] = (),
                    verify: VerifyHints | None = None) -> RenderContext:
        """The context of what the registry holds for a report (``onchain.read_report``): its
        submission block (and transaction, when given), the report superseding it, and every
        attestation with its statement among ``statements`` (matched by hash; ``None`` when
        not among them), plus the batches' ``anchors`` and the ``verify`` names."""
        by_hash = {statement_hash(s): s for s in statements}
        return cls(
            submission=TxRef(submission_tx, status.submitted_block),
            superseded_by=status.superseded_by,
            attestations=tuple(
                AttestationRef(a.regulator, a.verdict, a.attested_at, a.statement_hash,
                               by_hash.get(a.statement_hash), None)
                for a in status.attestations),
            anchors=tuple(anchors), verify=verify)

    def anchor(self, device: bytes, batch_seq: int) -> TxRef | None:
        """The anchor transaction of batch ``(device, batch_seq)``, if given."""
        return next((a.tx for a in self.anchors
                     if (a.device, a.batch_seq) == (device, batch_seq)), None)


def encode_context(context: RenderContext) -> dict[str, Any]:
    """The JSON object of ``context``."""
    return {"format": CONTEXT_FORMAT, **encode_record(context)}


def decode_context(obj: object) -> RenderContext:
    """A context from its parsed JSON object, strictly; :class:`FormatError` at the JSON path of
    the first problem."""
    if not isinstance(obj, dict):
        raise FormatError("$", "expected a JSON object")
    if obj.get("format") != CONTEXT_FORMAT:
        raise FormatError("$.format", f"expected {CONTEXT_FORMAT!r}, got "
                                      f"{obj.get('format')!r:.60}")
    return decode_record(RenderContext, obj, "$", extra=("format",))


def loads_context(data: bytes) -> RenderContext:
    """The context in ``data`` (UTF-8 JSON, bounded: :data:`MAX_CONTEXT_BYTES`, strings of at
    most :data:`MAX_STRING` characters): :func:`decode_context`."""
    return decode_context(loads_strict(data, max_bytes=MAX_CONTEXT_BYTES, max_string=MAX_STRING))
