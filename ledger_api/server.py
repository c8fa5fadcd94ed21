"""Running the ledger API: its services built from settings, and uvicorn.

:func:`build_services` opens the database (refusing a schema not at this code's head: run
``mrv api migrate``) and, with ``rpc_url``, the chain: the deployment's contracts, the EIP-712
domain items must be signed under, and the device directory (read once at start, then refreshed
at most every :data:`REFRESH_EVERY_S` seconds before an ingest). :func:`serve` runs uvicorn with
one worker in this process, or N worker processes that each build their services from the
environment (:func:`app_from_environment`; several workers need PostgreSQL). :func:`serve`
refuses to start without a usable API secret (``MRV_API_SECRET``, docs/api.md "Access").
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from mrv_core.chain import Deployment, System, connect, load_artifacts

from .access.device_tls import uvicorn_tls_options
from .app import ApiMetrics, Services, create_app
from .chain.directory import DeviceDirectory
from .db.engine import make_engine, make_sessions
from .db.migrate import check_current
from .errors import ApiConfigError
from .settings import ApiSettings, get_settings

__all__ = ["REFRESH_EVERY_S", "app_from_environment", "build_services", "serve"]

#: The device directory is brought up to date at most this often (seconds) by ingest.
REFRESH_EVERY_S = 2.0


def build_services(settings: ApiSettings) -> Services:
    """The database and, with ``settings.rpc_url``, the chain's view; raises
    :class:`ApiConfigError` (settings, schema) or a ``ChainError`` (the chain)."""
    engine = make_engine(settings.database_url, must_exist=True)
    try:
        check_current(engine)
        secret, public_metrics = _secret_or_none(settings), settings.public_metrics
        if settings.rpc_url is None:
            return Services(engine, make_sessions(engine), metrics=ApiMetrics(),
                            api_secret=secret, public_metrics=public_metrics,
                            require_client_certificate=settings.client_ca is not None)
        if settings.rpc_url.strip() == "embedded":
            raise ApiConfigError("the embedded chain lives only inside one process: no device "
                                 "could register on it; give a JSON-RPC URL")
        if settings.deployment is None:
            raise ApiConfigError("--deployment FILE is required with --rpc-url")
        chain = connect(settings.rpc_url, evm_version=load_artifacts().evm_version())
        system = System(chain, Deployment.read(settings.deployment))
        system.check_code()
        directory = DeviceDirectory(system)
        directory.refresh()
        return Services(engine, make_sessions(engine), devices=directory, domain=system.domain,
                        metrics=ApiMetrics(), refresh=_throttled(directory.refresh),
                        api_secret=secret, public_metrics=public_metrics,
                        require_client_certificate=settings.client_ca is not None)
    except BaseException:
        engine.dispose()
        raise


def _secret_or_none(settings: ApiSettings) -> bytes | None:
    """The API secret if one is set (checked), ``None`` if not: an application built without
    one refuses every key; :func:`serve` refuses to start without one."""
    return settings.server_secret() if settings.api_secret is not None else None


def _throttled(refresh: Callable[[], object]) -> Callable[[], None]:
    """``refresh`` at most every :data:`REFRESH_EVERY_S` seconds, one caller at a time."""
    lock = threading.Lock()
    last = [time.monotonic()]

    def call() -> None:
        with lock:
            if time.monotonic() - last[0] >= REFRESH_EVERY_S:
                refresh()
                last[0] = time.monotonic()

    return call


def app_from_environment() -> FastAPI:
    """The application of one worker process, from ``MRV_*`` environment variables."""
    return create_app(build_services(get_settings()))


def serve(settings: ApiSettings) -> None:
    """Serve until interrupted (uvicorn handles SIGINT and SIGTERM)."""
    settings.check_listen()
    settings.server_secret()
    tls = uvicorn_tls_options(settings.tls_cert, settings.tls_key, settings.client_ca) \
        if settings.tls_cert is not None and settings.tls_key is not None else {}
    if settings.workers == 1:
        app = create_app(build_services(settings))
        uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_config=None,
                    access_log=True, **tls)
        return
    build_services(settings).engine.dispose()  # fail here, once, rather than in N workers
    for name, value in settings.model_dump(exclude_none=True).items():
        os.environ[f"MRV_{name.upper()}"] = value.get_secret_value() \
            if isinstance(value, SecretStr) else str(value)
    uvicorn.run("ledger_api.server:app_from_environment", factory=True,
                host=settings.api_host, port=settings.api_port, workers=settings.workers,
                log_config=None, access_log=True, **tls)
