"""Request bodies read with a bound: a body past its limit is refused without being read
further (``DocumentTooLarge``, answered 413)."""

from __future__ import annotations

from fastapi import Request

from mrv_core.errors import DocumentTooLarge

__all__ = ["read_body"]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing one past ``limit`` bytes (by its Content-Length, or once
    ``limit + 1`` bytes arrived)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise DocumentTooLarge("$", f"body is {int(declared)} bytes, limit {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise DocumentTooLarge("$", f"body is over {limit} bytes")
    return bytes(body)
