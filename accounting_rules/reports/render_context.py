"""What a rendered report shows beside its document: on-chain status, attestations, anchors.

A report document (``trustmrv-report/1``) is fixed once hashed; what happened to it afterwards
lives on chain: its submission (transaction and block), the report that supersedes it, the
regulators' attestations and the anchor transactions of its batches. :class:`RenderContext`
carries these for :func:`accounting_rules.reports.render.render_html`; every field is optional,
and the rendered report says "not given" where one is missing rather than guessing.

As JSON (``mrv report render --context FILE``) it is the object ``trustmrv-report-context/1``,
read as strictly as the report document (``_codec``: exactly these fields, canonical spellings,
integers as base-10 strings)::

    {"format": "trustmrv-report-context/1",
     "reportHash": "0x<32>" | null,
     "submission": {"txHash": "0x<32>", "block": "12"} | null,
     "supersededBy": "0x<32>" | null,
     "attestations": [{"regulator": "0xEIP55", "verdict": "Accepted",
                       "avr": "satisfactory", "statementHash": "0x<32>",
                       "reasons": ["CODE"], "comments": "text",
                       "tx": {"txHash": "0x<32>", "block": "13"} | null}],
     "anchors": [{"device": "0xEIP55", "batchSeq": "4", "tx": {"txHash": "0x<32>",
                  "block": "9"}}],
     "verify": {"bundle": "report-bundle.json", "rpcUrl": "http://127.0.0.1:8545",
                "deployment": "deployment.json"} | null}

The verdict's AVR kind is fixed (spec of issue 11, section 3; EU Implementing Regulation
2018/2067): Accepted = satisfactory, Qualified = satisfactory with comments, Rejected = not
satisfactory; a context that pairs them otherwise is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

from mrv_core.codec import UINT64_MAX
from mrv_core.errors import FormatError
from mrv_core.strict_json import loads_strict

from ._codec import (
    ADDRESS,
    BYTES32,
    CODE,
    Kind,
    array,
    check_fields,
    decode_record,
    encode_record,
    enum,
    nested,
    optional,
    text,
    uint,
)

__all__ = [
    "AVR_KINDS",
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
#: Verdict -> EU AVR kind (Implementing Regulation 2018/2067), fixed by the spec of issue 11.
AVR_KINDS: Final = {"Accepted": "satisfactory", "Qualified": "satisfactory with comments",
                    "Rejected": "not satisfactory"}
#: Bounds of a context file: its bytes, the lists, the longest string (an attestation comment).
MAX_CONTEXT_BYTES: Final = 8 * 1024 * 1024
MAX_ANCHORS: Final = 30_000  # as many as a document's batches
MAX_ATTESTATIONS: Final = 100
MAX_REASONS: Final = 32
MAX_STRING: Final = 4_000
U64 = uint(UINT64_MAX)


@dataclass(frozen=True, slots=True)
class TxRef:
    """A transaction: its hash and the number of the block holding it."""

    tx_hash: bytes
    block: int
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("txHash", "tx_hash", BYTES32), ("block", "block", U64))

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


@dataclass(frozen=True, slots=True)
class AttestationRef:
    """One regulator's attestation: verdict, its AVR kind, the statement (hash, reason codes,
    comments) and the transaction that put it on chain (``None``: not given)."""

    regulator: bytes
    verdict: str
    avr: str
    statement_hash: bytes
    reasons: tuple[str, ...]
    comments: str
    tx: TxRef | None
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("regulator", "regulator", ADDRESS), ("verdict", "verdict", enum(*AVR_KINDS)),
        ("avr", "avr", enum(*AVR_KINDS.values())),
        ("statementHash", "statement_hash", BYTES32),
        ("reasons", "reasons", array(CODE, MAX_REASONS)),
        ("comments", "comments", text(MAX_STRING, empty=True, lines=True)),
        ("tx", "tx", optional(nested(TxRef))))

    def __post_init__(self) -> None:
        check_fields(self)
        if AVR_KINDS[self.verdict] != self.avr:
            raise FormatError("avr", f"verdict {self.verdict} is AVR "
                                     f"{AVR_KINDS[self.verdict]!r}, got {self.avr!r}")


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

    report_hash: bytes | None = None
    submission: TxRef | None = None
    superseded_by: bytes | None = None
    attestations: tuple[AttestationRef, ...] = ()
    anchors: tuple[AnchorRef, ...] = ()
    verify: VerifyHints | None = None
    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]] = (
        ("reportHash", "report_hash", optional(BYTES32)),
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
