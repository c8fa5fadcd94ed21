"""Exact integer columns: uint64 and int256 on SQLite and PostgreSQL.

The protocol's ``seq`` and timestamps are uint64 and reading values int256 (docs/protocol.md
1.3); neither fits a signed 64-bit BIGINT or SQLite INTEGER. PostgreSQL stores them as
``NUMERIC(20, 0)`` and ``NUMERIC(78, 0)`` (exact, ordered). SQLite stores them as fixed-width
big-endian bytes whose byte order is the numeric order (uint64: 8 bytes; int256: the value plus
2**255 in 32 bytes), so ``ORDER BY``, range conditions and indexes work on the stored form.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import LargeBinary, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from mrv_core.codec import INT256_MAX, INT256_MIN, UINT64_MAX

__all__ = ["Int256", "Uint64"]


class _ExactInt(TypeDecorator[int]):
    """An integer in [low, high], exact on both dialects (see the module docstring)."""

    impl = LargeBinary
    cache_ok = True
    low = 0
    high = 0
    width = 0  # bytes on SQLite
    digits = 0  # NUMERIC precision on PostgreSQL
    label = ""

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(LargeBinary(self.width))
        return dialect.type_descriptor(Numeric(self.digits, 0, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | Decimal | None:
        if value is None:
            return None
        if type(value) is not int or not self.low <= value <= self.high:
            raise ValueError(f"a {self.label} column takes an int in [{self.low}, {self.high}], "
                             f"got {value!r:.80}")
        if dialect.name == "sqlite":
            return (value - self.low).to_bytes(self.width, "big")
        return Decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, bytes):
            return int.from_bytes(value, "big") + self.low
        return int(value)


class Uint64(_ExactInt):
    """A ``uint64`` (seq, Unix seconds, batchSeq)."""

    cache_ok = True
    low, high, width, digits, label = 0, UINT64_MAX, 8, 20, "uint64"


class Int256(_ExactInt):
    """An ``int256`` (a reading's value)."""

    cache_ok = True
    low, high, width, digits, label = INT256_MIN, INT256_MAX, 32, 78, "int256"
