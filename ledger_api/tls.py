"""TLS client certificates for the uplink: uvicorn's HTTP/1.1 protocol with the peer's
certificate put into each request's ASGI scope.

uvicorn verifies the client certificate in the handshake (``ssl_cert_reqs=CERT_REQUIRED``,
``ssl_ca_certs`` the enterprise CA of ``mrv pki``) but does not tell the application which
certificate it was. :class:`ClientCertH11Protocol` reads it from the connection's SSL object
once the handshake is done and sets the ASGI TLS extension (``scope["extensions"]["tls"]
["client_cert_chain"]``, the PEM of the peer's certificate) for every request on that
connection. :func:`client_certificate` reads it back; the uplink compares the device address
the certificate binds (``mrv_core.pki.device_address_of_certificate``, docs/protocol.md 10.8)
with the document's device.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["ClientCertH11Protocol", "client_certificate"]

_Scope = MutableMapping[str, Any]
_App = Callable[[_Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
                Awaitable[None]]


class ClientCertH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that hands the verified client certificate to the application."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        pem = ssl.DER_cert_to_PEM_cert(der) if der else None
        inner: _App = self.app

        async def app(scope: _Scope, receive: Callable[[], Awaitable[Any]],
                      send: Callable[[Any], Awaitable[None]]) -> None:
            extensions = scope.setdefault("extensions", {})
            extensions["tls"] = {"client_cert_chain": [pem] if pem else []}
            await inner(scope, receive, send)

        self.app = app


def client_certificate(scope: _Scope) -> bytes | None:
    """The PEM bytes of the client certificate the TLS handshake verified for this request, or
    None (plain HTTP, or no certificate)."""
    chain = scope.get("extensions", {}).get("tls", {}).get("client_cert_chain") or []
    return chain[0].encode("ascii") if chain else None
