"""A recording receiver for the uplink: it stands in for the ledger API's ``POST /v1/uplink``
until the ledger API issue builds the real one.

A real HTTP(S) server (``http.server`` in a thread) on 127.0.0.1, started and stopped by the
test. For every request it: reads the body (bounded), checks the decompressed JSON against the
JSON Schema in docs/schemas/ AND decodes it with ``mrv_core.uplink.decode_request`` (both must
accept, else 400 and the error is recorded: tests assert none happened), checks the client
certificate's device address against the document's device when it serves TLS, verifies each
item's signature with ``mrv_core.verify``, stores new items by identity key
(``mrv_core.uplink.item_key``), and answers the ``trustmrv-uplink-ack/1`` document. It can be
told to fail: answer a status (5xx, 429 with Retry-After), drop the connection before or after
storing (a lost acknowledgement), answer slowly, or go down entirely (connection refused) and
come back on the same port.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from mrv_core.batch import SignedBatchHeader
from mrv_core.compression import gunzip_bounded
from mrv_core.errors import (
    DocumentTooLarge,
    FormatError,
    MrvError,
    UnsupportedEncoding,
    VerificationError,
)
from mrv_core.reading import SignedReading
from mrv_core.uplink import (
    LIMITS,
    UPLINK_PATH,
    Status,
    UplinkItem,
    UplinkRequest,
    Verdict,
    decode_request,
    encode_ack,
    item_id,
    item_key,
)
from mrv_core.verify import verify_signed_header, verify_signed_reading, verify_signed_record

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "docs" / "schemas"
                     / "trustmrv-uplink-1.schema.json").read_text("utf-8"))


@dataclass
class Faults:
    """What the next requests suffer (each counter is consumed one request at a time)."""

    status: int = 503
    fail_next: int = 0  # answer ``status`` without looking at the body
    retry_after: str | None = None
    drop_next: int = 0  # close the connection before storing anything
    drop_after_store_next: int = 0  # store, then close without answering: the ack is lost
    delay_s: float = 0.0  # answer the next ``slow_next`` requests this much later
    slow_next: int = 0
    #: one fault per request, consumed first: "ok", "drop", "lost_ack", "bad_ack" (store, then
    #: answer 200 with an acknowledgement of another request) or a status ("503")
    schedule: list[str] = field(default_factory=list)


@dataclass
class Recorded:
    """What the receiver holds: items by identity key, the order they were first stored in,
    every verdict it gave, and every request it refused as malformed."""

    items: dict[tuple[object, ...], UplinkItem] = field(default_factory=dict)
    order: list[UplinkItem] = field(default_factory=list)
    verdicts: list[tuple[UplinkItem, Verdict]] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    requests: int = 0


class Receiver:
    """The recording receiver (see the module docstring). ``certificate_device`` maps the DER
    client certificate to the device address it binds (TLS only)."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None,
                 certificate_device: Callable[[bytes], bytes] | None = None) -> None:
        self.faults = Faults()
        self.recorded = Recorded()
        self._ssl = ssl_context
        self._certificate_device = certificate_device
        self._lock = threading.Lock()
        self._validator = Draft202012Validator(SCHEMA)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"{'https' if self._ssl else 'http'}://127.0.0.1:{self.port}"

    # -- lifecycle -----------------------------------------------------------------------------

    def up(self) -> Receiver:
        """Start serving (on the same port as before, after :meth:`down`)."""
        assert self._server is None
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        server.daemon_threads = False  # server_close joins every handler thread
        if self._ssl is not None:
            server.socket = self._ssl.wrap_socket(server.socket, server_side=True)
        self._server, self.port = server, server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"receiver-{self.port}")
        self._thread.start()
        return self

    def down(self) -> None:
        """Stop serving: connections are refused until :meth:`up`."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        assert self._thread is not None
        self._thread.join(timeout=10)
        self._server = self._thread = None

    # -- one request ---------------------------------------------------------------------------

    def handle(self, body: bytes, encoding: str | None, peer_der: bytes | None
               ) -> tuple[int, bytes] | None:
        """The status and body to answer, or ``None`` to drop the connection."""
        with self._lock:
            self.recorded.requests += 1
            faults = self.faults
            scheduled = faults.schedule.pop(0) if faults.schedule else "ok"
            if scheduled == "drop":
                return None
            if scheduled.isdigit():
                return int(scheduled), b'{"error": "scheduled failure"}'
            if faults.drop_next:
                faults.drop_next -= 1
                return None
            if faults.fail_next:
                faults.fail_next -= 1
                return faults.status, b'{"error": "injected failure"}'
            drop_after = faults.drop_after_store_next > 0 or scheduled == "lost_ack"
            if faults.drop_after_store_next:
                faults.drop_after_store_next -= 1
        try:
            request = decode_request(body, encoding)
            errors = [e.message for e in self._validator.iter_errors(
                json.loads(gunzip_bounded(body, LIMITS.decompressed_bytes)))]
            if errors:
                raise FormatError("$", f"schema: {errors[:3]}")
        except (DocumentTooLarge, UnsupportedEncoding, FormatError) as exc:
            with self._lock:
                self.recorded.malformed.append(str(exc))
            status = (413 if isinstance(exc, DocumentTooLarge) else
                      415 if isinstance(exc, UnsupportedEncoding) else 400)
            return status, json.dumps({"error": str(exc)}).encode()
        if self._certificate_device is not None and (
                peer_der is None or self._certificate_device(peer_der) != request.device):
            return 403, b'{"error": "the client certificate names another device"}'
        verdicts = self._store(request)
        if drop_after:
            return None
        if scheduled == "bad_ack":  # the ids of other items: the client must not trust it
            return 200, encode_ack(request, [Verdict(bytes(32), v.status, v.reason)
                                             for v in verdicts])
        return 200, encode_ack(request, verdicts)

    def _store(self, request: UplinkRequest) -> list[Verdict]:
        verdicts = []
        with self._lock:
            for item in request.items:
                verdict = self._verdict(item, request)
                self.recorded.verdicts.append((item, verdict))
                verdicts.append(verdict)
        return verdicts

    def _verdict(self, item: UplinkItem, request: UplinkRequest) -> Verdict:
        identity = item_id(item)
        try:
            if isinstance(item, SignedReading):
                verify_signed_reading(item, request.domain)
            elif isinstance(item, SignedBatchHeader):
                verify_signed_header(item, request.domain)
            else:
                verify_signed_record(item, request.domain)
        except (VerificationError, MrvError) as exc:
            return Verdict(identity, Status.REJECTED, f"bad_signature: {exc}")
        key = item_key(item)
        held = self.recorded.items.get(key)
        if held is not None:
            return (Verdict(identity, Status.DUPLICATE) if item_id(held) == identity
                    else Verdict(identity, Status.CONFLICT, "another item holds this key"))
        self.recorded.items[key] = item
        self.recorded.order.append(item)
        return Verdict(identity, Status.ACCEPTED)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 5  # seconds a handler waits on a silent client: down() never hangs on one

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.close_connection = True
            if self.path != UPLINK_PATH:
                return self._answer(404, b'{"error": "not found"}')
            length = int(self.headers.get("Content-Length", "0"))
            if length > LIMITS.compressed_bytes:
                return self._answer(413, b'{"error": "too large"}')
            body = self.rfile.read(length)
            peer = (self.connection.getpeercert(binary_form=True)
                    if isinstance(self.connection, ssl.SSLSocket) else None)
            outcome = receiver.handle(body, self.headers.get("Content-Encoding"), peer)
            if receiver.faults.slow_next:
                receiver.faults.slow_next -= 1
                time.sleep(receiver.faults.delay_s)
            if outcome is None:
                return None  # the connection closes with no response
            self._answer(*outcome)

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            if status in (429, 503) and receiver.faults.retry_after is not None:
                self.send_header("Retry-After", receiver.faults.retry_after)
            self.end_headers()
            self.wfile.write(body)

    return Handler
