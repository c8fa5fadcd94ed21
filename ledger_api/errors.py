"""Typed errors of the ledger API (``ledger_api``), derived from :mod:`mrv_core.errors`.

Storage: a value the database columns refuse, one they hold but cannot decode, a database they do
not support.
"""

from __future__ import annotations

from mrv_core.errors import ConfigError, MrvError

__all__ = ["CorruptColumnValue", "InvalidColumnValue", "StorageError", "UnsupportedDatabase"]


class StorageError(MrvError):
    """The ledger's database refused a value, or holds one it cannot decode."""


class InvalidColumnValue(StorageError, ValueError):
    """A value written to an exact integer column (``ledger_api.db.types``) is not an ``int``
    (``bool`` included) or lies outside the column's range; nothing is written."""


class CorruptColumnValue(StorageError):
    """A value read from an exact integer column is not in the column's stored encoding (a row
    written around the ORM, or a damaged file): the database's content cannot be trusted."""


class UnsupportedDatabase(StorageError, ConfigError):
    """The database engine is neither SQLite nor PostgreSQL, the two the ledger supports."""
