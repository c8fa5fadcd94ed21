"""The uplink over TLS into the real ledger API with ``--client-ca``: uvicorn serves HTTPS on
127.0.0.1 with the enterprise CA of ``mrv pki`` (``ledger_api.access.device_tls``), devices are
checked on a real (embedded) chain.

Asserted: the edge node's client with its device certificate delivers everything; a certificate
of the right CA for another device, and no certificate at all, are refused with 403 (check
``certificate``) and store nothing; a principal reads over the same TLS listener without a client
certificate, by API key.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from integration.chain.support import Actors
from integration.ledger_api.conftest import LedgerServer, free_port, ledger_services
from integration.ledger_api.test_uplink_to_api import assert_all_held, filled_store
from ledger_support import bearer, new_principal
from pki_support import device_certificate, server_certificate
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edge_node.store import StoreUplink
from edge_node.uplink import UplinkClient, UplinkSettings
from factories import OTHER_KEY
from ledger_api.access import Role
from ledger_api.access.device_tls import uvicorn_tls_options
from ledger_api.db.models import LeafRow
from mrv_core.pki import init_ca
from mrv_core.uplink import UPLINK_PATH, UplinkRequest, encode_request

GZIP_JSON = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


@pytest.fixture
def pki(tmp_path: Path, ledger_actors: Actors) -> dict[str, Path]:
    init_ca(tmp_path / "ca")
    server_cert, server_key = server_certificate(tmp_path / "ca", tmp_path)
    ca = tmp_path / "ca"
    device_cert, device_key = device_certificate(ca, tmp_path / "device",
                                                 ledger_actors.device.address)
    other_cert, other_key = device_certificate(ca, tmp_path / "other", OTHER_KEY.address)
    return {"ca": tmp_path / "ca" / "ca.crt", "server_cert": server_cert,
            "server_key": server_key, "device_cert": device_cert, "device_key": device_key,
            "other_cert": other_cert, "other_key": other_key}


@pytest.fixture
def tls_server(ledger_actors: Actors, pki: dict[str, Path],
               tmp_path: Path) -> Iterator[LedgerServer]:
    services = ledger_services(ledger_actors.system, tmp_path / "ledger.sqlite")
    services.require_client_certificate = True
    server = LedgerServer(services, free_port(), uvicorn_tls_options(
        pki["server_cert"], pki["server_key"], pki["ca"])).up()
    try:
        yield server
    finally:
        server.down()
        server.services.engine.dispose()


def context(pki: dict[str, Path], who: str | None) -> ssl.SSLContext:
    tls = ssl.create_default_context(cafile=str(pki["ca"]))
    if who is not None:
        tls.load_cert_chain(str(pki[f"{who}_cert"]), str(pki[f"{who}_key"]))
    return tls


def test_the_device_certificate_delivers_and_others_are_refused(
        ledger_actors: Actors, tls_server: LedgerServer, pki: dict[str, Path],
        tmp_path: Path) -> None:
    store = filled_store(ledger_actors, tmp_path / "edge.sqlite", 3)
    try:
        items = [i.signed for i in StoreUplink(store).items_after("leaves", -1, 100)]  # type: ignore[union-attr]
        request = UplinkRequest.of(ledger_actors.device.address, ledger_actors.system.domain,
                                   items)
        for who in ("other", None):
            with httpx.Client(verify=context(pki, who)) as http:
                answer = http.post(tls_server.url + UPLINK_PATH,
                                   content=encode_request(request), headers=GZIP_JSON)
            assert answer.status_code == 403, (who, answer.text)
            assert answer.json()["check"] == "certificate"
        with Session(tls_server.services.engine) as session:
            assert session.scalar(select(func.count()).select_from(LeafRow)) == 0

        settings = UplinkSettings(url=tls_server.url, ca_file=pki["ca"],
                                  cert_file=pki["device_cert"], key_file=pki["device_key"],
                                  chunk_size=10, backoff_initial_ms=5, backoff_max_ms=40,
                                  idle_poll_ms=20, timeout_ms=5_000)

        async def push() -> int:
            async with UplinkClient(settings, StoreUplink(store), ledger_actors.device.address,
                                    ledger_actors.system.domain) as uplink:
                return await uplink.drain()

        assert asyncio.run(push()) == 9 + 1
        assert_all_held(store, tls_server)
    finally:
        store.close()


def test_a_principal_reads_over_tls_without_a_client_certificate(
        tls_server: LedgerServer, pki: dict[str, Path]) -> None:
    _, key = new_principal(tls_server.services.engine, Role.REGULATOR)
    with httpx.Client(verify=context(pki, None)) as http:
        answer = http.get(tls_server.url + "/v1/devices", headers=bearer(key))
        assert answer.status_code == 200 and answer.json() == {"devices": [], "next": None}
        assert http.get(tls_server.url + "/v1/devices").status_code == 401
