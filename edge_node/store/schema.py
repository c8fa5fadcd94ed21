"""Opening the SQLite file: connection settings and the schema's migration steps.

Every connection runs with ``journal_mode=WAL``, ``synchronous=FULL`` (a commit is on disk
before it returns: THREATS.md guarantee 1), ``foreign_keys=ON`` and a busy timeout. Write
transactions start with ``BEGIN IMMEDIATE``, so two writers never deadlock upgrading a read
lock; read transactions start with a plain (deferred) ``BEGIN``.

The schema's version is SQLite's ``PRAGMA user_version``; :data:`MIGRATIONS` lists the steps
from each version to the next, each run in the same transaction as the version bump, so a crash
mid-migration leaves the previous version intact. Alembic, which the ledger API uses, is not
used here: the edge store is one embedded file owned by one process, its migrations are a short
list that must run unattended at start, and ``user_version`` is atomic with the DDL. A file whose
version is above :data:`SCHEMA_VERSION` was written by a newer edge node and is refused
(:class:`~edge_node.errors.SchemaTooNew`), never downgraded.

Step 1 creates the tables from the models. When a version 2 arrives, step 1 must be frozen
first (its DDL written out) so that an old file still migrates through the same path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool

from ..errors import SchemaTooNew, StoreError
from .models import Base

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "connect_engine", "migrate", "schema_version"]

#: The schema this code reads and writes.
SCHEMA_VERSION = 1


def _create_v1(connection: Connection) -> None:
    Base.metadata.create_all(connection)


#: ``MIGRATIONS[n]`` takes a store from version ``n - 1`` to ``n``.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _create_v1}


def connect_engine(path: Path, *, busy_timeout_ms: int = 5000) -> Engine:
    """An engine on the SQLite file ``path`` with the pragmas above on every connection."""
    if busy_timeout_ms < 0:
        raise StoreError(f"busy timeout must be >= 0 ms, got {busy_timeout_ms}")
    engine = create_engine(f"sqlite:///{path}", poolclass=QueuePool, pool_size=2,
                           max_overflow=2)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, explicitly
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"store {path}: journal_mode is {mode}, WAL is required")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")

    return engine


def schema_version(connection: Connection) -> int:
    return int(connection.exec_driver_sql("PRAGMA user_version").scalar_one())


def migrate(engine: Engine, path: Path,
            migrations: dict[int, Callable[[Connection], None]] | None = None) -> int:
    """Bring the file to the last version of ``migrations`` (default: the edge store's
    :data:`MIGRATIONS`; the relayer's database has its own list); return the version found.

    Raises :class:`SchemaTooNew` for a file of a newer edge node, :class:`StoreError` for a
    path SQLite cannot use as a database."""
    steps = MIGRATIONS if migrations is None else migrations
    latest = max(steps)
    try:
        with engine.begin() as connection:
            found = schema_version(connection)
            if found > latest:
                raise SchemaTooNew(str(path), found, latest)
            for version in range(found + 1, latest + 1):
                steps[version](connection)
                connection.exec_driver_sql(f"PRAGMA user_version = {version}")
    except DBAPIError as exc:  # not a database, a directory, no permission, disk full...
        raise StoreError(f"store {path}: {exc.orig}") from None
    return found
