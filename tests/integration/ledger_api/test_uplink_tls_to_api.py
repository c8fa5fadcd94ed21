"""The uplink over TLS with device client certificates against the real ledger API (uvicorn,
``--client-ca``): the certificate of the document's device delivers; a certificate of the same
CA for another device is refused with 403 and nothing is stored; one from another CA is refused
in the handshake."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from integration.chain.support import Actors
from integration.edge_node.conftest import fill
from integration.ledger_api.conftest import LedgerServer, free_port, ledger_services
from pki_support import device_certificate, server_certificate
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edge_node.errors import UplinkRefused, UplinkUnavailable
from edge_node.store import Store, StoreUplink
from edge_node.uplink import UplinkClient, UplinkSettings
from ledger_api.db.models import LeafRow
from ledger_api.tls import ClientCertH11Protocol
from mrv_core.keys import DeviceKey
from mrv_core.pki import init_ca


@pytest.fixture
def tls_server(ledger_actors: Actors, tmp_path: Path) -> Iterator[LedgerServer]:
    init_ca(tmp_path / "ca")
    init_ca(tmp_path / "rogue-ca", name="Someone else's CA")
    cert, key = server_certificate(tmp_path / "ca", tmp_path)
    services = ledger_services(ledger_actors.system, tmp_path / "ledger.sqlite")
    services.require_client_cert = True
    server = LedgerServer(services, free_port(), tls={
        "ssl_certfile": str(cert), "ssl_keyfile": str(key), "ssl_cert_reqs": ssl.CERT_REQUIRED,
        "ssl_ca_certs": str(tmp_path / "ca" / "ca.crt"), "http": ClientCertH11Protocol}).up()
    yield server
    server.down()
    services.engine.dispose()


def push(actors: Actors, server: LedgerServer, tmp_path: Path, ca: str,
         address: bytes) -> tuple[int, Store]:
    cert, key = device_certificate(tmp_path / ca, tmp_path / f"device-{ca}-{address.hex()}",
                                   address)
    store = Store(tmp_path / "edge.sqlite", actors.device.address, actors.system.domain)
    if not StoreUplink(store).items_after("leaves", -1, 1):
        registered = int(actors.chain.w3.eth.get_block("latest")["timestamp"])
        fill(store, 3, key=actors.device, t0=registered + 60)
    settings = UplinkSettings(url=server.url, ca_file=tmp_path / "ca" / "ca.crt",
                              cert_file=cert, key_file=key, max_attempts=2,
                              backoff_initial_ms=5, backoff_max_ms=10, timeout_ms=5_000)

    async def run() -> int:
        async with UplinkClient(settings, StoreUplink(store), actors.device.address,
                                actors.system.domain) as uplink:
            return await uplink.drain()

    try:
        return asyncio.run(run()), store
    finally:
        store.close()


def stored(server: LedgerServer) -> int:
    with Session(server.services.engine) as session:
        return session.scalar(select(func.count()).select_from(LeafRow)) or 0


def test_the_device_certificate_delivers(ledger_actors: Actors, tls_server: LedgerServer,
                                         tmp_path: Path) -> None:
    assert tls_server.url.startswith("https://")
    delivered, _ = push(ledger_actors, tls_server, tmp_path, "ca", ledger_actors.device.address)
    assert delivered == 9 + 1 and stored(tls_server) == 9


def test_a_certificate_for_another_device_is_refused_with_403(
        ledger_actors: Actors, tls_server: LedgerServer, tmp_path: Path) -> None:
    with pytest.raises(UplinkRefused, match=r"HTTP 403.*binds device"):
        push(ledger_actors, tls_server, tmp_path, "ca", DeviceKey.generate().address)
    assert stored(tls_server) == 0


def test_a_certificate_from_another_ca_is_refused_in_the_handshake(
        ledger_actors: Actors, tls_server: LedgerServer, tmp_path: Path) -> None:
    with pytest.raises(UplinkUnavailable):
        push(ledger_actors, tls_server, tmp_path, "rogue-ca", ledger_actors.device.address)
    assert stored(tls_server) == 0
