"""What goes into the store and what comes out of it, as frozen values (never ORM rows).

:class:`NewRecord` is how a signed record (a gap, a meter change, an emission summary: the
structs of ``mrv_core.records``) enters the store, generically: its kind, leaf hash, signature
and canonical wire JSON text, plus the meter and times copied out for queries and batching.
:class:`StoredReading`, :class:`StoredRecord` and :class:`StoredBatch` are what readers (the
uplink, ``mrv edge status``, tests) get back.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from mrv_core.batch import BatchHeader
from mrv_core.errors import InvalidReading
from mrv_core.reading import SignedReading, validate_meter_path

from .models import Flag

__all__ = [
    "MeterState",
    "NewRecord",
    "StoredBatch",
    "StoredReading",
    "StoredRecord",
    "pack_registers",
    "unpack_registers",
]

#: ``records.kind`` values are short ASCII names.
_KIND_MAX = 32


def pack_registers(registers: tuple[int, ...]) -> bytes:
    """16-bit registers in wire order as two big-endian bytes each; raises
    :class:`InvalidReading` for a register outside [0, 65535] or not an integer (``struct``
    takes a bool as 0 or 1: the signer's samples refuse bools before this)."""
    try:
        return struct.pack(f">{len(registers)}H", *registers)
    except struct.error:
        bad = next(r for r in registers if type(r) is not int or not 0 <= r <= 0xFFFF)
        raise InvalidReading(f"a register is an int in [0, 65535], got {bad!r:.40}") from None


def unpack_registers(raw: bytes) -> tuple[int, ...]:
    return tuple(int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2))


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A signed record to store as a leaf of the device's next batch.

    ``leaf`` is ``keccak256(structHash)`` of the record (32 bytes), ``signature`` the device's
    65-byte EIP-712 signature, ``wire`` the record's canonical JSON text as ``mrv_core`` encodes
    it, ``time_from``/``time_to`` the measurement times it covers (Unix seconds; a record of one
    instant gives the same value twice), ``meter_path`` the meter it concerns, if one.
    """

    kind: str
    leaf: bytes
    signature: bytes
    wire: str
    time_from: int
    time_to: int
    meter_path: str | None = None

    def __post_init__(self) -> None:
        if not self.kind or len(self.kind) > _KIND_MAX or not self.kind.isascii() \
                or self.kind == "reading":
            raise InvalidReading(f"record kind must be 1..{_KIND_MAX} ASCII characters and not "
                                 f"'reading', got {self.kind!r:.60}")
        if type(self.leaf) is not bytes or len(self.leaf) != 32:
            raise InvalidReading("record leaf must be 32 bytes")
        if type(self.signature) is not bytes or len(self.signature) != 65:
            raise InvalidReading("record signature must be 65 bytes")
        if not 0 <= self.time_from <= self.time_to < 2**63:
            raise InvalidReading(f"record time span [{self.time_from}, {self.time_to}] is "
                                 f"reversed or outside [0, 2**63)")
        if self.meter_path is not None:
            validate_meter_path(self.meter_path)


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A committed reading with everything stored beside it."""

    ordinal: int
    signed: SignedReading
    point: str
    raw_registers: tuple[int, ...]
    leaf: bytes
    flags: Flag
    counter_event: str | None
    batch_seq: int | None


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A committed record, as generic as it went in."""

    ordinal: int
    kind: str
    leaf: bytes
    signature: bytes
    wire: str
    meter_path: str | None
    timestamp: int
    flags: Flag
    batch_seq: int | None


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """A closed batch: its header, the device's signature over it, its leaves in batch order
    (commit order; the tree sorts them), and its anchoring state (``closed`` or ``anchored``)."""

    header: BatchHeader
    signature: bytes
    leaves: tuple[bytes, ...]
    state: str


@dataclass(frozen=True, slots=True)
class MeterState:
    """What the store knows of one meter (``mrv edge status``)."""

    path: str
    next_seq: int
    last_timestamp: int | None
    state: str
    clock_refusals: int
