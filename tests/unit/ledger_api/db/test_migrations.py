"""The ledger's schema is the migrations': upgraded to head, the database matches the models
exactly (tables, columns, types, indexes, constraints) on SQLite and PostgreSQL, a second
upgrade changes nothing, and the service refuses a database not at head."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from ledger_api.db.engine import make_engine
from ledger_api.db.migrate import check_current, current_revision, head_revision, upgrade
from ledger_api.db.models import Base
from ledger_api.errors import ApiConfigError


def test_the_migrated_schema_is_the_models_schema(ledger_engine: Engine) -> None:
    with ledger_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrading_again_changes_nothing_and_the_head_is_current(ledger_engine: Engine) -> None:
    assert upgrade(ledger_engine) == (head_revision(), head_revision())
    check_current(ledger_engine)


def test_a_database_not_at_head_is_refused_naming_the_command(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None
        with pytest.raises(ApiConfigError, match="mrv api migrate"):
            check_current(engine)
    finally:
        engine.dispose()


def test_a_database_url_with_a_port_that_is_no_number_is_a_config_error() -> None:
    with pytest.raises(ApiConfigError, match="database URL"):
        make_engine("postgresql+psycopg://u:pw@127.0.0.1:notaport/x")
