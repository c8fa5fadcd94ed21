"""The demo's ledger API: a SQLite database in the output directory, migrated; the principals
the later steps use (an ``enterprise_admin`` of the demo enterprise, a ``regulator`` granted
that enterprise), each with an API key; ``mrv api serve`` as a child process on a free
127.0.0.1 port following the demo's chain; and the few reads the demo makes of it (batches,
the data-quality summary), with an API key as any client would. The server is started ahead
of time (``launch``) and released once the database is ready.

The server secret is random per run (``secrets.token_urlsafe``) and reaches the server only
through its environment (``MRV_API_SECRET``), as docs/api.md asks. The watcher polls every
half second: on simulated time a real second is hours of anchors.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from ledger_api.access.principals import Role
from ledger_api.access.store import add_principal, grant_enterprise
from ledger_api.db.engine import make_engine
from ledger_api.db.migrate import upgrade
from ledger_api.settings import get_settings
from mrv_core.codec import format_address

from ..api_principal import ledger_transaction, operator_name
from .context import DemoContext, StepOutcome
from .processes import Child, ChildNotReady

__all__ = ["LedgerClient", "api_argv", "api_environment", "database_url", "new_secret",
           "prepare_ledger", "wait_until_ready"]

#: Seconds between two polls of the API's chain watcher in the demo (the default is 2).
WATCHER_POLL_S = "0.5"


def database_url(context: DemoContext) -> str:
    """The demo's ledger: ``ledger.sqlite`` in the output directory."""
    return f"sqlite:///{(context.out / 'ledger.sqlite').resolve()}"


def new_secret() -> str:
    """A random server secret for this run (64 URL-safe characters)."""
    return secrets.token_urlsafe(48)


def prepare_ledger(context: DemoContext, secret: str) -> StepOutcome:
    """Create and migrate the SQLite ledger, add the principals and their keys (into
    ``context.api_keys``) under the server's ``secret``."""
    context.database_url = database_url(context)
    engine = make_engine(context.database_url)
    try:
        _, revision = upgrade(engine)
    finally:
        engine.dispose()
    settings = get_settings(database_url=context.database_url, api_secret=secret)
    now = datetime.now(UTC)
    with ledger_transaction(settings) as session:
        admin, admin_key = add_principal(session, name="demo-co operator",
                                         role=Role.ENTERPRISE_ADMIN,
                                         enterprise=context.enterprise,
                                         server_secret=settings.server_secret(), now=now)
        regulator, regulator_key = add_principal(session, name="demo regulator",
                                                 role=Role.REGULATOR, enterprise=None,
                                                 server_secret=settings.server_secret(),
                                                 now=now)
        grant_enterprise(session, regulator.id, context.enterprise, by=operator_name(),
                         now=now)
    context.api_keys = {"enterprise_admin": admin_key, "regulator": regulator_key}
    enterprise = format_address(context.enterprise)
    return StepOutcome(True, (
        f"ledger {context.database_url} at schema {revision}",
        f"principal {admin.id}: enterprise_admin of {enterprise}",
        f"principal {regulator.id}: regulator, granted {enterprise}"))


def api_argv(context: DemoContext, port: int, log: Path) -> list[str]:
    """``mrv api serve`` arguments for the demo's ledger on 127.0.0.1:``port`` (sets
    ``context.api_url``)."""
    context.api_url = f"http://127.0.0.1:{port}"
    return ["api", "serve", "--database", context.database_url, "--rpc-url", context.chain_url,
            "--deployment", str(context.deployment), "--port", str(port), "--log", str(log)]


def api_environment(secret: str) -> dict[str, str]:
    """The server's environment: the secret (never a flag), the watcher's poll interval."""
    return {**os.environ, "MRV_API_SECRET": secret, "MRV_WATCHER_POLL_INTERVAL_S": WATCHER_POLL_S}


def wait_until_ready(child: Child, url: str, timeout: float = 60) -> StepOutcome:
    """Wait until the API at ``url`` answers ``/readyz`` with 200 (its database at the code's
    schema, its chain watcher polling). Raises :class:`ChildNotReady`."""
    deadline = time.monotonic() + timeout
    while child.process.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return StepOutcome(True, (f"ledger API on {url} (log {child.log})",))
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise ChildNotReady(f"mrv api serve was not ready on {url} within {timeout:.0f} s: "
                        f"{child.tail() or 'no output'}")


class LedgerClient:
    """The demo's reads of the ledger API, with the ``enterprise_admin`` key."""

    def __init__(self, context: DemoContext, role: str = "enterprise_admin") -> None:
        self.client = httpx.Client(base_url=context.api_url, timeout=30, headers={
            "Authorization": f"Bearer {context.api_keys[role]}"})

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> LedgerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def get(self, route: str, **params: Any) -> Any:
        """The JSON of a GET; raises :class:`httpx.HTTPStatusError` for a non-2xx answer."""
        answer = self.client.get(route, params=params)
        answer.raise_for_status()
        return answer.json()

    def post(self, route: str, body: Any) -> httpx.Response:
        return self.client.post(route, json=body)

    def batches(self, device: bytes) -> list[dict[str, Any]]:
        """Every batch header the ledger accepted from ``device``, in batchSeq order."""
        found: list[dict[str, Any]] = []
        while True:
            params: dict[str, Any] = {"device": format_address(device), "limit": 1000}
            if found:
                params["after"] = found[-1]["batchSeq"]
            page = self.get("/v1/batches", **params)["batches"]
            found += page
            if len(page) < 1000:
                return found

    def quality(self, path: str, start: int, end: int) -> dict[str, Any]:
        """The data-quality summary of an ISA-95 node over ``[start, end]``."""
        result: dict[str, Any] = self.get("/v1/quality", path=path, **{"from": start, "to": end})
        return result
