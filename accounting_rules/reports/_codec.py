"""Table-driven JSON codec of the report dataclasses (private to ``accounting_rules.reports``).

Every dataclass of a document declares ``JSON``: its fields as ``(json name, attribute, kind)``.
A :class:`Kind` checks a Python value (``__post_init__``), writes its canonical JSON and reads it
back strictly: a value is accepted only in its canonical spelling (EIP-55 addresses, lowercase
hex, canonical base-10 integers), so ``encode(decode(obj)) == obj`` for every accepted ``obj``
and the canonical bytes of a decoded document are the bytes it was read from, re-serialised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar, Protocol, TypeVar

from mrv_core.codec import format_address, format_hex, parse_address, parse_hex, parse_int
from mrv_core.errors import DecodeError, FormatError
from mrv_core.quantities import QUANTITIES
from mrv_core.reading import validate_meter_path
from mrv_core.strict_json import expect_object
from mrv_core.wire import field

from .fields import (
    check_address,
    check_bytes,
    check_code,
    check_int,
    check_text,
    format_rate,
    parse_rate,
)

__all__ = ["Kind", "Record", "check_fields", "decode_record", "encode_record"]

T = TypeVar("T")


class Record(Protocol):
    """A dataclass with a ``JSON`` table."""

    JSON: ClassVar[tuple[tuple[str, str, Kind], ...]]


@dataclass(frozen=True, slots=True)
class Kind:
    """How one field is checked, written and read."""

    check: Callable[[Any, str], Any]
    encode: Callable[[Any], Any]
    decode: Callable[[Any, str], Any]  # (JSON value, its JSON path) -> value


def uint(high: int) -> Kind:
    return Kind(lambda v, n: check_int(v, n, 0, high), str,
                lambda v, n: parse_int(v, 0, high, field=n))


def sint(low: int, high: int) -> Kind:
    return Kind(lambda v, n: check_int(v, n, low, high), str,
                lambda v, n: parse_int(v, low, high, field=n))


def choice(*values: int) -> Kind:
    """An integer among ``values``, written as its base-10 string."""
    def check(value: object, name: str) -> int:
        if type(value) is not int or value not in values:
            raise FormatError(name, f"expected one of {', '.join(map(str, values))}, "
                                    f"got {value!r:.40}")
        return value
    return Kind(check, str, lambda v, n: check(parse_int(v, min(values), max(values), field=n), n))


def _decode_address(value: object, name: str) -> bytes:
    raw = parse_address(value, field=name)
    if format_address(raw) != value:
        raise FormatError(name, f"address not in its EIP-55 spelling: {value!r}, "
                                f"expected {format_address(raw)}")
    return raw


def _decode_hex(size: int) -> Callable[[object, str], bytes]:
    def decode(value: object, name: str) -> bytes:
        raw = parse_hex(value, size, field=name)
        if format_hex(raw) != value:
            raise FormatError(name, "hex digits must be lowercase")
        return raw
    return decode


ADDRESS = Kind(check_address, format_address, _decode_address)
BYTES32 = Kind(lambda v, n: check_bytes(v, n, 32), format_hex, _decode_hex(32))
CODE = Kind(check_code, str, check_code)


def _check_path(value: object, name: str) -> str:
    try:
        return validate_meter_path(value)
    except DecodeError as exc:
        raise FormatError(name, str(exc)) from None


def _check_quantity(value: object, name: str) -> str:
    if not isinstance(value, str) or value not in QUANTITIES:
        raise FormatError(name, f"not a registered quantity code: {value!r:.60}")
    return value


METER_PATH = Kind(_check_path, str, _check_path)
QUANTITY = Kind(_check_quantity, str, _check_quantity)


def _check_rate(value: object, name: str) -> Fraction:
    if not isinstance(value, Fraction) or value < 0:
        raise FormatError(name, f"expected a non-negative Fraction, got {value!r:.40}")
    return value


RATE = Kind(_check_rate, format_rate, parse_rate)


def text(limit: int, *, empty: bool = False, lines: bool = False) -> Kind:
    def check(value: object, name: str) -> str:
        return check_text(value, name, limit, empty=empty, lines=lines)
    return Kind(check, str, check)


def enum(*values: str) -> Kind:
    def check(value: object, name: str) -> str:
        if not isinstance(value, str) or value not in values:
            raise FormatError(name, f"expected one of {', '.join(values)}, got {value!r:.60}")
        return value
    return Kind(check, str, check)


def optional(kind: Kind) -> Kind:
    """``kind`` or ``None`` (JSON ``null``)."""
    return Kind(lambda v, n: None if v is None else kind.check(v, n),
                lambda v: None if v is None else kind.encode(v),
                lambda v, n: None if v is None else kind.decode(v, n))


def nested(cls: type[Any]) -> Kind:
    """A nested dataclass with its own ``JSON`` table."""
    def check(value: object, name: str) -> Any:
        if not isinstance(value, cls):
            raise FormatError(name, f"expected {cls.__name__}, got {type(value).__name__}")
        return value
    return Kind(check, encode_record, lambda v, where: decode_record(cls, v, where))


def array(kind: Kind, limit: int) -> Kind:
    """A tuple of at most ``limit`` values of ``kind`` (a JSON array)."""
    def check(value: object, name: str) -> tuple[Any, ...]:
        if not isinstance(value, tuple):
            raise FormatError(name, f"expected a tuple, got {type(value).__name__}")
        if len(value) > limit:
            raise FormatError(name, f"{len(value)} items, limit {limit}")
        for index, item in enumerate(value):
            kind.check(item, f"{name}[{index}]")
        return value

    def decode(value: object, where: str) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise FormatError(where, "expected an array")
        if len(value) > limit:
            raise FormatError(where, f"{len(value)} items, limit {limit}")
        return tuple(_decode_at(kind, item, f"{where}[{index}]")
                     for index, item in enumerate(value))
    return Kind(check, lambda v: [kind.encode(item) for item in v], decode)


def check_fields(record: Record) -> None:
    """Check every field of ``record`` against its kind (call from ``__post_init__``)."""
    for name, attr, kind in record.JSON:
        kind.check(getattr(record, attr), name)


def encode_record(record: Record) -> dict[str, Any]:
    """The JSON object of ``record``: every field, in table order."""
    return {name: kind.encode(getattr(record, attr)) for name, attr, kind in record.JSON}


def decode_record(cls: type[T], obj: object, where: str,
                  extra: Sequence[str] = ()) -> T:
    """A ``cls`` from its JSON object at ``where`` (exactly its fields, plus ``extra`` keys the
    caller reads itself), or :class:`FormatError` naming the JSON path of the first problem."""
    table: tuple[tuple[str, str, Kind], ...] = cls.JSON  # type: ignore[attr-defined]
    names = [name for name, _, _ in table]
    o = field(where, lambda: expect_object(obj, where, [*names, *extra]))
    values = {attr: _decode_at(kind, o[name], f"{where}.{name}") for name, attr, kind in table}
    return field(where, lambda: cls(**values))


def _decode_at(kind: Kind, value: object, where: str) -> Any:
    """``kind.decode`` of the value at JSON path ``where`` (errors name that path)."""
    return field(where, lambda: kind.decode(value, where))
