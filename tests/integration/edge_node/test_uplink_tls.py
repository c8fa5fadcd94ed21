"""The uplink over TLS with client certificates from ``mrv pki``: the recording receiver
(receiver.py, standing in for the ledger API until that issue) serves HTTPS on 127.0.0.1 with the
ssl module, requires a client certificate from the enterprise CA, and checks that the address it
binds is the document's device. A certificate from another CA is refused in the handshake; a
certificate of the right CA for another device is refused with 403.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from integration.conftest import free_port
from integration.edge_node.conftest import fill
from integration.edge_node.receiver import Receiver
from pki_support import device_certificate, server_certificate

from edge_node.errors import UplinkRefused, UplinkUnavailable
from edge_node.store import Store, StoreUplink
from edge_node.uplink import UplinkClient, UplinkHealth, UplinkSettings
from edge_node.uplink.tls_probe import probe_tls_refusal
from factories import OTHER_KEY, TEST_DOMAIN, TEST_KEY
from mrv_core.pki import (
    device_address_of_certificate,
    init_ca,
)


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    init_ca(tmp_path / "ca")
    init_ca(tmp_path / "rogue-ca", name="Someone else's CA")
    server_cert, server_key = server_certificate(tmp_path / "ca", tmp_path)
    ca, rogue = tmp_path / "ca", tmp_path / "rogue-ca"
    device_cert, device_key = device_certificate(ca, tmp_path / "device", TEST_KEY.address)
    rogue_cert, rogue_key = device_certificate(rogue, tmp_path / "rogue", TEST_KEY.address)
    other_cert, other_key = device_certificate(ca, tmp_path / "other", OTHER_KEY.address)
    return {"ca": tmp_path / "ca" / "ca.crt", "server_cert": server_cert,
            "server_key": server_key, "device_cert": device_cert, "device_key": device_key,
            "rogue_cert": rogue_cert, "rogue_key": rogue_key, "other_cert": other_cert,
            "other_key": other_key}


@pytest.fixture
def tls_receiver(pki: dict[str, Path]) -> Iterator[Receiver]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki["ca"]))
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(str(pki["server_cert"]), str(pki["server_key"]))
    receiver = Receiver(context, device_address_of_certificate).up()
    try:
        yield receiver
    finally:
        receiver.down()


def _push(store: Store, receiver: Receiver, pki: dict[str, Path], who: str,
          health: UplinkHealth | None = None) -> int:
    settings = UplinkSettings(url=receiver.url, ca_file=pki["ca"], cert_file=pki[f"{who}_cert"],
                              key_file=pki[f"{who}_key"], max_attempts=2,
                              backoff_initial_ms=5, backoff_max_ms=10, timeout_ms=5_000)

    async def push() -> int:
        async with UplinkClient(settings, StoreUplink(store), TEST_KEY.address,
                                TEST_DOMAIN, health=health) as uplink:
            return await uplink.drain()

    return asyncio.run(push())


def test_the_device_certificate_delivers_over_tls(store: Store, tls_receiver: Receiver,
                                                   pki: dict[str, Path]) -> None:
    fill(store, 3, records=2)
    assert tls_receiver.url.startswith("https://127.0.0.1:")
    assert _push(store, tls_receiver, pki, "device") == 13  # 9 readings, 2 records, 2 batches
    assert len(tls_receiver.recorded.order) == 13 and tls_receiver.recorded.malformed == []


def test_a_certificate_from_another_ca_is_refused_in_the_handshake(
        store: Store, tls_receiver: Receiver, pki: dict[str, Path]) -> None:
    fill(store, 1)
    health = UplinkHealth()
    with pytest.raises(UplinkUnavailable):
        _push(store, tls_receiver, pki, "rogue", health)
    assert tls_receiver.recorded.requests == 0  # no request got past the handshake
    # Retried like an outage, but the health check fails at once: the server refused the
    # device's certificate (its alert read directly, or by the probe after a reset).
    assert health.refused is not None and "ALERT" in health.refused[1].upper(), health.refused
    assert StoreUplink(store).acknowledged_through("leaves") == -1


def test_a_server_the_node_does_not_trust_is_a_refusal_for_the_health_check(
        store: Store, tls_receiver: Receiver, pki: dict[str, Path]) -> None:
    fill(store, 1)
    health = UplinkHealth()
    with pytest.raises(UplinkUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        _push(store, tls_receiver, {**pki, "ca": pki["rogue_cert"].parents[1] / "rogue-ca" /
                                    "ca.crt"}, "device", health)
    assert tls_receiver.recorded.requests == 0
    # Retried like an outage, but the health check fails at once: TLS refused the server.
    assert health.refused is not None and "CERTIFICATE_VERIFY_FAILED" in health.refused[1]
    assert health.unavailable is None


def test_a_certificate_for_another_device_is_refused(store: Store, tls_receiver: Receiver,
                                                     pki: dict[str, Path]) -> None:
    fill(store, 1)
    health = UplinkHealth()
    with pytest.raises(UplinkRefused, match="HTTP 403"):
        _push(store, tls_receiver, pki, "other", health)
    assert health.refused is not None and "HTTP 403" in health.refused[1]
    assert tls_receiver.recorded.order == []


def test_the_tls_probe_hears_a_refusal_and_nothing_else(tls_receiver: Receiver,
                                                        pki: dict[str, Path]) -> None:
    def context(who: str) -> ssl.SSLContext:
        return UplinkSettings(url=tls_receiver.url, ca_file=pki["ca"],
                              cert_file=pki[f"{who}_cert"],
                              key_file=pki[f"{who}_key"]).ssl_context()

    url = tls_receiver.url + "/v1/uplink"
    rogue = asyncio.run(probe_tls_refusal(url, context("rogue"), wait_s=2.0))
    assert rogue is not None and "ALERT_UNKNOWN_CA" in rogue
    assert asyncio.run(probe_tls_refusal(url, context("device"), wait_s=0.3)) is None
    closed = f"https://127.0.0.1:{free_port()}/v1/uplink"  # nobody listens: an outage
    assert asyncio.run(probe_tls_refusal(closed, context("device"), wait_s=0.3)) is None
    assert tls_receiver.recorded.requests == 0
