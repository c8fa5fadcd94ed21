"""Database engines for the ledger: SQLite (WAL, one writer) or PostgreSQL (psycopg 3).

:func:`make_engine` gives each what it needs: SQLite through ``mrv_core.sqlite_engine``
(WAL, ``synchronous=FULL``: an acknowledged item is on disk; ``BEGIN IMMEDIATE`` writers queue
on the busy timeout), PostgreSQL with a connection pool (``pool_pre_ping``) at READ COMMITTED,
the ingest locking its device's stream row (``SELECT ... FOR UPDATE``) so one device's requests
apply in turn.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from mrv_core.sqlite_engine import wal_engine

from ..errors import ApiConfigError

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "make_engine", "make_readers", "make_sessions"]

#: How long a SQLite writer waits for another before giving up (the request answers 503).
SQLITE_BUSY_TIMEOUT_MS = 10_000


def make_engine(url: str, *, must_exist: bool = False) -> Engine:
    """An engine on ``url`` (``sqlite:///PATH`` or ``postgresql+psycopg://...``); raises
    :class:`ApiConfigError` for another or malformed URL, an in-memory SQLite database, or
    with ``must_exist`` a SQLite file that is not there (``mrv api migrate`` creates it)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is no number...
        raise ApiConfigError(f"database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ApiConfigError("database URL: SQLite needs a file (sqlite:///PATH): an "
                                 "in-memory database would lose everything at exit")
        path = Path(parsed.database)
        if path.is_dir() or (not path.parent.is_dir()):
            raise ApiConfigError(f"database URL: {parsed.database!r} is a directory or lies in "
                                 "no existing directory")
        if must_exist and not path.is_file():
            raise ApiConfigError(f"database URL: {parsed.database!r} does not exist: run "
                                 "`mrv api migrate` first")
        return wal_engine(parsed.database, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS,
                          pool_size=5, error=ApiConfigError)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg":
        return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)
    raise ApiConfigError(f"database URL: expected sqlite:///PATH or postgresql+psycopg://..., "
                         f"got {parsed.drivername}://...")


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine`` that keep loaded values after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def make_readers(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reading only: on SQLite their transactions begin ``DEFERRED``, so a reader
    neither takes the write lock nor waits behind a writer (WAL serves it the last committed
    state); on PostgreSQL they are :func:`make_sessions`'s."""
    return make_sessions(engine.execution_options(sqlite_begin="DEFERRED"))
