"""The relayer's HTTP service (stdlib ``http.server``, one thread per request).

``POST /v1/anchor`` with ``{"batch": {device, batchSeq, root, leafCount, fromTimestamp,
toTimestamp, signature}}`` (the version 2 header object of ``docs/protocol.md``, integers as
decimal strings, at most 4 KiB) answers ``200 {"state": "anchored", "transactionHash",
"blockNumber"}`` once the anchor is mined, or ``{"error": TEXT}`` with 400 (malformed), 403
(signature or device refused), 404, 409 (conflicts with the chain), 411/413 (length), 503
(chain unavailable or transaction not mined yet: retry). ``GET /v1/health`` answers 200.

It listens on a loopback address unless given a TLS certificate and key (then any address the
operator names); plain HTTP never leaves the machine.
"""

from __future__ import annotations

import ipaddress
import json
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import structlog

from mrv_core.codec import format_hex
from mrv_core.errors import CertificateError, ConfigError, FormatError
from mrv_core.pki import describe_contents, pem_path, read_pem_file
from mrv_core.strict_json import expect_object, loads_strict
from mrv_core.wire import decode_batch_header

from ..anchoring.paths import RELAY_PATH
from ..errors import RelayRefused
from .relayer import Relayer

__all__ = ["HEALTH_PATH", "MAX_BODY_BYTES", "RelayServer"]

MAX_BODY_BYTES = 4096
#: Seconds a request may take to arrive on an open connection before it is closed.
IDLE_TIMEOUT_S = 10
HEALTH_PATH = "/v1/health"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RelayServer(ThreadingHTTPServer):
    """Serves one :class:`Relayer` on ``host``:``port`` (0: any free port).

    Closing it waits for the request threads. Every answer closes its connection (anchors are
    rare; no keep-alive connection idles), and a request must arrive within
    :data:`IDLE_TIMEOUT_S` seconds, so closing never waits long."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, relayer: Relayer, host: str = "127.0.0.1", port: int = 0, *,
                 tls_cert: Path | None = None, tls_key: Path | None = None) -> None:
        if (tls_cert is None) != (tls_key is None):
            raise ConfigError("TLS needs both a certificate and its key (--tls-cert, --tls-key)")
        if tls_cert is None and not _is_loopback(host):
            raise ConfigError(f"plain HTTP only on a loopback address, got {host!r}: give "
                              f"--tls-cert and --tls-key to listen elsewhere")
        context = None if tls_cert is None or tls_key is None else _tls_context(tls_cert,
                                                                                 tls_key)
        self.relayer = relayer
        self.tls = context is not None
        super().__init__((host, port), _Handler)
        if context is not None:
            # The handshake happens in the request's thread (``_Handler.setup``), so a slow or
            # hostile client cannot hold up the accepting loop.
            self.socket = context.wrap_socket(self.socket, server_side=True,
                                              do_handshake_on_connect=False)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A broken connection (failed TLS handshake, reset) is logged, not printed."""
        structlog.get_logger("edge_node.relay").warning(
            "connection_failed", client=str(client_address[0]))

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = str(host)
        shown = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{shown}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: RelayServer
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def log_message(self, format: str, *args: Any) -> None:
        structlog.get_logger("edge_node.relay").debug("http", line=format % args)

    def _answer(self, status: int, body: dict[str, str]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.close_connection = True  # one request per connection: nothing idles to wait for
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path != HEALTH_PATH:
            self._answer(404, {"error": f"no such path {self.path[:100]!r}"})
            return
        self._answer(200, {"status": "ok"})

    def do_POST(self) -> None:
        if self.path != RELAY_PATH:
            self._answer(404, {"error": f"no such path {self.path[:100]!r}"})
            return
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self._answer(411, {"error": "Content-Length is required"})
            return
        try:
            length = int(length_header)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._answer(413 if length > MAX_BODY_BYTES else 400,
                         {"error": f"body must be 0..{MAX_BODY_BYTES} bytes, Content-Length "
                                   f"says {length_header[:40]!r}"})
            return
        try:
            document = expect_object(loads_strict(self.rfile.read(length),
                                                  max_bytes=MAX_BODY_BYTES), "$", ("batch",))
            header, signature = decode_batch_header(document["batch"], "$.batch", signed=True)
        except FormatError as exc:
            self._answer(400, {"error": str(exc)})
            return
        assert signature is not None
        try:
            relayed = self.server.relayer.relay(header, signature)
        except RelayRefused as exc:
            self._answer(exc.status, {"error": exc.reason})
            return
        self._answer(200, {"state": "anchored", "transactionHash": format_hex(relayed.tx_hash),
                           "blockNumber": str(relayed.block_number)})


def _tls_context(tls_cert: Path, tls_key: Path) -> ssl.SSLContext:
    """The server's TLS context, built before the port is bound: each file is checked to be a
    regular PEM file of bounded size first (``mrv_core.pki.pem_path``), so a FIFO or a device
    is refused instead of blocking OpenSSL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(pem_path(tls_cert, "--tls-cert"), pem_path(tls_key, "--tls-key"))
    except CertificateError as exc:
        raise ConfigError(str(exc)) from None
    except (OSError, ssl.SSLError) as exc:
        found = ", ".join(f"{flag} {path} is {_contents(path)}"
                          for flag, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)))
        reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
        raise ConfigError(f"expected a PEM CERTIFICATE (--tls-cert) and its PEM PRIVATE KEY "
                          f"(--tls-key); {found}: OpenSSL refused them ({reason})") from None
    return context


def _contents(path: Path) -> str:
    """What a TLS file holds, for the error above (both were read once already)."""
    try:
        return describe_contents(read_pem_file(path, "TLS file"))
    except CertificateError as exc:
        return f"unreadable ({exc})"
