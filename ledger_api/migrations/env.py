"""Alembic's environment for the ledger: runs on the engine :mod:`ledger_api.db.migrate`
passes in (``config.attributes["engine"]``); SQLite gets batch mode (ALTER by table copy)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from ledger_api.db.models import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run the ledger's migrations through ledger_api.db.migrate "
                       "(mrv api migrate), which passes the engine")

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=engine.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
