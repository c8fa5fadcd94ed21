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

Every step is frozen DDL text, never the models of the day: an old file migrates through
exactly the statements a new file was made with. Step 1 is the first schema (written out from
the models as they stood); step 2 adds ``summaries``, the emission-summary task's marks
(``edge_node.summaries``). The models must describe the result of the last step; a test compares
the two (``tests/unit/edge_node/store/test_schema.py``). A new version adds a step here and
changes the models to match.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from mrv_core.sqlite_engine import wal_engine

from ..errors import SchemaTooNew, StoreError

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "connect_engine",
    "migrate",
    "require_edge_store",
    "schema_version",
]

#: The schema this code reads and writes.
SCHEMA_VERSION = 2

#: Version 1, as ``Base.metadata.create_all`` made it before version 2 (frozen; SQLite keeps
#: each statement's text, which the schema test compares with the models' modulo white space).
_V1 = (
    """CREATE TABLE node (
    "key" VARCHAR(64) NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY ("key")
)""",
    """CREATE TABLE meters (
    id INTEGER NOT NULL,
    path VARCHAR(256) NOT NULL,
    meter_id BLOB NOT NULL,
    next_seq INTEGER NOT NULL,
    last_timestamp INTEGER,
    state VARCHAR(32) NOT NULL,
    state_seq INTEGER,
    clock_refusals INTEGER NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (path),
    UNIQUE (meter_id)
)""",
    """CREATE TABLE leaves (
    ordinal INTEGER NOT NULL,
    device BLOB NOT NULL,
    kind VARCHAR(32) NOT NULL,
    leaf BLOB NOT NULL,
    time_from INTEGER NOT NULL,
    time_to INTEGER NOT NULL,
    committed_at INTEGER NOT NULL,
    batch_seq INTEGER,
    flags INTEGER NOT NULL,
    PRIMARY KEY (ordinal)
)""",
    "CREATE INDEX ix_leaves_unbatched ON leaves (device, batch_seq, ordinal)",
    """CREATE TABLE batches (
    closed_at INTEGER NOT NULL,
    state VARCHAR(16) NOT NULL,
    device BLOB NOT NULL,
    batch_seq INTEGER NOT NULL,
    root BLOB NOT NULL,
    leaf_count INTEGER NOT NULL,
    from_timestamp INTEGER NOT NULL,
    to_timestamp INTEGER NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (device, batch_seq)
)""",
    """CREATE TABLE uplink_acks (
    stream VARCHAR(16) NOT NULL,
    through INTEGER NOT NULL,
    acknowledged_at INTEGER NOT NULL,
    PRIMARY KEY (stream)
)""",
    """CREATE TABLE meter_quantities (
    meter_pk INTEGER NOT NULL,
    quantity VARCHAR(32) NOT NULL,
    last_timestamp INTEGER NOT NULL,
    last_value VARCHAR(80),
    PRIMARY KEY (meter_pk, quantity),
    FOREIGN KEY(meter_pk) REFERENCES meters (id)
)""",
    """CREATE TABLE readings (
    ordinal INTEGER NOT NULL,
    device BLOB NOT NULL,
    meter_pk INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    quantity VARCHAR(32) NOT NULL,
    value VARCHAR(80) NOT NULL,
    salt BLOB NOT NULL,
    signature BLOB NOT NULL,
    point VARCHAR(64) NOT NULL,
    raw_registers BLOB NOT NULL,
    counter_event VARCHAR(32),
    PRIMARY KEY (ordinal),
    CONSTRAINT uq_reading_seq UNIQUE (device, meter_pk, seq),
    FOREIGN KEY(ordinal) REFERENCES leaves (ordinal),
    FOREIGN KEY(meter_pk) REFERENCES meters (id)
)""",
    "CREATE INDEX ix_readings_meter_time ON readings (meter_pk, timestamp)",
    """CREATE TABLE records (
    ordinal INTEGER NOT NULL,
    kind VARCHAR(32) NOT NULL,
    meter_pk INTEGER,
    timestamp INTEGER NOT NULL,
    signature BLOB NOT NULL,
    wire TEXT NOT NULL,
    PRIMARY KEY (ordinal),
    FOREIGN KEY(ordinal) REFERENCES leaves (ordinal),
    FOREIGN KEY(meter_pk) REFERENCES meters (id)
)""",
    "CREATE INDEX ix_records_meter_time ON records (meter_pk, timestamp)",
    """CREATE TABLE outbox (
    device BLOB NOT NULL,
    batch_seq INTEGER NOT NULL,
    state VARCHAR(16) NOT NULL,
    nonce INTEGER,
    tx_hash BLOB,
    block_number INTEGER,
    block_timestamp INTEGER,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (device, batch_seq),
    FOREIGN KEY(device, batch_seq) REFERENCES batches (device, batch_seq)
)""",
    "CREATE INDEX ix_outbox_state ON outbox (state, batch_seq)",
)

#: Version 2: the marks of the emission-summary task (``models.SummaryRow``).
_V2 = (
    """CREATE TABLE summaries (
    scope_kind INTEGER NOT NULL,
    scope_path VARCHAR(256) NOT NULL,
    source VARCHAR(32) NOT NULL,
    period_start INTEGER NOT NULL,
    period_end INTEGER NOT NULL,
    granularity VARCHAR(8) NOT NULL,
    outcome VARCHAR(16) NOT NULL,
    ordinal INTEGER,
    methodology VARCHAR(32),
    methodology_version INTEGER,
    settled_at INTEGER NOT NULL,
    PRIMARY KEY (scope_kind, scope_path, source, period_start, period_end)
)""",
    "CREATE INDEX ix_summaries_cursor ON summaries (scope_kind, scope_path, source, "
    "granularity, period_end)",
)


def _run(statements: tuple[str, ...]) -> Callable[[Connection], None]:
    def step(connection: Connection) -> None:
        for statement in statements:
            connection.exec_driver_sql(statement)
    return step


#: ``MIGRATIONS[n]`` takes a store from version ``n - 1`` to ``n``.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _run(_V1), 2: _run(_V2)}


def connect_engine(path: Path, *, busy_timeout_ms: int = 5000) -> Engine:
    """An engine on the SQLite file ``path``: WAL, ``synchronous=FULL``, foreign keys, a busy
    timeout and ``BEGIN IMMEDIATE`` writers (``mrv_core.sqlite_engine``); raises
    :class:`StoreError` for a negative timeout or a file that cannot be put in WAL mode."""
    return wal_engine(str(path), busy_timeout_ms=busy_timeout_ms, error=StoreError)


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


def require_edge_store(path: Path) -> int:
    """Check, without writing anything, that ``path`` is an edge store this code can read, for
    readers that must not create or migrate one (``mrv edge status``); return its schema
    version. Raises :class:`StoreError` for a file that is not an SQLite database or not an
    edge store (another program's database, an empty file), :class:`SchemaTooNew` for a newer
    edge node's store."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        raise StoreError(f"store {path}: {exc}") from None
    try:
        version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        tables = {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        raise StoreError(f"store {path}: expected an edge store (SQLite), got a file SQLite "
                         f"cannot read ({exc})") from None
    finally:
        connection.close()
    if version < 1 or not {"node", "leaves", "readings"} <= tables:
        raise StoreError(f"store {path}: expected an edge store (schema 1..{SCHEMA_VERSION} "
                         f"with its node, leaves and readings tables), got "
                         f"{'an empty database' if not tables else 'another database'} "
                         f"(schema version {version}); nothing was written to it")
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(str(path), version, SCHEMA_VERSION)
    return version
