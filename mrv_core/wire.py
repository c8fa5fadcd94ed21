"""JSON wire forms of readings, signed records, batch headers and domains, shared by every
document type.

Conventions (``docs/protocol.md``): field names in lowerCamelCase as in the Solidity structs,
bytes as lowercase ``0x`` hex of exact length, addresses EIP-55 checksummed, every integer as a
canonical base-10 string, quantities as their registered text code, no unknown fields.
Decoders take a ``where`` location and raise :class:`FormatError` naming the offending field.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from .batch import BatchHeader
from .codec import (
    UINT64_MAX,
    UINT256_MAX,
    format_address,
    format_hex,
    parse_address,
    parse_hex,
    parse_int,
)
from .eip712 import DOMAIN_NAME, DOMAIN_VERSION, Domain
from .errors import DecodeError, FormatError
from .reading import Reading, SignedReading
from .records import RECORD_TYPES, FieldSpec, MeterChange, Record, SignedRecord
from .strict_json import expect_object

__all__ = [
    "decode_batch_header",
    "decode_domain",
    "decode_signed_reading",
    "decode_signed_record",
    "encode_batch_header",
    "encode_domain",
    "encode_signed_reading",
    "encode_signed_record",
    "field",
]

T = TypeVar("T")

_READING_FIELDS = ("device", "meter", "meterPath", "seq", "timestamp", "quantity", "value", "salt",
                   "signature")
_BATCH_FIELDS = ("device", "batchSeq", "root", "leafCount", "fromTimestamp", "toTimestamp")
_DOMAIN_FIELDS = ("name", "version", "chainId", "verifyingContract")


def field(where: str, decode: Callable[[], T]) -> T:
    """Run a decoder, turning any decode error into a :class:`FormatError` at ``where``.

    An error that already names a JSON path (``$...``, from a nested decoder) passes unchanged; a
    phase's own error (:class:`InvalidInteger`, :class:`InvalidBatchHeader`...) that names only
    its field keeps its class and gets the field's path: ``where`` itself when it ends in that
    field (``$.batch.leafCount``), else ``where`` + ``.field`` (a header built at ``$.batch``)."""
    try:
        return decode()
    except FormatError as exc:
        if exc.where.startswith("$"):
            raise
        path = (where if where == exc.where or where.endswith("." + exc.where)
                else f"{where}.{exc.where}")
        raise type(exc)(path, exc.problem) from None
    except DecodeError as exc:
        raise FormatError(where, str(exc)) from None


# -- readings -----------------------------------------------------------------------------------


def encode_signed_reading(signed: SignedReading) -> dict[str, str]:
    r = signed.reading
    return {
        "device": format_address(r.device),
        "meter": format_hex(r.meter),
        "meterPath": signed.meter_path,
        "seq": str(r.seq),
        "timestamp": str(r.timestamp),
        "quantity": r.quantity,
        "value": str(r.value),
        "salt": format_hex(r.salt),
        "signature": format_hex(signed.signature),
    }


def decode_signed_reading(obj: object, where: str) -> SignedReading:
    """The signed reading of a wire object, or :class:`FormatError` naming the JSON path of the
    first field that breaks the format.

    A valid object takes the direct path (the same parsers, none of the per-field error
    wrapping: a ledger decodes 10,000 readings per request); anything the direct path refuses
    is decoded again field by field, which names where it failed."""
    try:
        return _decode_signed_reading_direct(obj, where)
    except (DecodeError, KeyError):
        return _decode_signed_reading_checked(obj, where)


@lru_cache(maxsize=4096)
def _device(text: str) -> bytes:
    """:func:`parse_address` of a reading's device, cached: every reading of a request names
    the same device (errors are raised, never cached)."""
    return parse_address(text, field="device")


@lru_cache(maxsize=4096)
def _meter(text: str) -> bytes:
    """:func:`parse_hex` of a reading's 32-byte meter id, cached: a device has few meters."""
    return parse_hex(text, 32, field="meter")


def _decode_signed_reading_direct(obj: object, where: str) -> SignedReading:
    o = expect_object(obj, where, _READING_FIELDS)
    quantity, meter_path = o["quantity"], o["meterPath"]
    device, meter = o["device"], o["meter"]
    if not isinstance(quantity, str) or not isinstance(meter_path, str) \
            or not isinstance(device, str) or not isinstance(meter, str):
        raise DecodeError("quantity, meterPath, device and meter are strings")
    reading = Reading(device=_device(device), meter=_meter(meter),
                      seq=parse_int(o["seq"], 0, UINT64_MAX, field="seq"),
                      timestamp=parse_int(o["timestamp"], 0, UINT64_MAX, field="timestamp"),
                      quantity=quantity,
                      value=parse_int(o["value"], -(2**255), 2**255 - 1, field="value"),
                      salt=parse_hex(o["salt"], 32, field="salt"))
    return SignedReading(reading, parse_hex(o["signature"], 65, field="signature"), meter_path)


def _decode_signed_reading_checked(obj: object, where: str) -> SignedReading:
    o = field(where, lambda: expect_object(obj, where, _READING_FIELDS))

    def at(name: str, decode: Callable[[Any], T]) -> T:
        return field(f"{where}.{name}", lambda: decode(o[name]))

    quantity = at("quantity", _expect_str)
    reading = field(where, lambda: Reading(
        device=at("device", lambda v: parse_address(v, field="device")),
        meter=at("meter", lambda v: parse_hex(v, 32, field="meter")),
        seq=at("seq", lambda v: parse_int(v, 0, UINT64_MAX, field="seq")),
        timestamp=at("timestamp", lambda v: parse_int(v, 0, UINT64_MAX, field="timestamp")),
        quantity=quantity,
        value=at("value", lambda v: parse_int(v, -(2**255), 2**255 - 1, field="value")),
        salt=at("salt", lambda v: parse_hex(v, 32, field="salt")),
    ))
    signature = at("signature", lambda v: parse_hex(v, 65, field="signature"))
    meter_path = at("meterPath", _expect_str)
    return field(f"{where}.meterPath", lambda: SignedReading(reading, signature, meter_path))


def _expect_str(value: object) -> str:
    if not isinstance(value, str):
        raise DecodeError(f"expected a string, got {type(value).__name__}")
    return value


# -- signed records -----------------------------------------------------------------------------
#
# {"type": "Gap" | "MeterChange" | "EmissionSummary", <every struct field by its Solidity name>,
#  "path": meter path (site path for a site summary), "noteText": the operator's note whose
#  keccak256 is "note" (meter changes only),
#  "signature": 0x + 65 bytes}. Codes (quantity, errorClass, source, methodology) are their text;
# every integer a canonical base-10 string; bytes32 lowercase 0x hex; the device EIP-55.


def _encode_value(spec: FieldSpec, value: object) -> str:
    if spec.kind == "address":
        assert isinstance(value, bytes)
        return format_address(value)
    if spec.kind == "bytes32":
        assert isinstance(value, bytes)
        return format_hex(value)
    if spec.kind in ("code", "quantity"):
        assert isinstance(value, str)
        return value
    return str(value)


def _decode_value(spec: FieldSpec, value: object) -> object:
    if spec.kind == "address":
        return parse_address(value, field=spec.name)
    if spec.kind == "bytes32":
        return parse_hex(value, 32, field=spec.name)
    if spec.kind in ("code", "quantity"):
        return _expect_str(value)
    low, high = spec.bound
    return parse_int(value, low, high, field=spec.name)


def encode_signed_record(signed: SignedRecord) -> dict[str, str]:
    """The wire object of a signed record (fields in struct order, then path, noteText,
    signature)."""
    record = signed.record
    encoded = {"type": type(record).__name__}
    encoded.update({spec.name: _encode_value(spec, getattr(record, spec.attr))
                    for spec in record.FIELDS})
    encoded["path"] = signed.path
    if signed.note is not None:
        encoded["noteText"] = signed.note
    encoded["signature"] = format_hex(signed.signature)
    return encoded


def decode_signed_record(obj: object, where: str) -> SignedRecord:
    """Parse a wire object into a :class:`SignedRecord`; :class:`FormatError` names the JSON path
    of the first bad field (``$.records[3].record.failedPolls``)."""
    kind = obj.get("type") if isinstance(obj, dict) else None
    if not isinstance(kind, str) or kind not in RECORD_TYPES:
        raise FormatError(f"{where}.type", f"expected one of {', '.join(RECORD_TYPES)}, got "
                                           f"{kind!r:.60}")
    cls = RECORD_TYPES[kind]
    extra = ("path", "noteText", "signature") if cls is MeterChange else ("path", "signature")
    o = field(where, lambda: expect_object(obj, where, ("type", *(s.name for s in cls.FIELDS),
                                                        *extra)))
    values = {spec.attr: field(f"{where}.{spec.name}",
                               lambda spec=spec: _decode_value(spec, o[spec.name]))  # type: ignore[misc]
              for spec in cls.FIELDS}
    record: Record = field(where, lambda: cls(**values))  # type: ignore[arg-type]
    signature = field(f"{where}.signature", lambda: parse_hex(o["signature"], 65,
                                                              field="signature"))
    path = field(f"{where}.path", lambda: _expect_str(o["path"]))
    note = (field(f"{where}.noteText", lambda: _expect_str(o["noteText"]))
            if cls is MeterChange else None)
    return field(f"{where}.path" if note is None else where,
                 lambda: SignedRecord(record, signature, path, note))


# -- batch headers ------------------------------------------------------------------------------


def encode_batch_header(header: BatchHeader, signature: bytes | None = None) -> dict[str, str]:
    """The header object; with ``signature`` (version 2 documents) it also carries the device's
    signature over the header."""
    encoded = {
        "device": format_address(header.device),
        "batchSeq": str(header.batch_seq),
        "root": format_hex(header.root),
        "leafCount": str(header.leaf_count),
        "fromTimestamp": str(header.from_timestamp),
        "toTimestamp": str(header.to_timestamp),
    }
    if signature is not None:
        encoded["signature"] = format_hex(signature)
    return encoded


def decode_batch_header(obj: object, where: str, *, signed: bool = False
                        ) -> tuple[BatchHeader, bytes | None]:
    """The header and, when ``signed`` (version 2 documents), the device's 65-byte signature
    over it, which travels in the same object as ``signature``."""
    o = field(where, lambda: expect_object(obj, where, (*_BATCH_FIELDS, "signature") if signed
                                           else _BATCH_FIELDS))
    signature = (field(f"{where}.signature", lambda: parse_hex(o["signature"], 65,
                                                               field="signature"))
                 if signed else None)
    return _decode_header_fields(o, where), signature


def _decode_header_fields(o: dict[str, Any], where: str) -> BatchHeader:

    def uint(name: str, high: int = UINT64_MAX) -> int:
        return field(f"{where}.{name}", lambda: parse_int(o[name], 0, high, field=name))

    return field(where, lambda: BatchHeader(
        device=field(f"{where}.device", lambda: parse_address(o["device"], field="device")),
        batch_seq=uint("batchSeq"),
        root=field(f"{where}.root", lambda: parse_hex(o["root"], 32, field="root")),
        leaf_count=uint("leafCount"),
        from_timestamp=uint("fromTimestamp"),
        to_timestamp=uint("toTimestamp"),
    ))


# -- domains ------------------------------------------------------------------------------------


def encode_domain(domain: Domain) -> dict[str, str]:
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": str(domain.chain_id),
        "verifyingContract": format_address(domain.verifying_contract),
    }


def decode_domain(obj: object, where: str) -> Domain:
    o = field(where, lambda: expect_object(obj, where, _DOMAIN_FIELDS))
    if o["name"] != DOMAIN_NAME:
        raise FormatError(f"{where}.name", f"expected {DOMAIN_NAME!r}, got {o['name']!r}")
    if o["version"] != DOMAIN_VERSION:
        raise FormatError(f"{where}.version", f"expected {DOMAIN_VERSION!r}, got {o['version']!r}")
    return Domain(
        chain_id=field(f"{where}.chainId",
                       lambda: parse_int(o["chainId"], 0, UINT256_MAX, field="chainId")),
        verifying_contract=field(f"{where}.verifyingContract",
                                 lambda: parse_address(o["verifyingContract"],
                                                       field="verifyingContract")),
    )
