"""The registry of quantity codes: what a reading measured, in which integer unit.

A quantity code travels in the reading as ``bytes32``: its ASCII text right-padded with zero bytes,
exactly what Solidity's ``bytes32("energy.active.import:Wh")`` holds. The text names the quantity
and, after the colon, its unit, so the code alone tells a human what ``value`` means.

Codes are append-only: a code, once published, never changes meaning. A reading whose code is not
here is rejected (:class:`UnknownQuantity`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import MappingProxyType

from .errors import UnknownQuantity

__all__ = [
    "QUANTITIES",
    "Quantity",
    "QuantityKind",
    "decode_quantity",
    "encode_quantity_code",
    "quantity_by_code",
]


class QuantityKind(enum.Enum):
    """How a value relates to time."""

    #: A monotonically increasing register (energy, volume, mass): consumption over a period is
    #: the difference of two readings, so a dropped reading cannot hide any of it. Never negative.
    CUMULATIVE = "cumulative"
    #: A value at the instant of measurement (power). May be negative (export) where ``signed``.
    INSTANTANEOUS = "instantaneous"


@dataclass(frozen=True, slots=True)
class Quantity:
    """One registered quantity code."""

    code: str
    unit: str
    kind: QuantityKind
    signed: bool
    description: str

    @property
    def code_bytes(self) -> bytes:
        """The code as the 32 bytes that enter the EIP-712 struct."""
        return encode_quantity_code(self.code)


def encode_quantity_code(code: str) -> bytes:
    """Right-pad an ASCII code with zero bytes to 32 bytes (Solidity ``bytes32("...")``)."""
    try:
        raw = code.encode("ascii")
    except UnicodeEncodeError:
        raise UnknownQuantity(f"quantity code must be ASCII: {code!r}") from None
    if not 0 < len(raw) <= 32 or b"\x00" in raw:
        raise UnknownQuantity(f"quantity code must be 1..32 non-NUL bytes: {code!r}")
    return raw.ljust(32, b"\x00")


def _q(code: str, kind: QuantityKind, description: str, *, signed: bool = False) -> Quantity:
    unit = code.rsplit(":", 1)[1]
    return Quantity(code=code, unit=unit, kind=kind, signed=signed, description=description)


_C = QuantityKind.CUMULATIVE
_I = QuantityKind.INSTANTANEOUS

_ALL = (
    _q("energy.active.import:Wh", _C, "active energy imported from the grid (cumulative register)"),
    _q("energy.active.export:Wh", _C, "active energy exported to the grid (cumulative register)"),
    _q("energy.reactive.import:varh", _C, "reactive energy, import (cumulative register)"),
    _q("energy.reactive.export:varh", _C, "reactive energy, export (cumulative register)"),
    _q("power.active:W", _I, "instantaneous active power, negative when exporting", signed=True),
    _q("volume.gas:dm3", _C, "volume of fuel gas at the meter, litres (cumulative register)"),
    _q("mass.fuel:g", _C, "mass of fuel consumed, grams (cumulative register)"),
    _q("heat:kJ", _C, "heat or steam energy received (cumulative register)"),
    _q("volume.water:dm3", _C, "volume of water, litres (cumulative register)"),
    # Instantaneous electrical quantities a meter profile may report by exception.
    _q("power.reactive:var", _I, "instantaneous reactive power, negative when capacitive",
       signed=True),
    _q("voltage:mV", _I, "instantaneous RMS voltage, phase to neutral unless the path says"),
    _q("current:mA", _I, "instantaneous RMS current"),
    _q("frequency:mHz", _I, "instantaneous grid frequency"),
)

#: Every registered quantity by its text code.
QUANTITIES: MappingProxyType[str, Quantity] = MappingProxyType({q.code: q for q in _ALL})
_BY_BYTES: dict[bytes, Quantity] = {q.code_bytes: q for q in _ALL}


def quantity_by_code(code: str) -> Quantity:
    """Look up a quantity by its text code; raise :class:`UnknownQuantity` when unregistered."""
    try:
        return QUANTITIES[code]
    except KeyError:
        known = ", ".join(QUANTITIES)
        raise UnknownQuantity(f"unknown quantity code {code!r}; known: {known}") from None


def decode_quantity(raw: bytes) -> Quantity:
    """Look up a quantity by its 32-byte on-chain form."""
    try:
        return _BY_BYTES[raw]
    except KeyError:
        raise UnknownQuantity(f"unknown quantity bytes32 0x{raw.hex()}") from None
