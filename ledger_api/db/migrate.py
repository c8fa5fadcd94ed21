"""Schema migrations: the ledger's schema is created and upgraded only by Alembic
(``ledger_api/migrations``), through :func:`upgrade` (``mrv api migrate``).

:func:`check_current` is what the service runs at start: it refuses (``ApiConfigError``) a
database whose schema is not at this code's head, naming both revisions, so a service never
writes into a schema it does not know.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError, OperationalError

from ..errors import ApiConfigError

__all__ = ["alembic_config", "check_current", "current_revision", "head_revision", "upgrade"]

_SCRIPTS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration on ``engine`` (no alembic.ini: the scripts ship in the
    package)."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory(str(_SCRIPTS)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated); raises
    :class:`ApiConfigError` when the database cannot be read."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except (OperationalError, DatabaseError) as exc:
        raise ApiConfigError(f"the database cannot be read: {str(exc.orig)[:300]}") from None


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade the database to ``revision``; returns (revision before, revision after)."""
    before = current_revision(engine)
    command.upgrade(alembic_config(engine), revision)
    after = current_revision(engine)
    assert after is not None
    return before, after


def check_current(engine: Engine) -> None:
    """Raise :class:`ApiConfigError` unless the database is at this code's head revision."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no ledger schema" if current is None else f"is at revision {current}"
        raise ApiConfigError(f"the database {state}, this code needs {head}: run "
                             "`mrv api migrate` first")
