"""Signed records: gaps, meter changes and emission summaries, EIP-712 structs beside readings.

A device signs three kinds of record under the readings' EIP-712 domain (``TrustMRV``, ``1``,
chainId, AnchorRegistry) and commits each as a leaf of its batches beside its readings, so a later
bundle can prove what was, and was not, measured (``docs/protocol.md`` section 9)::

    Gap(address device,bytes32 meter,bytes32 quantity,uint64 nextSeq,uint64 fromTimestamp,
        uint64 toTimestamp,uint32 failedPolls,bytes32 errorClass,bytes32 salt)
    MeterChange(address device,bytes32 meter,bytes32 quantity,uint64 nextSeq,uint64 timestamp,
        int256 oldFinal,int256 newInitial,bytes32 note,bytes32 salt)
    EmissionSummary(address device,uint8 scopeKind,bytes32 scopeId,bytes32 source,
        bytes32 quantity,bytes32 methodology,uint32 methodologyVersion,uint64 periodStart,
        uint64 periodEnd,uint256 activity,uint256 emissions,uint32 readingCount,uint32 gapCount,
        uint32 bridgedGapCount,uint64 bridgedSeconds,uint32 unexplainedDecreases,bytes32 salt)

Every field is static, so a struct's EIP-712 encoding is its type hash and one 32-byte word per
field, packed here by hand from one field table per struct (:data:`FIELDS`); the same table drives
the typed-data documents and the wire form (``mrv_core.wire``). The leaf of a record is
``keccak256(structHash)`` exactly like a reading's; the type hash opens every struct encoding, so
no record leaf can equal a reading leaf (or another kind's) unless keccak256 collides.

Each record class checks every field in its constructor (:class:`~mrv_core.errors.InvalidRecord`),
as :class:`~mrv_core.reading.Reading` does. Codes (quantity, error class, emission source,
methodology id) are text in Python and ``bytes32`` (ASCII right-padded with zeros) in the struct.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from .codec import (
    INT256_MAX,
    INT256_MIN,
    encode_code,
    format_address,
    format_hex,
    is_code,
)
from .eip712 import Domain, leaf_from_struct_hash, typed_digest, typed_document
from .errors import InvalidRecord
from .hashing import keccak256
from .quantities import QUANTITIES, QuantityKind
from .reading import validate_meter_path, validate_site_path

__all__ = [
    "ERROR_CLASSES",
    "FIELDS",
    "NOTE_MAX_BYTES",
    "RECORD_KINDS",
    "RECORD_TYPES",
    "SCOPE_METER",
    "SCOPE_SITE",
    "EmissionSummary",
    "FieldSpec",
    "Gap",
    "MeterChange",
    "Record",
    "SignedRecord",
    "encode_record_struct",
    "note_hash",
    "record_digest",
    "record_leaf",
    "record_struct_hash",
    "record_typed_data",
]

#: Error classes of a failed poll, as they travel in ``Gap.errorClass`` (the brief of issue 9 and
#: ``docs/edge.md``): Modbus exception codes 01-06, 0A, 0B, then transport and value failures,
#: then ``clock``: a value the node refused to sign because its timestamp went backwards for
#: its meter (THREATS.md clock rule), ``storage``: polls not made because polling was
#: stopped at the store's disk hard limit (``edge_node.signing.storage``), and ``overrun``:
#: polls not made because the meter's previous poll still ran when they fell due
#: (``edge_node.acquisition.poller``). Append-only, like quantity codes.
ERROR_CLASSES = (
    "illegal_function", "illegal_address", "illegal_value", "device_failure", "acknowledge",
    "busy", "gateway_path", "gateway_target", "timeout", "connection", "framing",
    "not_available", "other", "clock", "storage", "overrun",
)
#: ``EmissionSummary.scopeKind``: the summary covers one meter (``scopeId`` = meter id) or one
#: site (``scopeId`` = keccak256 of ``enterprise/site``).
SCOPE_METER = 1
SCOPE_SITE = 2
#: The longest operator note of a meter change, in UTF-8 bytes (it travels beside the record).
NOTE_MAX_BYTES = 4096

_PAD12 = bytes(12)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One struct field: its Solidity ``name`` (the wire key too), the Python attribute, the
    EIP-712 type and how its value becomes a word: ``address``, ``bytes32`` (raw bytes), ``code``
    (text code), ``quantity`` (registered quantity code), ``uint`` or ``int``."""

    name: str
    attr: str
    abi: str
    kind: str

    @property
    def bound(self) -> tuple[int, int]:
        """The integer range of ``uint*``/``int256`` fields."""
        if self.kind == "int":
            return INT256_MIN, INT256_MAX
        bits = int(self.abi[4:])
        return 0, 2**bits - 1


def _f(name: str, abi: str, kind: str | None = None) -> FieldSpec:
    attr = "".join("_" + ch.lower() if ch.isupper() else ch for ch in name)
    if kind is None:
        kind = {"address": "address", "bytes32": "bytes32", "int256": "int"}.get(abi, "uint")
    return FieldSpec(name, attr, abi, kind)


def _word(spec: FieldSpec, value: object) -> bytes:
    if spec.kind == "address":
        assert isinstance(value, bytes)
        return _PAD12 + value
    if spec.kind == "bytes32":
        assert isinstance(value, bytes)
        return value
    if spec.kind in ("code", "quantity"):
        assert isinstance(value, str)
        return encode_code(value)
    assert isinstance(value, int)
    return value.to_bytes(32, "big", signed=spec.kind == "int")


def _check_field(record: object, spec: FieldSpec) -> None:
    value = getattr(record, spec.attr)
    kind = type(record).__name__
    if spec.kind in ("address", "bytes32"):
        size = 20 if spec.kind == "address" else 32
        if type(value) is not bytes or len(value) != size:
            shown = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
            raise InvalidRecord(f"{kind}.{spec.name} must be {size} bytes, got {shown}")
    elif spec.kind == "quantity":
        if type(value) is not str or value not in QUANTITIES:
            raise InvalidRecord(f"{kind}.{spec.name} must be a registered quantity code, got "
                                f"{value!r:.60}; known: {', '.join(QUANTITIES)}")
    elif spec.kind == "code":
        if not is_code(value):
            raise InvalidRecord(f"{kind}.{spec.name} must be a code (1-32 printable ASCII "
                                f"characters, no spaces), got {value!r:.60}")
    else:
        low, high = spec.bound
        if type(value) is not int:
            raise InvalidRecord(f"{kind}.{spec.name} must be an int, got {type(value).__name__}")
        if not low <= value <= high:
            raise InvalidRecord(f"{kind}.{spec.name} = {value} outside [{low}, {high}] "
                                f"({spec.abi})")


class _Struct:
    """What every record shares: the type string, its hash and the field table."""

    __slots__ = ()
    TYPE: ClassVar[str]
    TYPEHASH: ClassVar[bytes]
    FIELDS: ClassVar[tuple[FieldSpec, ...]]
    device: bytes
    salt: bytes

    def _check_fields(self) -> None:
        for spec in self.FIELDS:
            _check_field(self, spec)

    def encode(self) -> bytes:
        """``typeHash || encodeData(record)``: one word per field after the type hash."""
        return self.TYPEHASH + b"".join(_word(spec, getattr(self, spec.attr))
                                        for spec in self.FIELDS)

    def timespan(self) -> tuple[int, int]:
        """The Unix seconds the record covers, for a batch header's time span."""
        raise NotImplementedError

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.TYPE = f"{cls.__name__}(" + ",".join(f"{s.abi} {s.name}" for s in cls.FIELDS) + ")"
        cls.TYPEHASH = keccak256(cls.TYPE.encode("ascii"))


def _check_order(record: object, names: tuple[str, ...], field_names: tuple[str, ...]) -> None:
    (a, b), (na, nb) = names, field_names
    if getattr(record, a) > getattr(record, b):
        raise InvalidRecord(f"{type(record).__name__}.{na} {getattr(record, a)} > {nb} "
                            f"{getattr(record, b)}")


@dataclass(frozen=True, slots=True)
class Gap(_Struct):
    """Polls of one (meter, quantity) that failed from ``from_timestamp`` to ``to_timestamp``
    (Unix seconds, inclusive: the first and the last failed poll) while the meter's next reading
    would have had ``next_seq``: a failed poll consumes no seq. ``failed_polls`` >= 1 counts them;
    ``error_class`` is one of :data:`ERROR_CLASSES` (the last failure's)."""

    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        _f("device", "address"), _f("meter", "bytes32"), _f("quantity", "bytes32", "quantity"),
        _f("nextSeq", "uint64"), _f("fromTimestamp", "uint64"), _f("toTimestamp", "uint64"),
        _f("failedPolls", "uint32"), _f("errorClass", "bytes32", "code"), _f("salt", "bytes32"),
    )

    device: bytes
    meter: bytes
    quantity: str
    next_seq: int
    from_timestamp: int
    to_timestamp: int
    failed_polls: int
    error_class: str
    salt: bytes

    def __post_init__(self) -> None:
        self._check_fields()
        _check_order(self, ("from_timestamp", "to_timestamp"), ("fromTimestamp", "toTimestamp"))
        if self.failed_polls < 1:
            raise InvalidRecord("Gap.failedPolls must be at least 1, got 0")
        if self.error_class not in ERROR_CLASSES:
            raise InvalidRecord(f"Gap.errorClass {self.error_class!r} is not one of "
                                f"{', '.join(ERROR_CLASSES)}")

    def timespan(self) -> tuple[int, int]:
        return self.from_timestamp, self.to_timestamp


@dataclass(frozen=True, slots=True)
class MeterChange(_Struct):
    """An operator's statement that the cumulative register of (meter, quantity) jumped at
    ``timestamp``: the old counter ended at ``old_final`` and the new one starts at
    ``new_initial`` (the quantity's unit; the meter was replaced, reset or reprogrammed), the
    first reading after it having seq ``next_seq``. ``note`` is keccak256 of the operator's UTF-8
    note text (:func:`note_hash`), which travels beside the record."""

    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        _f("device", "address"), _f("meter", "bytes32"), _f("quantity", "bytes32", "quantity"),
        _f("nextSeq", "uint64"), _f("timestamp", "uint64"), _f("oldFinal", "int256"),
        _f("newInitial", "int256"), _f("note", "bytes32"), _f("salt", "bytes32"),
    )

    device: bytes
    meter: bytes
    quantity: str
    next_seq: int
    timestamp: int
    old_final: int
    new_initial: int
    note: bytes
    salt: bytes

    def __post_init__(self) -> None:
        self._check_fields()
        quantity = QUANTITIES[self.quantity]
        if quantity.kind is not QuantityKind.CUMULATIVE:
            raise InvalidRecord(f"MeterChange.quantity must be a cumulative register, "
                                f"{self.quantity} is {quantity.kind.value}")
        for name, value in (("oldFinal", self.old_final), ("newInitial", self.new_initial)):
            if value < 0 and not quantity.signed:
                raise InvalidRecord(f"MeterChange.{name} {value} is negative for unsigned "
                                    f"{self.quantity}")

    def timespan(self) -> tuple[int, int]:
        return self.timestamp, self.timestamp


@dataclass(frozen=True, slots=True)
class EmissionSummary(_Struct):
    """What a device computed for one period, one scope and one emission source.

    ``scope_kind`` is :data:`SCOPE_METER` (``scope_id`` = the meter id) or :data:`SCOPE_SITE`
    (``scope_id`` = keccak256 of ``enterprise/site``); ``source`` the methodology's emission
    source code (``electricity.grid``); ``quantity`` the register it was read from; ``methodology``
    and ``methodology_version`` the version in force for the period (the registry's id code and
    ``uint32`` version); ``[period_start, period_end)`` Unix seconds; ``activity`` the amount in
    the source's integer unit (``Wh``, ``dm3``, ``g``, ``kJ``: the quantity's unit);
    ``emissions`` whole grams CO2e as the calculator (and the contract) returns them.
    ``reading_count`` readings and ``gap_count`` gap records lay behind it; ``bridged_gap_count``
    stretches without readings, ``bridged_seconds`` long in total, were bridged by the counter
    difference (no energy lost); ``unexplained_decreases`` counts counter decreases that neither
    a rollover nor a signed meter change explains (their energy is not counted: the figure is
    then a lower bound).
    """

    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        _f("device", "address"), _f("scopeKind", "uint8"), _f("scopeId", "bytes32"),
        _f("source", "bytes32", "code"), _f("quantity", "bytes32", "quantity"),
        _f("methodology", "bytes32", "code"), _f("methodologyVersion", "uint32"),
        _f("periodStart", "uint64"), _f("periodEnd", "uint64"), _f("activity", "uint256"),
        _f("emissions", "uint256"), _f("readingCount", "uint32"), _f("gapCount", "uint32"),
        _f("bridgedGapCount", "uint32"), _f("bridgedSeconds", "uint64"),
        _f("unexplainedDecreases", "uint32"), _f("salt", "bytes32"),
    )

    device: bytes
    scope_kind: int
    scope_id: bytes
    source: str
    quantity: str
    methodology: str
    methodology_version: int
    period_start: int
    period_end: int
    activity: int
    emissions: int
    reading_count: int
    gap_count: int
    bridged_gap_count: int
    bridged_seconds: int
    unexplained_decreases: int
    salt: bytes

    def __post_init__(self) -> None:
        self._check_fields()
        if self.scope_kind not in (SCOPE_METER, SCOPE_SITE):
            raise InvalidRecord(f"EmissionSummary.scopeKind must be {SCOPE_METER} (meter) or "
                                f"{SCOPE_SITE} (site), got {self.scope_kind}")
        if self.methodology_version < 1:
            raise InvalidRecord("EmissionSummary.methodologyVersion must be at least 1, got 0")
        if self.period_start >= self.period_end:
            raise InvalidRecord(f"EmissionSummary.periodStart {self.period_start} must be below "
                                f"periodEnd {self.period_end}")
        if QUANTITIES[self.quantity].kind is not QuantityKind.CUMULATIVE:
            raise InvalidRecord(f"EmissionSummary.quantity must be a cumulative register, got "
                                f"{self.quantity}")
        if self.bridged_gap_count == 0 and self.bridged_seconds != 0:
            raise InvalidRecord(f"EmissionSummary.bridgedSeconds is {self.bridged_seconds} with "
                                "no bridged gap")

    def timespan(self) -> tuple[int, int]:
        return self.period_start, self.period_end


Record = Gap | MeterChange | EmissionSummary
#: Every record type by its EIP-712 primary type name.
RECORD_TYPES: dict[str, type[Gap] | type[MeterChange] | type[EmissionSummary]] = {
    cls.__name__: cls for cls in (Gap, MeterChange, EmissionSummary)
}
#: The kind name of each record type where records are stored (the edge store's and the
#: ledger's ``kind`` columns, the quality summary's gap records).
RECORD_KINDS: dict[type[Gap] | type[MeterChange] | type[EmissionSummary], str] = {
    Gap: "gap", MeterChange: "meter_change", EmissionSummary: "emission_summary"}
#: The field table of every record type (also ``Gap.FIELDS``...).
FIELDS = {name: cls.FIELDS for name, cls in RECORD_TYPES.items()}
assert all(tuple(s.attr for s in cls.FIELDS) == tuple(f.name for f in fields(cls))
           for cls in RECORD_TYPES.values())


def note_hash(text: str) -> bytes:
    """``MeterChange.note``: keccak256 of the operator's note as UTF-8 (at most
    :data:`NOTE_MAX_BYTES` bytes, no unpaired surrogates; the empty note hashes too)."""
    if not isinstance(text, str):
        raise InvalidRecord(f"a note is text, got {type(text).__name__}")
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRecord("a note must be valid Unicode (no unpaired surrogates)") from None
    if len(raw) > NOTE_MAX_BYTES:
        raise InvalidRecord(f"a note is at most {NOTE_MAX_BYTES} UTF-8 bytes, got {len(raw)}")
    return keccak256(raw)


def encode_record_struct(record: Record) -> bytes:
    """``typeHash || encodeData(record)``; also ``abi.encode`` of the record's leaf value list
    ``(typeHash, field1, field2, ...)``."""
    return record.encode()


def record_struct_hash(record: Record) -> bytes:
    """EIP-712 ``hashStruct(record)``."""
    return keccak256(record.encode())


def record_digest(record: Record, domain: Domain) -> bytes:
    """The digest the device signs: ``keccak256(0x1901 || domainSeparator || hashStruct)``."""
    return typed_digest(record_struct_hash(record), domain)


def record_leaf(record: Record) -> bytes:
    """The record's Merkle leaf, ``keccak256(structHash)``, like a reading's."""
    return leaf_from_struct_hash(record_struct_hash(record))


def _message_value(spec: FieldSpec, value: object) -> str:
    if spec.kind == "address":
        assert isinstance(value, bytes)
        return format_address(value)
    if spec.kind in ("bytes32", "code", "quantity"):
        return format_hex(_word(spec, value))
    return str(value)


def record_typed_data(record: Record, domain: Domain) -> dict[str, object]:
    """The record as an EIP-712 JSON document (``eth_signTypedData_v4`` shape): integers as
    base-10 strings, ``bytes32`` (codes included) as ``0x`` hex, addresses EIP-55."""
    return typed_document(
        type(record).__name__,
        [{"name": spec.name, "type": spec.abi} for spec in record.FIELDS],
        domain,
        {spec.name: _message_value(spec, getattr(record, spec.attr)) for spec in record.FIELDS},
    )


@dataclass(frozen=True, slots=True)
class SignedRecord:
    """A record, the device's 65-byte ``r || s || v`` signature of its digest, and what travels
    beside it: ``path``, the meter path (gap, meter change, meter summary) or the site path
    ``enterprise/site`` (site summary) behind its id, and ``note``, a meter change's note text
    (``None`` for the other kinds).

    Construction checks shapes only; :func:`check_signed_record` checks the path and note
    against their hashes and the signature against the device.
    """

    record: Record
    signature: bytes
    path: str
    note: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.record, Gap | MeterChange | EmissionSummary):
            raise InvalidRecord(f"not a record: {type(self.record).__name__}")
        if type(self.signature) is not bytes or len(self.signature) != 65:
            raise InvalidRecord("a record signature must be 65 bytes")
        if self.site_scoped:
            validate_site_path(self.path)
        else:
            validate_meter_path(self.path)
        if isinstance(self.record, MeterChange):
            if self.note is None:
                raise InvalidRecord("a meter change carries its note text (may be empty)")
            note_hash(self.note)
        elif self.note is not None:
            raise InvalidRecord(f"a {type(self.record).__name__} carries no note")

    @property
    def site_scoped(self) -> bool:
        """True for a site summary, whose ``path`` is ``enterprise/site``."""
        return isinstance(self.record, EmissionSummary) and self.record.scope_kind == SCOPE_SITE

    @property
    def path_id(self) -> bytes:
        """The id field the path must hash to (``meter`` or ``scopeId``)."""
        record = self.record
        return record.scope_id if isinstance(record, EmissionSummary) else record.meter

