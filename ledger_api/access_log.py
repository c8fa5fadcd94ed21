"""The access log: one structured event per HTTP request, and a request id on every answer.

:class:`AccessLog` is a pure ASGI middleware around the whole application. For each HTTP request
it logs one structlog event ``http_request`` (logger ``ledger_api.access``), which
:func:`mrv_core.json_logs.configure_logging` renders as a JSON line::

    {"event": "http_request", "level": "info", "timestamp": "2026-12-01T03:04:05.678Z",
     "request_id": "4f0c…", "method": "GET", "path": "/v1/readings", "query_bytes": 61,
     "status": 200, "bytes_out": 5120, "duration_ms": 3.417, "client": "127.0.0.1",
     "principal": 7}

- ``request_id``: the caller's ``X-Request-ID`` when it is 1-64 characters of ``A-Z a-z 0-9 .
  _ -``, else a fresh random one (32 hex digits); it is sent back as ``X-Request-ID`` on every
  answer, so a caller can quote it and an operator find the line.
- ``path`` is the URL path; the query string is not logged (cursors and filters may name an
  enterprise), only its length in bytes. Headers are never logged: an API key cannot reach the
  log this way.
- ``status`` is the answer's HTTP status. A request whose handler raised is answered here: 500
  as a problem document (check ``internal``, no error text) carrying its request id, the
  traceback logged as ``unhandled_error``; the line has the exception's type as ``error``.
- ``bytes_out``: bytes of the response body sent; ``duration_ms``: from the request's arrival to
  the last body byte handed to the server, in milliseconds.
- ``principal``: the id of the principal whose API key authenticated the request (set by
  :func:`ledger_api.access.dependencies.current_principal` through :func:`note_principal`), or
  absent; ``device``: the device of an uplink request (:func:`note_device`), or absent.

Level ``info`` below 500, ``error`` from 500 on. Lifespan and websocket traffic is passed through
unlogged.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

import structlog
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["REQUEST_ID_HEADER", "AccessLog", "note_device", "note_principal"]

#: The header carrying the request id, both ways.
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Where the request's fields for the log are kept in the ASGI scope's ``state``.
_FIELDS = "access_log"

_log: Any = structlog.get_logger("ledger_api.access")


def _note(request: Request, key: str, value: object) -> None:
    fields = request.scope.get("state", {}).get(_FIELDS)
    if isinstance(fields, dict):
        fields[key] = value


def note_principal(request: Request, principal_id: int) -> None:
    """Record the authenticated principal's id for the request's access-log line."""
    _note(request, "principal", principal_id)


def note_device(request: Request, device: str) -> None:
    """Record the device (checksummed address) of an uplink request for its access-log line."""
    _note(request, "device", device)


class AccessLog:
    """ASGI middleware: logs each HTTP request once it is answered, and adds ``X-Request-ID``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        offered = _header(scope, b"x-request-id")
        request_id = offered if offered is not None and _REQUEST_ID.fullmatch(offered) \
            else secrets.token_hex(16)
        fields: dict[str, object] = {}
        scope.setdefault("state", {})[_FIELDS] = fields
        status: int | None = None  # until the answer starts
        sent = 0

        async def send_logged(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        error: str | None = None
        try:
            await self.app(scope, receive, send_logged)
        except Exception as exc:
            error = type(exc).__name__
            _log.exception("unhandled_error", request_id=request_id, path=scope["path"])
            if status is not None:
                status = 500
                raise  # too late for a problem document: the server closes the connection
            await _internal_error(send_logged)  # sets status 500
        finally:
            client = scope.get("client")
            status = 500 if status is None else status  # the app ended without an answer
            event = _log.error if status >= 500 else _log.info
            event("http_request", request_id=request_id, method=scope["method"],
                  path=scope["path"], query_bytes=len(scope.get("query_string", b"")),
                  status=status, bytes_out=sent,
                  duration_ms=round((time.perf_counter() - started) * 1000, 3),
                  client=client[0] if client else None,
                  **({"error": error} if error else {}), **fields)


async def _internal_error(send: Send) -> None:
    """Answer 500 as a problem document (RFC 9457), without the error's text: that is in the
    log, under the request id the answer carries."""
    body = json.dumps({"type": "urn:trustmrv:problem:internal", "title": "Internal Server Error",
                       "status": 500, "check": "internal",
                       "detail": "the server failed; the log has the details under this "
                                 "request's X-Request-ID"}).encode()
    await send({"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower case) in ``scope``, as Latin-1 text."""
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None
