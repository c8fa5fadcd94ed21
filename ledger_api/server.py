"""Running the ledger API: its services built from settings, and uvicorn.

:func:`build_services` opens the database (refusing a schema not at this code's head: run
``mrv api migrate``) and, with ``rpc_url``, the chain: the deployment's contracts, the EIP-712
domain items must be signed under, the device directory (resumed from the events and cursor the
watcher saved, read up to the head at start, then refreshed by the watcher at each poll), and
the chain watcher (:mod:`ledger_api.chain.watcher`), started in a background thread and stopped
when the application shuts down (or by :meth:`Services.close`). :func:`serve` runs uvicorn with
one worker in this process, or N worker processes that each build their services from the
environment (:func:`app_from_environment`; several workers need PostgreSQL). :func:`serve`
refuses to start without a usable API secret (``MRV_API_SECRET``, docs/api.md "Access").
Each serving process logs JSON lines to ``settings.log`` (:mod:`mrv_core.json_logs`): the
application's events, uvicorn's warnings and errors, and one access-log line per request
(:mod:`ledger_api.access_log`; uvicorn's own plain-text access log is off).
"""

from __future__ import annotations

import gc
import os
import signal
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import structlog
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from mrv_core.chain import Deployment, System, connect, load_artifacts
from mrv_core.errors import ChainError, ConfigError
from mrv_core.json_logs import configure_logging

from .access.device_tls import uvicorn_tls_options
from .app import ApiMetrics, Services, create_app
from .chain.device_store import load_directory
from .chain.directory import DeviceDirectory
from .chain.watcher import ChainWatcher
from .db.engine import make_engine, make_sessions
from .db.migrate import check_current
from .errors import ApiConfigError
from .recompute.figures import meter_figures
from .settings import ApiSettings, get_settings

__all__ = ["app_from_environment", "build_services", "serve", "settle_heap"]

_log: Any = structlog.get_logger("ledger_api")



def build_services(settings: ApiSettings) -> Services:
    """The database and, with ``settings.rpc_url``, the chain's view; raises
    :class:`ApiConfigError` (settings, schema) or a ``ChainError`` (the chain)."""
    engine = make_engine(settings.database_url, must_exist=True)
    try:
        check_current(engine)
        secret, public_metrics = _secret_or_none(settings), settings.public_metrics
        if settings.rpc_url is None:
            if settings.deployment is not None:
                raise ApiConfigError("--deployment names the contracts on a chain: give the "
                                     "chain's --rpc-url too")
            return Services(engine, make_sessions(engine), metrics=ApiMetrics(),
                            api_secret=secret, public_metrics=public_metrics,
                            require_client_certificate=settings.client_ca is not None,
                            retention_years=settings.retention_years)
        if settings.rpc_url.strip() == "embedded":
            raise ApiConfigError("the embedded chain lives only inside one process: no device "
                                 "could register on it; give a JSON-RPC URL")
        if settings.deployment is None:
            raise ApiConfigError("--deployment FILE is required with --rpc-url")
        chain = connect(settings.rpc_url, evm_version=load_artifacts().evm_version())
        system = System(chain, Deployment.read(settings.deployment))
        system.check_code()
        directory = _directory(system, engine)
        directory.refresh()
        metrics = ApiMetrics()
        watcher = ChainWatcher(system, engine, directory=directory,
                               confirmations=settings.watcher_confirmations,
                               poll_interval_s=settings.watcher_poll_interval_s,
                               metrics=metrics)
        watcher.check_database()
        watcher.start()
        return Services(engine, make_sessions(engine), devices=directory, domain=system.domain,
                        system=system, metrics=metrics, watcher=watcher,
                        watcher_stale_after_s=settings.watcher_stale_after_s,
                        api_secret=secret, public_metrics=public_metrics,
                        require_client_certificate=settings.client_ca is not None,
                        retention_years=settings.retention_years, figures=meter_figures)
    except BaseException:
        engine.dispose()
        raise


def _directory(system: System, engine: Engine) -> DeviceDirectory:
    """The device directory, resumed from the events and cursor the watcher saved (an empty
    one, reading from the deployment block, when none are saved or they cannot be used)."""
    with Session(engine) as session:
        events, cursor = load_directory(session, system.deployment.contracts["AnchorRegistry"])
    try:
        return DeviceDirectory(system, events=events, cursor=cursor)
    except (ConfigError, ChainError) as exc:  # a saved state that does not fold
        _log.warning("device_directory_not_resumed", error=str(exc)[:300])
        return DeviceDirectory(system)


def _secret_or_none(settings: ApiSettings) -> bytes | None:
    """The API secret if one is set (checked), ``None`` if not: an application built without
    one refuses every key; :func:`serve` refuses to start without one."""
    return settings.server_secret() if settings.api_secret is not None else None


def settle_heap() -> None:
    """Move everything allocated at start (web3, SQLAlchemy, the contracts' ABIs: hundreds of
    thousands of objects) out of the garbage collector's view (``gc.freeze``), so the full
    collections that ingest's allocations trigger do not walk them again and again."""
    gc.collect()
    gc.freeze()


def app_from_environment() -> FastAPI:
    """The application of one worker process, from ``MRV_*`` environment variables."""
    settings = get_settings()
    configure_logging(settings.log, key="--log")  # this worker's, for its life
    app = create_app(build_services(settings))
    settle_heap()
    return app


def serve(settings: ApiSettings) -> None:
    """Serve until interrupted (uvicorn handles SIGINT and SIGTERM)."""
    settings.check_listen()
    settings.server_secret()
    tls = uvicorn_tls_options(settings.tls_cert, settings.tls_key, settings.client_ca) \
        if settings.tls_cert is not None and settings.tls_key is not None else {}
    logs = configure_logging(settings.log, key="--log")  # a bad --log is refused first
    try:
        _serve(settings, tls)
    finally:
        logs.close()


class _Terminated(Exception):
    """SIGTERM arrived: uvicorn has shut the server down and raises the signal again."""


def _terminated(_signum: int, _frame: FrameType | None) -> None:
    raise _Terminated


def _listen_line(settings: ApiSettings, tls: dict[str, Any]) -> str:
    scheme = "https" if tls else "http"
    host = f"[{settings.api_host}]" if ":" in settings.api_host else settings.api_host
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    # The RPC URL's path and credentials may hold a provider's key: only its host is shown.
    chain = f"at {urlsplit(settings.rpc_url).hostname or '?'}" if settings.rpc_url \
        else "not configured"
    return (f"ledger API on {scheme}://{host}:{settings.api_port} ({settings.workers} "
            f"worker(s), database {database}, chain {chain})")


def _serve(settings: ApiSettings, tls: dict[str, Any]) -> None:
    if settings.workers == 1:
        services = build_services(settings)  # refuses a database or chain it cannot use
        # uvicorn shuts down on SIGTERM, then raises the signal again for the handler it
        # found: this one, so the services close below and the command exits 0, not 143.
        previous = signal.signal(signal.SIGTERM, _terminated)
        try:
            app = create_app(services)
            settle_heap()
            print(_listen_line(settings, tls), flush=True)
            uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_config=None,
                        access_log=False, **tls)
        except _Terminated:
            _log.info("stopped", signal="SIGTERM")
        finally:
            signal.signal(signal.SIGTERM, previous)
            services.close()
        return
    build_services(settings).close()  # fail here, once, rather than in N workers
    print(_listen_line(settings, tls), flush=True)
    for name, value in settings.model_dump(exclude_none=True).items():
        os.environ[f"MRV_{name.upper()}"] = value.get_secret_value() \
            if isinstance(value, SecretStr) else str(value)
    uvicorn.run("ledger_api.server:app_from_environment", factory=True,
                host=settings.api_host, port=settings.api_port, workers=settings.workers,
                log_config=None, access_log=False, **tls)
