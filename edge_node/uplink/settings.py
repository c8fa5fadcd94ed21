"""The uplink's settings and its TLS context.

Transport rule (THREATS.md, issue 9): ``https://`` with a client certificate (the device's TLS
certificate signed by the enterprise CA, ``mrv pki``); plain ``http://`` only to a loopback
address literal (``127.0.0.0/8``, ``::1``; not the name ``localhost``, which resolves through
the host's files). The URL is checked as the HTTP client (httpx) will parse it: no space,
quote, ``<>\\^`{|}`` or control character (``urlsplit`` silently drops a newline or tab that
httpx refuses), and httpx must read the same scheme and host. Anything else is a
:class:`~mrv_core.errors.ConfigError` naming the key.
Times are integer milliseconds.
"""

from __future__ import annotations

import ipaddress
import ssl
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from mrv_core.errors import CertificateError, ConfigError
from mrv_core.pki import pem_path
from mrv_core.uplink import UPLINK_PATH

__all__ = ["UplinkSettings"]

#: Printable characters a URL never holds raw (RFC 3986 section 2; they must be %-encoded).
_NOT_IN_URL = frozenset(' "\'<>\\^`{|}')


def _describe(char: str) -> str:
    """``U+000A (LINE FEED)``: a character named so that an invisible one shows."""
    name = unicodedata.name(char, "") or {"\n": "LINE FEED", "\r": "CARRIAGE RETURN",
                                          "\t": "TAB"}.get(char, "a control character")
    return f"U+{ord(char):04X} ({name})"


@dataclass(frozen=True)
class UplinkSettings:
    """Where and how the uplink delivers (the node's config file composes this as ``[uplink]``).

    ``url`` is the ledger API's base URL; requests go to ``url`` + ``/v1/uplink``.
    ``chunk_size`` items at most per request (readings and records first, batch headers when
    the leaves are caught up). Retries back off exponentially from ``backoff_initial_ms`` up to
    ``backoff_max_ms`` with full jitter (or the server's Retry-After, if longer);
    ``max_attempts`` 0 retries until stopped. ``idle_poll_ms`` is the pause when nothing is
    pending, ``refusal_holdoff_ms`` the pause after a refusal. ``max_backlog_age_ms``: the
    node's ``uplink`` health check fails when the oldest item the ledger API has not
    acknowledged is older than this (``edge_node.uplink.health``). ``ca_file`` verifies the server
    (the system's trust store when absent); ``cert_file``/``key_file`` are the device's client
    certificate and key (PEM), required for https."""

    url: str
    chunk_size: int = 500
    timeout_ms: int = 30_000
    backoff_initial_ms: int = 500
    backoff_max_ms: int = 60_000
    max_attempts: int = 0
    idle_poll_ms: int = 5_000
    refusal_holdoff_ms: int = 600_000
    max_backlog_age_ms: int = 900_000
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def __post_init__(self) -> None:
        for name, low in (("chunk_size", 1), ("timeout_ms", 1), ("backoff_initial_ms", 1),
                          ("backoff_max_ms", 1), ("max_attempts", 0), ("idle_poll_ms", 1),
                          ("refusal_holdoff_ms", 1), ("max_backlog_age_ms", 1)):
            value = getattr(self, name)
            if type(value) is not int or value < low:
                raise ConfigError(f"uplink.{name}: expected an integer >= {low}, got {value!r}")
        if self.backoff_max_ms < self.backoff_initial_ms:
            raise ConfigError(f"uplink.backoff_max_ms: {self.backoff_max_ms} is below "
                              f"backoff_initial_ms {self.backoff_initial_ms}")
        self._check_url()

    def _check_url(self) -> None:
        if bad := next((c for c in self.url if c in _NOT_IN_URL or not c.isprintable()), None):
            raise ConfigError(f"uplink.url: {_describe(bad)} is not allowed in the URL (no "
                              f"spaces, quotes or control characters), got {self.url!r:.200}")
        try:
            parts = urlsplit(self.url)
            host = parts.hostname
            parts.port  # noqa: B018 - raises ValueError for a malformed port
        except (ValueError, AttributeError, TypeError):
            raise ConfigError(f"uplink.url: not a URL: {self.url!r:.200}") from None
        if parts.scheme not in ("http", "https") or not host:
            raise ConfigError(f"uplink.url: expected http(s)://HOST[:PORT][/PATH], got "
                              f"{self.url!r:.200}")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ConfigError("uplink.url: no user, query or fragment allowed (the client "
                              f"certificate authenticates), got {self.url!r:.200}")
        if parts.scheme == "http":
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise ConfigError(f"uplink.url: plain http is allowed only to a loopback address "
                                  f"(127.0.0.1, ::1), got host {host!r}; use https:// with the "
                                  "device's client certificate (uplink.cert_file, "
                                  "uplink.key_file)")
        elif self.cert_file is None or self.key_file is None:
            raise ConfigError("uplink.cert_file and uplink.key_file: https needs the device's "
                              "client certificate and key (mrv edge init, mrv pki sign)")
        try:  # the URL as the client will parse it: the same host, or refused here
            parsed = httpx.URL(self.endpoint)
        except (httpx.InvalidURL, ValueError) as exc:
            raise ConfigError(f"uplink.url: the HTTP client cannot use it ({exc}), got "
                              f"{self.url!r:.200}") from None
        if parsed.host != host.lower() or parsed.scheme != parts.scheme:
            raise ConfigError(f"uplink.url: the HTTP client reads host {parsed.host!r}, not "
                              f"{host!r}, got {self.url!r:.200}")

    @property
    def endpoint(self) -> str:
        """The URL requests are POSTed to."""
        return self.url.rstrip("/") + UPLINK_PATH

    @property
    def https(self) -> bool:
        return self.url.startswith("https:")

    def ssl_context(self) -> ssl.SSLContext:
        """The client's TLS context: TLS 1.2 or later, the server verified against ``ca_file``
        (else the system's trust store) and its host name, the device's certificate presented.
        Raises :class:`ConfigError` naming the file that cannot be used."""
        try:
            ca_file = None if self.ca_file is None else pem_path(self.ca_file, "uplink.ca_file")
            cert_file, key_file = (
                (None, None) if self.cert_file is None or self.key_file is None else
                (pem_path(self.cert_file, "uplink.cert_file"),
                 pem_path(self.key_file, "uplink.key_file")))
        except CertificateError as exc:
            raise ConfigError(str(exc)) from None
        try:
            context = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"uplink.ca_file: {self.ca_file}: {exc}") from None
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if cert_file is not None and key_file is not None:
            try:
                context.load_cert_chain(cert_file, key_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"uplink.cert_file/key_file: {self.cert_file}, "
                                  f"{self.key_file}: {exc}") from None
        return context
