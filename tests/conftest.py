"""Hooks and fixtures for the whole suite: the figures tests measure, printed at the end of the
run, and the databases (SQLite and a real PostgreSQL) the unit and integration tests share.

A test reports a figure with ``record_property("figure", (SECTION, KEY, TEXT))``. pytest carries
it in the test's report, from pytest-xdist workers too; at the end, each section lists its keys
in the order they were first reported, with every text reported for a key.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# py-evm (``eth``) and py_ecc raise the recursion limit when first imported (to 12,288 and
# 100,000). Imported here, before any test runs, so that no test changes it midway: hypothesis
# warns when the limit changes during a test and cannot restore it, and tests would see a limit
# that depends on which test imported them first.
import eth  # noqa: F401
import py_ecc  # noqa: F401
import pytest
from hypothesis import settings
from sqlalchemy import Engine

from ledger_api.db.engine import make_engine
from ledger_api.db.migrate import upgrade
from local_servers.postgres import PostgresServer, PostgresUnavailable, start_server, stop_server

# No per-example deadline: hypothesis's default 200 ms is a timed test, and examples run on
# shared, loaded machines under pytest-xdist (speed is measured in benchmarks). A test still
# sets max_examples itself.
settings.register_profile("trustmrv", deadline=None)
settings.load_profile("trustmrv")

FIGURES: dict[str, dict[str, list[str]]] = {}


def pytest_runtest_logreport(report: Any) -> None:
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == "figure":
            section, key, text = value
            FIGURES.setdefault(section, {}).setdefault(key, []).append(text)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for section, lines in FIGURES.items():
        terminalreporter.section(section)
        width = max(map(len, lines))
        for key, texts in lines.items():
            terminalreporter.write_line(f"{key:<{width}}  {', '.join(texts)}")


# --- databases -----------------------------------------------------------------------------------


def _worker() -> str:
    """This process's pytest-xdist worker id (``gw0``...), ``main`` without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on 127.0.0.1 for this pytest process (one per xdist worker),
    started on first use and stopped at the end of the session (``local_servers.postgres``). A
    missing PostgreSQL fails the tests that need it instead of skipping them: ``make test``
    installs it."""
    try:
        server = start_server()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL (``postgresql+psycopg://trustmrv:PASSWORD@127.0.0.1:PORT/trustmrv_gw0``)
    of an empty database made for this worker at its first use and kept for the whole session:
    what one test writes the next one sees. For a database emptied before every test, use
    :func:`database_url`."""
    return postgres_server.create_database(f"trustmrv_{_worker()}")


@pytest.fixture(scope="session")
def postgres_scratch_database(postgres_server: PostgresServer) -> str:
    """Name of this worker's database that :func:`database_url` empties before every test."""
    dbname = f"trustmrv_{_worker()}_each"
    postgres_server.create_database(dbname)
    return dbname


@pytest.fixture
def sqlite_ledger_engine(tmp_path: Path) -> Iterator[Engine]:
    """A ledger database on SQLite only (``<tmp_path>/ledger.sqlite``), migrated to the head
    revision: for tests of what does not depend on the database engine (HTTP, logs, the
    chain); ``ledger_engine`` runs a test on both engines."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLAlchemy URL of an empty database, once per engine, so the same test runs on both:
    ``sqlite:///<tmp_path>/ledger.sqlite3`` (a new file) or ``postgresql+psycopg://…`` of
    :func:`postgres_scratch_database` on this worker's server, reset to empty before the test
    (connections an earlier test left open closed, every schema dropped, ``public`` recreated:
    ``PostgresServer.reset_database``, 15 to 20 ms). The PostgreSQL server starts only when a
    test asks for it."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    dbname: str = request.getfixturevalue("postgres_scratch_database")
    return server.reset_database(dbname)
