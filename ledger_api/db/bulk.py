"""Bulk inserts on the driver: the ingest's rows as plain tuples through the DBAPI's
``executemany``, values in their stored form.

SQLAlchemy's own ``executemany`` runs every column's bind processor on every row; for the
ingest's 10,000 readings per request that costs more than the rows' checks. Here only the exact
integer columns (:mod:`ledger_api.db.types`, whose processors check the range and encode) and
timestamps (SQLite keeps them as text in SQLAlchemy's format) are processed; bytes, text and
plain integers go to the driver as they are, which both SQLite and psycopg take natively.

On PostgreSQL the rows travel by ``COPY ... FROM STDIN`` (psycopg's ``Cursor.copy``, text
format) in the caller's transaction, not by ``executemany``: psycopg's pipelined executemany
sends one prepared-statement execution per row, about twice the time of the copy for the
ingest's 10,000-row requests (``make bench`` section 9, profiled). Constraints and defaults apply
as for ``INSERT``; a driver error is raised as SQLAlchemy's wrapper of it (``IntegrityError``,
``OperationalError``...), as ``executemany`` raises it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from sqlalchemy import Connection, DateTime, Table
from sqlalchemy.exc import DBAPIError

from .models import LeafRow, ReadingRow, RecordRow
from .types import Int256, Uint64

__all__ = ["LEAF_COLUMNS", "READING_COLUMNS", "RECORD_COLUMNS", "insert_rows"]

#: The row layouts of the ingest's ``leaves``, ``readings`` and ``records`` (and of the
#: benchmarks that fill those tables in bulk): each tuple names every column of its table.
LEAF_COLUMNS = ("device", "position", "kind", "leaf", "time_from", "time_to", "batch_seq",
                "received_at", "lag_s")
READING_COLUMNS = ("device", "position", "meter", "meter_path", "seq", "timestamp", "quantity",
                   "value", "salt", "signature")
RECORD_COLUMNS = ("device", "position", "kind", "key_hash", "path", "time_from", "wire")
for _model, _columns in ((LeafRow, LEAF_COLUMNS), (ReadingRow, READING_COLUMNS),
                         (RecordRow, RECORD_COLUMNS)):
    # A column added to a model without being written here fails at import, not as a NULL.
    if sorted(_columns) != sorted(_model.__table__.columns.keys()):
        raise RuntimeError(f"{_model.__tablename__}: the bulk layout is {_columns}")


def insert_rows(connection: Connection, table: Table, columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """``INSERT INTO table (columns) VALUES ...`` for every row (a sequence in the order of
    ``columns``); raises ``KeyError`` for a column the table does not have."""
    if not rows:
        return
    dialect = connection.dialect
    processors: list[tuple[int, Callable[[Any], Any]]] = []
    for i, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, Uint64 | Int256 | DateTime):
            found = column_type.dialect_impl(dialect).bind_processor(dialect)
            if found is not None:
                processors.append((i, found))
    if processors:
        encoded = []
        for row in rows:
            values = list(row)
            for i, process in processors:
                values[i] = process(values[i])
            encoded.append(tuple(values))
        rows = encoded
    if dialect.name == "postgresql":
        _copy_rows(connection, table, columns, rows)
        return
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
                 f"VALUES ({', '.join([marker] * len(columns))})")
    connection.exec_driver_sql(statement, rows)


def _copy_rows(connection: Connection, table: Table, columns: Sequence[str],
               rows: Sequence[Sequence[Any]]) -> None:
    """``COPY table (columns) FROM STDIN`` of ``rows`` on the connection's psycopg driver."""
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc
