"""Devices over TLS: the client certificate from the enterprise's CA (``mrv pki``) whose device
address must be the uplink's signer.

With ``--client-ca FILE`` (and ``--tls-cert``/``--tls-key``) the server asks every client for a
certificate and verifies one that is presented against that CA (``ssl.CERT_OPTIONAL``: principals
reading with API keys need none). ``POST /v1/uplink`` then requires one: a request without a
verified device certificate, or whose certificate binds another device than the request's
(``mrv_core.pki.device_address_of_certificate``), is refused with 403 (check ``certificate``)
before any item is looked at. Without ``--client-ca`` the uplink is authenticated by its items'
signatures alone (docs/protocol.md 10).

Uvicorn does not hand the peer certificate to the application; :class:`PeerCertificateH11`
(uvicorn's h11 protocol) adds it to each request's scope as the ASGI TLS extension
(``scope["extensions"]["tls"]["client_cert_chain"]``: the verified peer certificate, PEM), and
:func:`certified_device` reads it back.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from mrv_core.codec import format_address
from mrv_core.errors import MrvError
from mrv_core.pki import device_address_of_certificate, load_certificate, pem_path, read_pem_file

from ..errors import AccessRefused

__all__ = ["PeerCertificateH11", "certified_device", "check_certified", "uvicorn_tls_options"]

_Scope = MutableMapping[str, Any]
_Asgi = Callable[[_Scope, Any, Any], Awaitable[None]]


class _WithPeerCertificate:
    """The application with the connection's peer certificate in every request's scope."""

    def __init__(self, app: _Asgi, pem: str | None) -> None:
        self.app = app
        self.pem = pem

    async def __call__(self, scope: _Scope, receive: Any, send: Any) -> None:
        extensions = scope.setdefault("extensions", {})
        extensions["tls"] = {"server_cert": None, "client_cert_name": None,
                             "client_cert_error": None, "tls_version": None,
                             "cipher_suite": None,
                             "client_cert_chain": [self.pem] if self.pem else []}
        await self.app(scope, receive, send)


class PeerCertificateH11(H11Protocol):
    """Uvicorn's h11 protocol, adding the verified client certificate (if any) to the scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        tls = transport.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if isinstance(tls, ssl.SSLObject) else None
        self.app = _WithPeerCertificate(self.app, ssl.DER_cert_to_PEM_cert(der) if der else None)


def uvicorn_tls_options(cert: Path, key: Path, client_ca: Path | None) -> dict[str, Any]:
    """``uvicorn.run``/``uvicorn.Config`` options serving HTTPS with ``cert`` and ``key`` and,
    with ``client_ca``, verifying client certificates of that CA when presented. The files are
    checked first (regular, small; the CA a certificate): raises
    :class:`~mrv_core.errors.CertificateError` naming the file."""
    options: dict[str, Any] = {"ssl_certfile": pem_path(cert, "--tls-cert"),
                               "ssl_keyfile": pem_path(key, "--tls-key")}
    if client_ca is not None:
        load_certificate(read_pem_file(client_ca, "--client-ca"), f"--client-ca {client_ca}")
        options.update(ssl_ca_certs=str(client_ca), ssl_cert_reqs=ssl.CERT_OPTIONAL,
                       http=PeerCertificateH11)
    return options


def certified_device(scope: _Scope) -> bytes:
    """The device address the request's verified client certificate binds; raise
    :class:`AccessRefused` (403 ``certificate``) when there is none or it binds no device. Run
    before the body is read: a client without a certificate costs no decompression."""
    chain = scope.get("extensions", {}).get("tls", {}).get("client_cert_chain") or []
    if not chain:
        raise AccessRefused(403, "certificate", "this ledger requires the device's TLS client "
                                                "certificate from the enterprise CA; none was "
                                                "presented")
    try:
        return device_address_of_certificate(chain[0].encode("ascii"), "the client certificate")
    except MrvError as exc:
        raise AccessRefused(403, "certificate", str(exc)) from None


def check_certified(certified: bytes, device: bytes) -> None:
    """Raise :class:`AccessRefused` (403 ``certificate``) unless the certificate's device
    (:func:`certified_device`) is the request's ``device``."""
    if certified != device:
        raise AccessRefused(403, "certificate", f"the client certificate binds device "
                                                f"{format_address(certified)}, the request is "
                                                f"device {format_address(device)}'s")
