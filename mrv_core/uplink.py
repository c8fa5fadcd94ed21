"""The uplink documents (``trustmrv-uplink/1`` and ``trustmrv-uplink-ack/1``): what an edge node
POSTs to the ledger API and what the API answers, specified in ``docs/protocol.md`` section 10.

A request carries one device's signed items under one EIP-712 domain, grouped by kind in
arrays processed in this order: ``readings``, then the signed records of ``mrv_core.records``
(``gaps``, ``meterChanges`` with their note text, ``summaries``), then ``batches`` (signed batch
headers), so a header is processed after the leaves sent with it. The body is
gzip-compressed JSON (``Content-Encoding: gzip``). The acknowledgement has the same arrays,
one verdict per item in the same order: ``accepted``, ``duplicate`` (already held, identical),
``conflict`` (the server holds a different item under the same identity key) or ``rejected``
(with a reason). Items are identified in acks by ``id = keccak256(hashStruct(item))`` (a
reading's Merkle leaf) and deduplicated by their identity key (:func:`item_key`):
``(device, meter, seq)`` for readings, ``(device, batchSeq)`` for batch headers.

Decoding is strict and bounded (:data:`LIMITS`): compressed and decompressed size, items per
kind, nesting depth, string length; no trailing garbage after the gzip member or the JSON; no
unknown or missing field. Every refusal is a :class:`FormatError` naming the JSON path
(``$.readings[3].salt``); :class:`DocumentTooLarge` and :class:`UnsupportedEncoding` (both
``FormatError``) let a server answer 413 and 415. Decoding checks shapes and that every item
is the document's device's; signatures are checked by ``mrv_core.verify``.

Adding a kind: one :class:`_Kind` entry in :data:`KINDS` (its JSON name, which items it holds,
codec, id and key), one count in :class:`UplinkLimits`, its item definition in
``scripts/uplink_schemas.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .batch import SignedBatchHeader
from .codec import format_address, format_hex, parse_address, parse_hex
from .compression import gunzip_bounded, gzip_document
from .eip712 import Domain, batch_struct_hash, leaf_hash
from .errors import DocumentTooLarge, FormatError, UnsupportedEncoding
from .hashing import keccak256
from .reading import SignedReading
from .records import (
    NOTE_MAX_BYTES,
    RECORD_KINDS,
    EmissionSummary,
    Gap,
    MeterChange,
    Record,
    SignedRecord,
    record_leaf,
)
from .strict_json import expect_object, loads_strict
from .wire import (
    decode_batch_header,
    decode_domain,
    decode_signed_reading,
    decode_signed_record,
    encode_batch_header,
    encode_domain,
    encode_signed_reading,
    encode_signed_record,
    field,
)

__all__ = [
    "ACK_FORMAT",
    "CONTENT_TYPE",
    "DOCUMENT_ORDER",
    "KINDS",
    "LIMITS",
    "UPLINK_FORMAT",
    "UPLINK_PATH",
    "Status",
    "UplinkAck",
    "UplinkItem",
    "UplinkLimits",
    "UplinkRequest",
    "Verdict",
    "decode_ack",
    "decode_request",
    "encode_ack",
    "encode_request",
    "item_id",
    "item_key",
]

UPLINK_FORMAT = "trustmrv-uplink/1"
ACK_FORMAT = "trustmrv-uplink-ack/1"
#: The ledger API's endpoint for uplink requests (POST).
UPLINK_PATH = "/v1/uplink"
CONTENT_TYPE = "application/json"

#: Every item kind a request can carry.
UplinkItem = SignedReading | SignedRecord | SignedBatchHeader


@dataclass(frozen=True)
class UplinkLimits:
    """Bounds a decoder enforces before work proportional to the input (docs/protocol.md 10.6).
    Sizes in bytes, counts in items per request, string lengths in characters (a meter change's
    note is up to 4096 UTF-8 bytes, ``mrv_core.records.NOTE_MAX_BYTES``)."""

    compressed_bytes: int = 4 * 1024 * 1024
    decompressed_bytes: int = 16 * 1024 * 1024
    ack_bytes: int = 4 * 1024 * 1024
    depth: int = 4
    string_chars: int = NOTE_MAX_BYTES
    readings: int = 10_000
    gaps: int = 10_000
    meter_changes: int = 1_000
    summaries: int = 10_000
    batches: int = 1_000


LIMITS = UplinkLimits()


@dataclass(frozen=True)
class _Kind:
    """One kind of item: its JSON array name, which items it holds, how they are coded and
    identified."""

    name: str
    limit: Callable[[UplinkLimits], int]
    holds: Callable[[object], bool]
    encode: Callable[[Any], dict[str, str]]
    decode: Callable[[object, str], Any]
    id: Callable[[Any], bytes]
    key: Callable[[Any], tuple[object, ...]]
    device: Callable[[Any], bytes]
    #: The leaf kind a store files these items under (``mrv_core.records.RECORD_KINDS``:
    #: ``reading``, ``gap``...; ``batch`` for headers).
    leaf_kind: str


def _decode_signed_header(obj: object, where: str) -> SignedBatchHeader:
    header, signature = decode_batch_header(obj, where, signed=True)
    assert signature is not None
    return SignedBatchHeader(header, signature)


def _record_kind(name: str, record_type: type[Record], limit: Callable[[UplinkLimits], int],
                 key: Callable[[Any], tuple[object, ...]]) -> _Kind:
    """The kind of one record type: its wire objects carry ``"type": <the struct's name>``."""

    def decode(obj: object, where: str) -> SignedRecord:
        signed = decode_signed_record(obj, where)
        if type(signed.record) is not record_type:
            raise FormatError(f"{where}.type", f"expected {record_type.__name__!r} in "
                                               f"{name}, got {type(signed.record).__name__!r}")
        return signed

    return _Kind(name, limit,
                 lambda item: isinstance(item, SignedRecord) and type(item.record) is record_type,
                 encode_signed_record, decode, lambda r: record_leaf(r.record),
                 lambda r: (record_type.__name__, r.record.device, *key(r.record)),
                 lambda r: r.record.device, RECORD_KINDS[record_type])


#: The kinds in processing order (a batch header after the leaves it may cover).
KINDS: tuple[_Kind, ...] = (
    _Kind("readings", lambda limits: limits.readings, lambda i: isinstance(i, SignedReading),
          encode_signed_reading, decode_signed_reading, lambda r: leaf_hash(r.reading),
          lambda r: ("Reading", r.reading.device, r.reading.meter, r.reading.seq),
          lambda r: r.reading.device, "reading"),
    _record_kind("gaps", Gap, lambda limits: limits.gaps,
                 lambda g: (g.meter, g.quantity, g.from_timestamp)),
    _record_kind("meterChanges", MeterChange, lambda limits: limits.meter_changes,
                 lambda m: (m.meter, m.quantity, m.next_seq)),
    _record_kind("summaries", EmissionSummary, lambda limits: limits.summaries,
                 lambda e: (e.scope_kind, e.scope_id, e.source, e.quantity, e.period_start,
                            e.period_end)),
    _Kind("batches", lambda limits: limits.batches, lambda i: isinstance(i, SignedBatchHeader),
          lambda h: encode_batch_header(h.header, h.signature), _decode_signed_header,
          lambda h: keccak256(batch_struct_hash(h.header)),
          lambda h: ("Batch", h.header.device, h.header.batch_seq),
          lambda h: h.header.device, "batch"),
)
#: Each leaf kind's rank in a document's processing order (:data:`KINDS`): a sender that
#: must keep its commit order cannot put a later-ranked item before an earlier-ranked one in
#: one request (docs/protocol.md 10.5).
DOCUMENT_ORDER: dict[str, int] = {kind.leaf_kind: rank for rank, kind in enumerate(KINDS)}


def _kind_of(item: object) -> _Kind:
    for kind in KINDS:
        if kind.holds(item):
            return kind
    raise FormatError("item", f"not an uplink item: {type(item).__name__}")


def item_id(item: UplinkItem) -> bytes:
    """The 32-byte id acks echo: ``keccak256(hashStruct(item))`` (a reading's Merkle leaf)."""
    return _kind_of(item).id(item)


def item_key(item: UplinkItem) -> tuple[object, ...]:
    """The identity a server deduplicates on, led by the struct's name and the device:
    ``(device, meter, seq)`` for a reading; ``(device, meter, quantity, fromTimestamp)`` for a
    gap; ``(device, meter, quantity, nextSeq)`` for a meter change; ``(device, scopeKind,
    scopeId, source, quantity, periodStart, periodEnd)`` for a summary; ``(device, batchSeq)``
    for a batch header. Same key and same id: a duplicate; same key and another id: a
    conflict."""
    return _kind_of(item).key(item)


# -- the request ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UplinkRequest:
    """One device's items under one domain, in processing order (:data:`KINDS` order; within a
    kind, as given)."""

    device: bytes
    domain: Domain
    items: tuple[UplinkItem, ...]

    @classmethod
    def of(cls, device: bytes, domain: Domain, items: Sequence[UplinkItem]) -> UplinkRequest:
        """Group ``items`` by kind in processing order, keeping their order within a kind."""
        rank = {kind.name: i for i, kind in enumerate(KINDS)}
        ordered = sorted(items, key=lambda item: rank[_kind_of(item).name])
        return cls(device, domain, tuple(ordered))

    def of_kind(self, kind: _Kind) -> list[UplinkItem]:
        return [item for item in self.items if kind.holds(item)]

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"format": UPLINK_FORMAT, "device": format_address(self.device),
                               "domain": encode_domain(self.domain)}
        for kind in KINDS:
            doc[kind.name] = [kind.encode(item) for item in self.of_kind(kind)]
        return doc

    @classmethod
    def from_json(cls, doc: object, limits: UplinkLimits = LIMITS) -> UplinkRequest:
        o = expect_object(doc, "$", ("format", "device", "domain", *(k.name for k in KINDS)))
        _expect_format(o, UPLINK_FORMAT)
        device = field("$.device", lambda: parse_address(o["device"], field="device"))
        domain = decode_domain(o["domain"], "$.domain")
        items: list[UplinkItem] = []
        for kind in KINDS:
            where = f"$.{kind.name}"
            raw = _expect_list(o[kind.name], where, kind.limit(limits))
            seen: dict[tuple[object, ...], int] = {}
            for i, value in enumerate(raw):
                item = kind.decode(value, f"{where}[{i}]")
                if kind.device(item) != device:
                    raise FormatError(f"{where}[{i}].device",
                                      f"expected the document's device {format_address(device)}"
                                      f", got {format_address(kind.device(item))}")
                first = seen.setdefault(kind.key(item), i)
                if first != i:
                    raise FormatError(f"{where}[{i}]", f"repeats the identity of {where}[{first}]")
                items.append(item)
        if not items:
            raise FormatError("$", "no items: a request carries at least one")
        return cls(device, domain, tuple(items))


def encode_request(request: UplinkRequest) -> bytes:
    """The request body: compact UTF-8 JSON, gzip-compressed (send ``Content-Encoding: gzip``)."""
    return gzip_document(_dumps(request.to_json()))


def decode_request(body: bytes, content_encoding: str | None,
                   limits: UplinkLimits = LIMITS) -> UplinkRequest:
    """Decode a request body as received with its ``Content-Encoding`` header value.

    Raises :class:`UnsupportedEncoding` unless the encoding is ``gzip``,
    :class:`DocumentTooLarge` past ``limits.compressed_bytes`` or
    ``limits.decompressed_bytes``, and :class:`FormatError` (with its JSON path) for anything
    else the format refuses."""
    if (content_encoding or "").strip().lower() != "gzip":
        got = "no Content-Encoding header" if content_encoding is None \
            else f"{content_encoding!r:.40}"
        raise UnsupportedEncoding("$", f"Content-Encoding must be gzip, got {got}")
    if len(body) > limits.compressed_bytes:
        raise DocumentTooLarge("$", f"body is {len(body)} bytes, limit {limits.compressed_bytes}")
    text = gunzip_bounded(body, limits.decompressed_bytes)
    doc = loads_strict(text, max_bytes=limits.decompressed_bytes, max_depth=limits.depth,
                       max_string=limits.string_chars)
    return UplinkRequest.from_json(doc, limits)


# -- the acknowledgement -------------------------------------------------------------------------


class Status(StrEnum):
    """The server's verdict on one item."""

    ACCEPTED = "accepted"  # stored now
    DUPLICATE = "duplicate"  # already stored, identical (same key, same id)
    CONFLICT = "conflict"  # another item is stored under the same key
    REJECTED = "rejected"  # refused (bad signature, unknown device...): see the reason


@dataclass(frozen=True, slots=True)
class Verdict:
    """One item's verdict: its id, the status, and a reason exactly when it was not
    delivered (``conflict``/``rejected``)."""

    id: bytes
    status: Status
    reason: str | None = None

    def __post_init__(self) -> None:
        if type(self.id) is not bytes or len(self.id) != 32:
            raise FormatError("id", f"a verdict's id is 32 bytes, got {self.id!r:.80}")
        if self.reason is not None and (not isinstance(self.reason, str) or not self.reason):
            raise FormatError("reason", "expected null or a non-empty string")
        if (self.reason is None) != self.delivered:
            raise FormatError("reason", f"a {self.status.value} verdict "
                                        f"{'has no' if self.delivered else 'needs a'} reason")

    @property
    def delivered(self) -> bool:
        """The server holds the item (accepted now, or before): the sender may forget it."""
        return self.status in (Status.ACCEPTED, Status.DUPLICATE)


@dataclass(frozen=True)
class UplinkAck:
    """The verdicts on a request's items, in the request's order."""

    device: bytes
    verdicts: tuple[Verdict, ...]


def encode_ack(request: UplinkRequest, verdicts: Sequence[Verdict]) -> bytes:
    """The acknowledgement body (UTF-8 JSON, not compressed) for ``request``."""
    if len(verdicts) != len(request.items):
        raise FormatError("verdicts", f"expected {len(request.items)} verdicts, one per item, "
                                      f"got {len(verdicts)}")
    doc: dict[str, Any] = {"format": ACK_FORMAT, "device": format_address(request.device)}
    position = 0
    for kind in KINDS:
        count = len(request.of_kind(kind))
        doc[kind.name] = [{"id": format_hex(v.id), "status": v.status.value, "reason": v.reason}
                          for v in verdicts[position:position + count]]
        position += count
    return _dumps(doc)


def decode_ack(body: bytes, content_encoding: str | None, request: UplinkRequest,
               limits: UplinkLimits = LIMITS) -> UplinkAck:
    """Decode the acknowledgement of ``request``; it must name the request's device and give
    one verdict per item, in order, each with the item's id.

    ``content_encoding`` may be ``gzip`` or absent/``identity``; sizes are bounded by
    ``limits.ack_bytes``. Raises :class:`FormatError` naming the JSON path otherwise."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding not in ("gzip", "identity"):
        raise UnsupportedEncoding("$", f"Content-Encoding must be gzip or identity, got "
                                       f"{content_encoding!r:.40}")
    if len(body) > limits.ack_bytes:
        raise DocumentTooLarge("$", f"ack is {len(body)} bytes, limit {limits.ack_bytes}")
    text = gunzip_bounded(body, limits.ack_bytes) if encoding == "gzip" else body
    doc = loads_strict(text, max_bytes=limits.ack_bytes, max_depth=limits.depth,
                       max_string=limits.string_chars)
    o = expect_object(doc, "$", ("format", "device", *(k.name for k in KINDS)))
    _expect_format(o, ACK_FORMAT)
    device = field("$.device", lambda: parse_address(o["device"], field="device"))
    if device != request.device:
        raise FormatError("$.device", f"expected {format_address(request.device)}, got "
                                      f"{format_address(device)}")
    verdicts: list[Verdict] = []
    for kind in KINDS:
        sent = request.of_kind(kind)
        raw = _expect_list(o[kind.name], f"$.{kind.name}", kind.limit(limits))
        if len(raw) != len(sent):
            raise FormatError(f"$.{kind.name}", f"expected {len(sent)} verdicts, got {len(raw)}")
        for i, (value, item) in enumerate(zip(raw, sent, strict=True)):
            verdicts.append(_decode_verdict(value, f"$.{kind.name}[{i}]", kind.id(item)))
    return UplinkAck(device, tuple(verdicts))


def _decode_verdict(value: object, where: str, expected_id: bytes) -> Verdict:
    v = expect_object(value, where, ("id", "status", "reason"))
    verdict_id = field(f"{where}.id", lambda: parse_hex(v["id"], 32, field="id"))
    if verdict_id != expected_id:
        raise FormatError(f"{where}.id", f"expected the item's id {format_hex(expected_id)}, got "
                                         f"{format_hex(verdict_id)}")
    if v["status"] not in {s.value for s in Status}:
        raise FormatError(f"{where}.status", f"expected one of {', '.join(Status)}, got "
                                             f"{v['status']!r:.40}")
    return field(where, lambda: Verdict(verdict_id, Status(v["status"]), v["reason"]))


# -- pieces --------------------------------------------------------------------------------------


def _dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _expect_format(o: dict[str, Any], expected: str) -> None:
    if o["format"] != expected:
        raise FormatError("$.format", f"expected {expected!r}, got {o['format']!r:.80}")


def _expect_list(value: object, where: str, high: int) -> list[Any]:
    if not isinstance(value, list):
        raise FormatError(where, "expected an array")
    if len(value) > high:
        raise DocumentTooLarge(where, f"has {len(value)} items, limit {high}")
    return value
