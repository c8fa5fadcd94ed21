"""Fixtures of the ledger API's unit tests: a migrated database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from retention_support import Fleet, standard_fleet
from sqlalchemy import Engine

from ledger_api.db.engine import make_engine
from ledger_api.db.migrate import upgrade


@pytest.fixture
def ledger_engine(database_url: str) -> Iterator[Engine]:
    """A ledger database migrated to the head revision, once on SQLite and once on a real
    PostgreSQL (``database_url``)."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def fleet(ledger_engine: Engine) -> Fleet:
    """The retention tests' devices and batches (:func:`retention_support.standard_fleet`)."""
    return standard_fleet(ledger_engine)
