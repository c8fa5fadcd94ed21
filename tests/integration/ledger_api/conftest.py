"""Fixtures of the ledger API's integration tests: the API served by uvicorn on 127.0.0.1 in a
thread of the test's process, on a migrated SQLite database, checking devices against a real
chain (the embedded one, which lives in this process)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from integration.chain.support import Actors, deploy_actors
from ledger_support import API_SECRET

from ledger_api.app import ApiMetrics, Services, create_app
from ledger_api.chain.directory import DeviceDirectory
from ledger_api.db.engine import make_engine, make_sessions
from ledger_api.db.migrate import upgrade
from mrv_core.chain import System, connect


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LedgerServer:
    """The API on ``url``; :meth:`down` and :meth:`up` stop and restart it on the same port
    (an outage); ``services`` is what it serves."""

    services: Services
    port: int
    #: uvicorn's TLS options (``ledger_api.access.device_tls.uvicorn_tls_options``); none: HTTP.
    tls: dict[str, Any] = field(default_factory=dict)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def up(self) -> LedgerServer:
        config = uvicorn.Config(create_app(self.services), host="127.0.0.1", port=self.port,
                                log_config=None, access_log=False, lifespan="off", **self.tls)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the ledger API did not start", pytrace=False)
            time.sleep(0.01)
        return self

    def down(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None


def ledger_services(system: System, database: Path) -> Services:
    """Services on a migrated SQLite file at ``database``, devices read from ``system``."""
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    directory = DeviceDirectory(system, unknown_refresh_interval_s=0)
    directory.refresh()
    return Services(engine, make_sessions(engine), devices=directory, domain=system.domain,
                    system=system,
                    metrics=ApiMetrics(), refresh=directory.refresh, api_secret=API_SECRET)


@pytest.fixture
def ledger_actors() -> Actors:
    """A new embedded chain with the system deployed and one device registered."""
    return deploy_actors(connect(None))


@pytest.fixture
def ledger_server(ledger_actors: Actors, tmp_path: Path) -> Iterator[LedgerServer]:
    """The API for ``ledger_actors``' deployment, stopped after the test."""
    server = LedgerServer(ledger_services(ledger_actors.system, tmp_path / "ledger.sqlite"),
                          free_port()).up()
    try:
        yield server
    finally:
        server.down()
        server.services.engine.dispose()
