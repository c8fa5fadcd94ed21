"""Exact integer column types for the ledger's database: :class:`Uint64` and :class:`Int256`.

The protocol's ``seq`` and timestamps are Solidity ``uint64`` and reading values ``int256``
(``mrv_core.codec``: ``UINT64_MAX``, ``INT256_MIN``, ``INT256_MAX``; docs/protocol.md). Both
databases' native integers are signed 64-bit (PostgreSQL ``BIGINT``, SQLite ``INTEGER``): a
``uint64`` from 2**63 up and nearly every ``int256`` would overflow them, and SQLite's ``REAL``
fallback would round. These types store every value of their range exactly:

==========  ==================  ===========================================================
type        PostgreSQL          SQLite
==========  ==================  ===========================================================
Uint64      ``NUMERIC(20, 0)``  ``VARCHAR(20)``: exactly 20 ASCII digits, zero-padded
                                (42 is ``'00000000000000000042'``; 2**64 - 1 has 20 digits)
Int256      ``NUMERIC(78, 0)``  ``BLOB``: exactly 32 bytes, big-endian ``value + 2**255``
                                (two's complement with the sign bit flipped: INT256_MIN is
                                32 zero bytes, -1 is ``7f ff … ff``, 0 is ``80 00 … 00``)
==========  ==================  ===========================================================

Why these SQLite encodings: SQLite compares ``TEXT`` (``BINARY`` collation, the default) and
``BLOB`` values byte by byte, and both encodings have a fixed width in which byte order is numeric
order, so ``ORDER BY``, ``<``, ``BETWEEN``, ``MIN``/``MAX``, ``UNIQUE`` and indexes behave as on
integers. ``Uint64`` is text so an operator reading the file sees the number; ``Int256`` is a blob
because its offset hides the number anyway and 32 bytes are less than half of 78 digits.
``NUMERIC(p, 0)`` is exact in PostgreSQL and orders numerically (it holds any ``p`` digits; the
range check is this type's, on every write).

Python ``int`` values go in and come out; a comparison with a Python ``int``
(``column < 5``, ``column.in_(...)``, ``between``) is encoded the same way, because SQLAlchemy binds
the operand with the column's type. Not portable: arithmetic and ``SUM``/``AVG`` in SQL on these
columns (SQLite would compute on text or blobs), and literals written inside ``text()``: compute
in Python, or on PostgreSQL only.

Errors: :class:`~ledger_api.errors.InvalidColumnValue` (a ``ValueError``) when a value written is
not an ``int`` (``bool`` is refused) or out of range (SQLAlchemy wraps it in a
``StatementError`` whose ``orig`` it is); :class:`~ledger_api.errors.CorruptColumnValue` when a
stored value is not in its encoding or range; :class:`~ledger_api.errors.UnsupportedDatabase`
for a database other than SQLite and PostgreSQL.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import NUMERIC, LargeBinary, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from mrv_core.codec import INT256_MAX, INT256_MIN, UINT64_MAX

from ..errors import CorruptColumnValue, InvalidColumnValue, UnsupportedDatabase

__all__ = ["Int256", "Uint64"]


class _ExactInteger(TypeDecorator[int], ABC):
    """An integer range stored exactly: ``NUMERIC(DIGITS, 0)`` on PostgreSQL, a fixed-width
    byte-ordered encoding on SQLite (the subclass's ``_encode``/``_decode``)."""

    impl = NUMERIC
    cache_ok = True

    LOW: ClassVar[int]
    HIGH: ClassVar[int]
    #: Decimal digits of the widest value (the NUMERIC precision on PostgreSQL).
    DIGITS: ClassVar[int]
    #: The range as written in messages.
    RANGE: ClassVar[str]

    @property
    def python_type(self) -> type[int]:
        return int

    def check(self, value: object) -> int:
        """``value`` if it is an ``int`` (not a ``bool``) in ``[LOW, HIGH]``, else raise
        :class:`InvalidColumnValue` naming the range and what was given."""
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidColumnValue(f"{type(self).__name__} column: expected an int in "
                                     f"{self.RANGE}, got {type(value).__name__} {value!r:.80}")
        if not self.LOW <= value <= self.HIGH:
            raise InvalidColumnValue(f"{type(self).__name__} column: expected an int in "
                                     f"{self.RANGE}, got {value}")
        return value

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(NUMERIC(self.DIGITS, 0))
        if dialect.name == "sqlite":
            return dialect.type_descriptor(self._sqlite_type())
        raise UnsupportedDatabase(f"{type(self).__name__} column: expected a sqlite or "
                                  f"postgresql database, got {dialect.name}")

    def process_bind_param(self, value: int | None, dialect: Dialect) -> object:
        if value is None:
            return None
        checked = self.check(value)
        return checked if dialect.name == "postgresql" else self._encode(checked)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, one closure per value (the ingest binds five of these per reading):
        :meth:`process_bind_param` with its checks inlined, then the column type's own
        processor; elsewhere SQLAlchemy's composition of the two."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        low, high, encode, check = self.LOW, self.HIGH, self._encode, self.check
        inner = self._sqlite_type().bind_processor(dialect)

        def process(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is not int or not low <= value <= high:
                check(value)  # raises InvalidColumnValue, naming the range
            stored = encode(value)
            return stored if inner is None else inner(stored)

        return process

    def process_result_value(self, value: object, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if dialect.name == "postgresql":
            number = _integral(value, type(self).__name__)
        else:
            number = self._decode(value)
        if not self.LOW <= number <= self.HIGH:
            raise CorruptColumnValue(f"{type(self).__name__} column: stored value {number} "
                                     f"outside {self.RANGE}")
        return number

    def literal_processor(self, dialect: Dialect) -> Callable[[Any], str]:
        """SQL text of a value, for statements compiled with ``literal_binds`` (Alembic's offline
        mode): the number on PostgreSQL, its encoding on SQLite."""

        def render(value: object) -> str:
            checked = self.check(value)
            if dialect.name == "postgresql":
                return str(checked)
            return self._sqlite_literal(checked)

        return render

    # --- the SQLite encoding, per type ---

    @abstractmethod
    def _sqlite_type(self) -> TypeEngine[Any]:
        """The column type on SQLite."""

    @abstractmethod
    def _encode(self, value: int) -> str | bytes:
        """The stored form of a checked value on SQLite."""

    @abstractmethod
    def _decode(self, stored: object) -> int:
        """The value of a stored form (:class:`CorruptColumnValue` if malformed)."""

    @abstractmethod
    def _sqlite_literal(self, value: int) -> str:
        """The SQL literal of a checked value on SQLite."""


class Uint64(_ExactInteger):
    """A Solidity ``uint64`` (``seq``, timestamps in seconds): ``[0, 2**64 - 1]``, stored as
    ``NUMERIC(20, 0)`` on PostgreSQL and as 20 zero-padded ASCII digits on SQLite."""

    cache_ok = True
    LOW = 0
    HIGH = UINT64_MAX
    DIGITS = 20
    RANGE = "[0, 2**64 - 1]"

    def _sqlite_type(self) -> TypeEngine[Any]:
        return String(self.DIGITS)

    def _encode(self, value: int) -> str:
        return f"{value:0{self.DIGITS}d}"

    def _decode(self, stored: object) -> int:
        if not (isinstance(stored, str) and len(stored) == self.DIGITS and stored.isascii()
                and stored.isdigit()):
            raise CorruptColumnValue(f"Uint64 column: expected {self.DIGITS} ASCII digits, "
                                     f"got {stored!r:.80}")
        return int(stored)

    def _sqlite_literal(self, value: int) -> str:
        return f"'{self._encode(value)}'"


#: Bytes of an ``Int256`` on SQLite.
_INT256_BYTES = 32


class Int256(_ExactInteger):
    """A Solidity ``int256`` (reading values): ``[-2**255, 2**255 - 1]``, stored as
    ``NUMERIC(78, 0)`` on PostgreSQL and as 32 big-endian bytes of ``value + 2**255`` on
    SQLite."""

    cache_ok = True
    LOW = INT256_MIN
    HIGH = INT256_MAX
    DIGITS = 78  # 2**255 has 77 digits; 78 also holds any uint256, as NUMERIC(78) often does
    RANGE = "[-2**255, 2**255 - 1]"

    def _sqlite_type(self) -> TypeEngine[Any]:
        return LargeBinary(_INT256_BYTES)

    def _encode(self, value: int) -> bytes:
        return (value - INT256_MIN).to_bytes(_INT256_BYTES, "big")

    def _decode(self, stored: object) -> int:
        if not isinstance(stored, bytes) or len(stored) != _INT256_BYTES:
            raise CorruptColumnValue(f"Int256 column: expected {_INT256_BYTES} bytes, got "
                                     f"{stored!r:.80}")
        return int.from_bytes(stored, "big") + INT256_MIN

    def _sqlite_literal(self, value: int) -> str:
        return f"X'{self._encode(value).hex()}'"


def _integral(value: object, name: str) -> int:
    """The ``int`` of a PostgreSQL ``NUMERIC`` value (a ``Decimal`` from psycopg)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    raise CorruptColumnValue(f"{name} column: expected an integral NUMERIC, got {value!r:.80}")
