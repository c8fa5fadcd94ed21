"""The test PostgreSQL server (``local_servers/postgres.py``) and the database fixtures of
``tests/conftest.py``: a real server on 127.0.0.1 that starts in about a second, stops for good,
whose leftovers a later run cleans up, and databases that start empty for every test."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from local_servers.postgres import (
    PostgresServer,
    find_bindir,
    scratch_root,
    start_server,
    stop_server,
    sweep_leftovers,
)

Record = Callable[[str, object], None]


def _postmaster_pid(server: PostgresServer) -> int:
    return int((server.data / "postmaster.pid").read_text().split("\n", 1)[0])


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not: it has exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_started_server_answers_on_loopback_then_stop_ends_it(
        record_property: Record) -> None:
    began = time.perf_counter()
    server = start_server()
    elapsed = time.perf_counter() - began
    try:
        record_property("figure", ("PostgreSQL test server", "start (initdb + pg_ctl start)",
                                   f"{elapsed:.2f} s"))
        pid = _postmaster_pid(server)
        with psycopg.connect(server.conninfo()) as conn:
            version = conn.execute("SELECT version()").fetchone()
            settings = dict(conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('listen_addresses', 'fsync', 'unix_socket_directories')").fetchall())
        assert version is not None and version[0].startswith("PostgreSQL ")
        assert settings == {"listen_addresses": "127.0.0.1", "fsync": "off",
                            "unix_socket_directories": str(server.directory)}
        assert elapsed < 10, f"start took {elapsed:.1f} s, budget a few seconds"
        began = time.perf_counter()
        server.create_database("timed")
        created = time.perf_counter()
        server.reset_database("timed")
        reset = time.perf_counter()
        record_property("figure", ("PostgreSQL test server", "create a database",
                                   f"{(created - began) * 1000:.0f} ms"))
        record_property("figure", ("PostgreSQL test server", "reset a database to empty",
                                   f"{(reset - created) * 1000:.0f} ms"))
    finally:
        stop_server(server)
    assert not _running(pid)
    assert not server.directory.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.conninfo(), connect_timeout=2).close()


def test_durable_server_flushes_every_commit() -> None:
    """The benchmarks' server: PostgreSQL's durable settings, not the test server's."""
    server = start_server(durable=True)
    try:
        with psycopg.connect(server.conninfo()) as conn:
            settings = dict(conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('fsync', 'synchronous_commit', 'full_page_writes', 'listen_addresses')")
                .fetchall())
    finally:
        stop_server(server)
    assert settings == {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
                        "listen_addresses": "127.0.0.1"}


def test_password_is_required(postgres_server: PostgresServer) -> None:
    wrong = PostgresServer(postgres_server.directory, postgres_server.bindir,
                           postgres_server.port, "not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong.conninfo()).close()


def test_sweep_stops_servers_of_dead_owners_and_keeps_live_ones() -> None:
    # A root of its own: the sweeps of other test processes starting servers meanwhile (xdist
    # workers, other checkouts) look only at the top of scratch_root().
    root = Path(tempfile.mkdtemp(prefix="sweep-test-", dir=scratch_root()))
    root.chmod(0o755)
    try:
        finished = subprocess.Popen(["true"])
        finished.wait()  # its pid now names no process: the owner of a killed test run
        leftover = start_server(root, owner=finished.pid)
        live = root / f"pg-{os.getpid()}-live"  # a directory of a running test process
        live.mkdir()
        pid = _postmaster_pid(leftover)
        assert _running(pid)
        swept = sweep_leftovers(root, find_bindir())
        assert swept == [leftover.directory]
        assert not _running(pid)
        assert not leftover.directory.exists()
        assert live.is_dir()
    finally:
        for directory in root.glob("pg-*"):
            stop_server(PostgresServer(directory, find_bindir(), 0, ""))
        shutil.rmtree(root)


def test_reset_database_empties_it_despite_an_open_transaction(
        postgres_server: PostgresServer, postgres_scratch_database: str) -> None:
    name = postgres_scratch_database
    leaked = psycopg.connect(postgres_server.conninfo(name))  # left open, as a careless test
    try:
        leaked.execute("CREATE SCHEMA extra")
        leaked.execute("CREATE TABLE extra.t (x int)")
        leaked.execute("CREATE TABLE public.t (x int)")
        leaked.commit()
        leaked.execute("LOCK TABLE public.t")  # a transaction holding a lock stays open
        url = postgres_server.reset_database(name)
        engine = sa.create_engine(url)
        try:
            inspector = sa.inspect(engine)
            assert inspector.get_schema_names() == ["information_schema", "public"]
            assert inspector.get_table_names() == []
        finally:
            engine.dispose()
        with pytest.raises(psycopg.OperationalError):
            leaked.execute("SELECT 1")
    finally:
        leaked.close()


def test_postgres_url_is_a_loopback_psycopg_url_of_this_workers_database(
        postgres_url: str) -> None:
    url = sa.make_url(postgres_url)
    assert (url.drivername, url.host) == ("postgresql+psycopg", "127.0.0.1")
    assert url.database == f"trustmrv_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_database()")).scalar() == url.database
    finally:
        engine.dispose()


@pytest.mark.parametrize("run", [1, 2])
def test_database_url_starts_empty_for_every_test(database_url: str, run: int) -> None:
    """Run twice per engine: each run finds no table, then leaves one behind."""
    engine = sa.create_engine(database_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE left_behind (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO left_behind VALUES (:x)"), {"x": run})
        assert sa.inspect(engine).get_table_names() == ["left_behind"]
    finally:
        engine.dispose()
    expected = "sqlite" if database_url.startswith("sqlite:") else "postgresql+psycopg"
    assert sa.make_url(database_url).drivername == expected
