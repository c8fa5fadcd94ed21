"""SQLite engines as the edge store and the ledger API both use them: WAL, durable commits.

Every connection gets ``journal_mode=WAL`` (readers never block the writer), ``synchronous=FULL``
(a committed transaction is on disk: an item counts as taken, or as acknowledged, only then),
foreign keys and a busy timeout. The driver's own transaction handling is off; every transaction
begins ``BEGIN IMMEDIATE`` (it takes the write lock at once, so two writers queue on the busy
timeout instead of one failing at commit), unless the connection's execution options say
``sqlite_begin="DEFERRED"`` (a reader).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import QueuePool

from .errors import ConfigError, MrvError

__all__ = ["wal_engine"]


def wal_engine(path: str, *, busy_timeout_ms: int = 5000, pool_size: int = 2,
               error: type[MrvError] = ConfigError) -> Engine:
    """An engine on the SQLite file ``path`` with the pragmas above on every connection.

    Raises ``error`` (the caller's phase: :class:`ConfigError` by default) for a negative
    timeout, and on connecting when the file cannot be put in WAL mode (naming the mode it
    reports)."""
    if busy_timeout_ms < 0:
        raise error(f"busy timeout must be >= 0 ms, got {busy_timeout_ms}")
    engine = create_engine(f"sqlite:///{path}", poolclass=QueuePool, pool_size=pool_size,
                           max_overflow=2)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, explicitly
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise error(f"{path}: journal_mode is {mode}, WAL is required")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")

    return engine
