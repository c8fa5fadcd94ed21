"""The ledger API's settings: flags and ``MRV_*`` environment variables, read in a factory.

Nothing is read at import time: :func:`get_settings` builds an :class:`ApiSettings` from the
environment (``MRV_DATABASE_URL``, ``MRV_RPC_URL``, ``MRV_DEPLOYMENT``, ``MRV_API_HOST``,
``MRV_API_SECRET``...),
explicit values (the CLI's flags) taking precedence.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mrv_core.uplink import LIMITS

from .access.keys import check_server_secret
from .errors import ApiConfigError
from .retention import DEFAULT_RETENTION_YEARS, MIN_RETENTION_YEARS, RETENTION_SOURCES

__all__ = ["DEFAULT_DATABASE_URL", "ApiSettings", "get_settings"]

#: One plant's ledger: a SQLite file in the working directory.
DEFAULT_DATABASE_URL = "sqlite:///mrv-ledger.sqlite"


class ApiSettings(BaseSettings):
    """What ``mrv api serve`` and ``mrv api migrate`` run with.

    - ``database_url``: a SQLAlchemy URL, ``sqlite:///PATH`` (one plant) or
      ``postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB`` (``MRV_DATABASE_URL``).
    - ``rpc_url`` and ``deployment``: the chain's JSON-RPC URL and the deployment file
      (``mrv chain deploy --out``); ingest needs both (the device registry and the EIP-712
      domain come from them).
    - ``api_host``/``api_port``: where uvicorn listens (a loopback address unless TLS is set).
    - ``workers``: uvicorn worker processes (1..64; several need PostgreSQL).
    - ``tls_cert``/``tls_key``: serve HTTPS; ``client_ca``: the enterprise CA (PEM, ``mrv
      pki``) whose device certificates the uplink requires, binding each request's device
      (``MRV_CLIENT_CA``; docs/protocol.md 10.8, ``ledger_api.access.device_tls``).
    - ``max_body_bytes``: the largest request body read (the uplink's compressed limit, 4 MiB).
    - ``watcher_poll_interval_s``: seconds between two polls of the chain watcher (2).
    - ``watcher_confirmations``: blocks on top of an anchor's block before its batch is
      ``final`` (1; 0 on a chain with immediate finality makes it final in its own block).
    - ``watcher_stale_after_s``: ``/readyz`` fails when the watcher's last successful poll is
      older than this (60 s).
    - ``api_secret``: the server secret API keys are stored and checked under (HMAC-SHA256,
      ``ledger_api.access.keys``); environment only (``MRV_API_SECRET``), never a flag, so it
      stays out of process listings. ``serve`` and ``principal add`` refuse to run without a
      usable one (:meth:`server_secret`).
    - ``public_metrics``: ``/metrics`` answers without an API key (``MRV_PUBLIC_METRICS``).
    - ``log``: where ``serve`` writes its JSON-lines log, the access log
      (``ledger_api.access_log``) among it: a file path (appended) or ``-`` for standard
      error (``MRV_LOG``; :func:`mrv_core.json_logs.configure_logging`).
    - ``retention_years``: the minimum retention (``MRV_RETENTION_YEARS``, default 10 as the EU
      MRR asks, never below 5, China's; ``ledger_api.retention``): purges may delete only
      data older than this.
    """

    model_config = SettingsConfigDict(env_prefix="MRV_", frozen=True, extra="forbid")

    database_url: str = DEFAULT_DATABASE_URL
    rpc_url: str | None = None
    deployment: Path | None = None
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8600, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None
    max_body_bytes: int = Field(default=LIMITS.compressed_bytes, ge=1024,
                                le=LIMITS.compressed_bytes)
    watcher_poll_interval_s: float = Field(default=2.0, gt=0, le=3600)
    watcher_confirmations: int = Field(default=1, ge=0, le=100_000)
    watcher_stale_after_s: float = Field(default=60.0, gt=0)
    api_secret: SecretStr | None = None
    public_metrics: bool = False
    log: str = "-"
    retention_years: int = Field(default=DEFAULT_RETENTION_YEARS, le=1000)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql+psycopg://")):
            raise ValueError("expected sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
                             f", got {value.split('://')[0]!r}://...")
        return value

    @field_validator("retention_years")
    @classmethod
    def _retention_floor(cls, value: int) -> int:
        if value < MIN_RETENTION_YEARS:
            raise ValueError(f"expected at least {MIN_RETENTION_YEARS} years "
                             f"({RETENTION_SOURCES}), got {value}")
        return value

    def server_secret(self) -> bytes:
        """The API secret's bytes (its UTF-8, or the environment's bytes as given); raises
        :class:`ApiConfigError` when it is missing, shorter than 32 bytes or a placeholder
        (``ledger_api.access.keys.check_server_secret``), naming the rule broken, never the
        value."""
        value = None if self.api_secret is None else self.api_secret.get_secret_value()
        # surrogateescape: the bytes of the environment as given, even when not UTF-8.
        return check_server_secret(None if value is None
                                   else value.encode("utf-8", "surrogateescape"))

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    def check_listen(self) -> None:
        """Raise :class:`ApiConfigError` unless the listen address is usable: plain HTTP only
        on a loopback address literal, TLS needs both a certificate and its key, several
        workers need PostgreSQL (SQLite has one writer)."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ApiConfigError("TLS needs both --tls-cert and --tls-key")
        if self.client_ca is not None and not self.tls:
            raise ApiConfigError("--client-ca needs TLS (--tls-cert and --tls-key): client "
                                 "certificates exist only in a TLS handshake")
        if not self.tls:
            try:
                loopback = ipaddress.ip_address(self.api_host).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise ApiConfigError(f"plain HTTP only on a loopback address (127.0.0.1, ::1), "
                                     f"got {self.api_host!r}: give --tls-cert and --tls-key to "
                                     "listen elsewhere")
        if self.workers > 1 and self.database_url.startswith("sqlite"):
            raise ApiConfigError(f"{self.workers} workers need PostgreSQL (MRV_DATABASE_URL="
                                 "postgresql+psycopg://...); SQLite serves one worker")


def get_settings(**values: Any) -> ApiSettings:
    """Settings from the environment with ``values`` (not None) taking precedence; raises
    :class:`ApiConfigError` naming the setting and the problem."""
    try:
        return ApiSettings(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ApiConfigError(f"{where} (MRV_{where.upper()}): {message}") from None
