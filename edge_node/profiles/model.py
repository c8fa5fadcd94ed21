"""Meter profiles as data: what a meter model's registers hold and how to read them.

A profile describes one meter model (``eastron.sdm630``, ``abb.b2x`` ...), one TOML file per
model in ``edge_node/profiles/data/``. Each :class:`Point` names one register value: where it is
on the wire (function code and 0-based PDU address), how its words decode (data type and word
order), how the raw number becomes an integer in its quantity's unit (``scale``, exact), how wide
its counter is, which raw patterns the vendor uses for "not available", and the manual or source
each fact comes from. Nothing here does I/O; :mod:`edge_node.decoding` turns registers into
values with these descriptions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["DataType", "Function", "Point", "Profile", "Ratio", "SerialDefaults", "WordOrder"]


class Function(enum.IntEnum):
    """The Modbus read function a point is read with."""

    READ_HOLDING_REGISTERS = 3
    READ_INPUT_REGISTERS = 4


class DataType(enum.Enum):
    """Register data types: integers of 16/32/64 bits, IEEE 754 floats of 32/64 bits."""

    UINT16 = "uint16"
    INT16 = "int16"
    UINT32 = "uint32"
    INT32 = "int32"
    UINT64 = "uint64"
    INT64 = "int64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"

    # Computed once per member (the decoder and simulator ask on every register read):
    #: bits of the value; ``words``: 16-bit registers it occupies; ``is_float``: IEEE 754;
    #: ``signed``: two's-complement integers and floats.
    bits: int
    words: int
    is_float: bool
    signed: bool

    def __init__(self, value: str) -> None:
        self.bits = int(value.removeprefix("u").removeprefix("int").removeprefix("float"))
        self.words = self.bits // 16
        self.is_float = value.startswith("float")
        self.signed = not value.startswith("uint")


class WordOrder(enum.Enum):
    """The order of a multi-register value's 16-bit words on the wire. Bytes inside each
    register are always big-endian (the Modbus specification)."""

    #: High word first ("ABCD", big-endian): Eastron, ABB, CHINT, Acrel.
    HIGH_FIRST = "high_first"
    #: Low word first ("CDAB", word-swapped): Carlo Gavazzi INT32.
    LOW_FIRST = "low_first"


class Ratio(enum.Enum):
    """Which of the meter's transformer ratios a secondary-side register must be multiplied by
    to give the primary-side value (Acrel's secondary map: energy and power by PT x CT, voltage
    by PT only, current by CT only)."""

    NONE = "none"
    CT = "ct"
    PT = "pt"
    CT_PT = "ct*pt"

    def of(self, ct: Fraction, pt: Fraction) -> Fraction:
        """The multiplier this ratio stands for, given the meter's CT and PT ratios."""
        if self is Ratio.NONE:
            return Fraction(1)
        if self is Ratio.CT:
            return ct
        return pt if self is Ratio.PT else ct * pt


@dataclass(frozen=True, slots=True)
class Point:
    """One value a meter model exposes.

    ``value in the quantity's integer unit = raw * scale (* CT * PT when ct_pt)``, computed
    exactly (``Fraction``) and then rounded as :mod:`edge_node.decoding` documents.
    ``counter_width`` is the number of bits after which a cumulative integer register wraps to
    zero (``None`` for instantaneous points and float counters, which do not wrap).
    ``not_available`` lists raw register tuples, in wire order, that the vendor sends for "no
    value" (ABB: all ``0xFFFF``). ``source`` names the manual or reference for the address and
    type; ``confirmed`` is False where the sources disagree or no vendor document was found.

    ``ct_pt`` is True when the register is secondary-side and must be multiplied by the meter's
    transformer ratio; ``ratio`` says which (``CT_PT`` when not given; ``NONE`` when ``ct_pt`` is
    False): pass ``point.ratio.of(ct, pt)`` as the decoder's ``ratio``.
    """

    name: str
    quantity: str
    function: Function
    address: int
    data_type: DataType
    word_order: WordOrder
    scale: Fraction
    counter_width: int | None
    not_available: tuple[tuple[int, ...], ...]
    ct_pt: bool
    source: str
    confirmed: bool
    note: str = ""
    ratio: Ratio = Ratio.NONE

    def __post_init__(self) -> None:
        if self.ct_pt and self.ratio is Ratio.NONE:
            object.__setattr__(self, "ratio", Ratio.CT_PT)
        elif not self.ct_pt and self.ratio is not Ratio.NONE:
            raise ValueError(f"point {self.name}: ratio {self.ratio.value} needs ct_pt=True")

    @property
    def words(self) -> int:
        """How many registers the point occupies."""
        return self.data_type.words

    @property
    def end(self) -> int:
        """The address just past the point's last register."""
        return self.address + self.data_type.words


@dataclass(frozen=True, slots=True)
class SerialDefaults:
    """The factory serial settings of a model, as its sources give them."""

    baudrate: int
    parity: str  # "N", "E" or "O"
    stopbits: int
    unit_id: int
    confirmed: bool


@dataclass(frozen=True, slots=True)
class Profile:
    """One meter model: identity, sources, read limits and points (by ``name``)."""

    id: str
    manufacturer: str
    model: str
    sources: dict[str, str]  # source key -> manual or reference (title and address)
    max_registers_per_read: int
    serial: SerialDefaults | None
    points: tuple[Point, ...]
    note: str = ""
    phases: int = 3  # 1 for single-phase models (SDM120); the simulator splits power by it

    def point(self, name: str) -> Point:
        """The point called ``name``; raises ``KeyError`` naming the known ones."""
        for point in self.points:
            if point.name == name:
                return point
        known = ", ".join(p.name for p in self.points)
        raise KeyError(f"profile {self.id} has no point {name!r}; known: {known}")
