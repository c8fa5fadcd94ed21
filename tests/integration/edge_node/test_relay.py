"""The relayer on the embedded chain, over real HTTP on 127.0.0.1: the edge node's anchorer in
relayer mode (httpx) anchors through it without a funded device account; the relayer checks the
signature and the device before paying, never pays twice for a retried request, and a restarted
relayer finishes what it started."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from integration.chain.support import Actors
from integration.edge_node.support import embedded_actors

from edge_node._internal.crashpoints import CrashPoints
from edge_node.anchoring import FINAL, RELAY_PATH, Anchorer, ChainView, Outbox, ViaRelay
from edge_node.batching import Batcher
from edge_node.errors import RelayRefused
from edge_node.relay import HEALTH_PATH, Relayer, RelayJobs, RelayServer
from edge_node.signing import ReadingSigner, Sample
from edge_node.store import Store
from factories import unreadable_files
from mrv_core.batch import BatchHeader
from mrv_core.chain import NodeSigner, Transactor
from mrv_core.codec import format_address, parse_address
from mrv_core.errors import ChainUnavailable, ConfigError
from mrv_core.keys import DeviceKey
from mrv_core.wire import encode_batch_header

METER = "edge-co/test-plant/hall/line-1/meter-1"


@dataclass
class Relay:
    actors: Actors
    relayer: Relayer
    server: RelayServer
    payer: str

    def __post_init__(self) -> None:
        self.before = self._count()

    def _count(self) -> int:
        return int(self.actors.chain.w3.eth.get_transaction_count(self.payer))  # type: ignore[arg-type]

    def paid(self) -> int:
        """Transactions the relayer's account has sent during the test."""
        return self._count() - self.before


@contextlib.contextmanager
def serving(relayer: Relayer) -> Iterator[RelayServer]:
    server = RelayServer(relayer, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def actors() -> Actors:
    return embedded_actors()


@pytest.fixture
def relay(actors: Actors, tmp_path: Path) -> Iterator[Relay]:
    """A relayer served on 127.0.0.1, on the module's chain rolled back after the test."""
    provider = actors.chain.w3.provider
    snapshot = provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    payer = actors.chain.unlocked_accounts()[2]
    jobs = RelayJobs(tmp_path / "relay.sqlite")
    relayer = Relayer(actors.system, Transactor(actors.chain, NodeSigner(payer)),
                      parse_address(actors.enterprise.address), jobs)
    try:
        with serving(relayer) as server:
            yield Relay(actors, relayer, server, payer)
    finally:
        jobs.close()
        provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


def _edge_batches(actors: Actors, tmp_path: Path, count: int) -> Store:
    """An edge store with ``count`` closed batches of two readings each."""
    store = Store(tmp_path / "edge.sqlite", actors.device.address, actors.system.domain)
    start = actors.chain.latest_timestamp() - 1000
    signer, batcher = ReadingSigner(store, actors.device), Batcher(store, actors.device)
    for i in range(count):
        signer.sign_cycle([Sample(METER, "import_energy", "energy.active.import:Wh",
                                  start + 2 * i + j, 10 * i + j, (0, 0)) for j in range(2)],
                          now=0)
        batcher.close_due(now=0, force=True)
    return store


def _post(relay: Relay, store: Store, batch_seq: int) -> httpx.Response:
    header, signature = Outbox(store).batch(batch_seq)
    return httpx.post(relay.server.url + RELAY_PATH,
                      json={"batch": encode_batch_header(header, signature)}, timeout=30)


def test_the_anchorer_in_relayer_mode_anchors_without_a_device_transaction(
        relay: Relay, tmp_path: Path) -> None:
    actors = relay.actors
    store = _edge_batches(actors, tmp_path, 2)
    view = ChainView(actors.system, actors.device.address)
    first = view.next_batch_seq()
    assert first == 0
    device_sent = actors.chain.w3.eth.get_transaction_count(actors.device_tx.address)  # type: ignore[arg-type]
    with httpx.Client(timeout=30) as client:
        result = Anchorer(Outbox(store), view, ViaRelay(relay.server.url, client)).run_once(now=0)
    assert result.final == (0, 1)
    assert [e.state for e in Outbox(store).entries()] == [FINAL, FINAL]
    assert [e.batch_seq for e in view.anchor_events()] == [0, 1]
    assert actors.chain.w3.eth.get_transaction_count(actors.device_tx.address) == device_sent  # type: ignore[arg-type]
    assert relay.paid() == 2
    again = _post(relay, store, 1)  # a retried request: answered from the chain, nothing paid
    assert again.status_code == 200
    assert again.json()["transactionHash"] == "0x" + view.anchor_events(1)[0].tx_hash.hex()
    assert relay.paid() == 2
    store.close()


def test_a_header_signed_by_another_key_is_refused_before_paying(relay: Relay,
                                                                 tmp_path: Path) -> None:
    store = _edge_batches(relay.actors, tmp_path, 1)
    header, _ = Outbox(store).batch(0)
    forged = DeviceKey.generate().sign_digest(bytes(32))
    response = httpx.post(relay.server.url + RELAY_PATH,
                          json={"batch": encode_batch_header(header, forged)}, timeout=30)
    assert response.status_code == 403
    assert "header's device is" in response.json()["error"]
    assert relay.paid() == 0
    store.close()


def test_a_device_of_another_enterprise_is_refused_before_paying(relay: Relay,
                                                                 tmp_path: Path) -> None:
    other = Relayer(relay.actors.system, relay.relayer.transactor, bytes(19) + b"\x01",
                    relay.relayer.jobs)
    store = _edge_batches(relay.actors, tmp_path, 1)
    with pytest.raises(RelayRefused, match="is not a device of") as refused:
        other.relay(*Outbox(store).batch(0))
    assert refused.value.status == 403
    assert relay.paid() == 0
    store.close()


def test_a_restarted_relayer_finishes_the_job_it_had_sent_without_paying_twice(
        relay: Relay, tmp_path: Path) -> None:
    store = _edge_batches(relay.actors, tmp_path, 1)
    header, signature = Outbox(store).batch(0)

    class Died(BaseException):
        pass

    def die(name: str) -> None:
        raise Died(name)

    dying = Relayer(relay.actors.system, relay.relayer.transactor, relay.relayer.enterprise,
                    relay.relayer.jobs, crash=CrashPoints("relay-sent-before-record",
                                                          action=die))
    with pytest.raises(Died):
        dying.relay(header, signature)
    job = relay.relayer.jobs.get(header.device, 0)
    assert job is not None and job.state == "sent" and relay.paid() == 1
    assert relay.relayer.resume() == []  # the restarted process
    job = relay.relayer.jobs.get(header.device, 0)
    assert job is not None and job.state == "final" and relay.paid() == 1
    store.close()


def test_malformed_oversized_and_unknown_requests_get_their_status(relay: Relay) -> None:
    url = relay.server.url
    assert httpx.get(url + HEALTH_PATH).json() == {"status": "ok"}
    assert httpx.post(url + "/v1/other", json={}).status_code == 404
    bad = httpx.post(url + RELAY_PATH, content=b'{"batch": {"device": 1.5}}')
    assert bad.status_code == 400 and "float" in bad.json()["error"]
    assert httpx.post(url + RELAY_PATH, content=b"x" * 5000).status_code == 413
    header = {"device": format_address(relay.actors.device.address), "batchSeq": "0",
              "root": "0x" + "11" * 32, "leafCount": "1", "fromTimestamp": "1",
              "toTimestamp": "1", "signature": "0x" + "00" * 65}
    refused = httpx.post(url + RELAY_PATH, json={"batch": header})
    assert refused.status_code == 403 and relay.paid() == 0


def test_plain_http_is_refused_off_loopback() -> None:
    with pytest.raises(ConfigError, match="loopback"):
        RelayServer(None, "192.0.2.1", 0)  # type: ignore[arg-type]  # refused before binding
    with pytest.raises(ConfigError, match="both"):
        RelayServer(None, "127.0.0.1", 0, tls_cert=Path("cert.pem"))  # type: ignore[arg-type]


def test_a_tls_file_that_is_no_regular_file_is_refused_at_once_naming_it(
        tmp_path: Path) -> None:
    # A FIFO used to block OpenSSL's open of --tls-cert for ever (hostile review).
    cert, key = _self_signed(tmp_path)
    with unreadable_files(tmp_path) as unreadable:
        for kind, path in unreadable.items():
            for flag, files in (("--tls-cert", (path, key)), ("--tls-key", (cert, path))):
                started = time.monotonic()
                with pytest.raises(ConfigError) as refused:
                    RelayServer(None, "127.0.0.1", 0,  # type: ignore[arg-type]
                                tls_cert=files[0], tls_key=files[1])
                assert time.monotonic() - started < 0.4  # before the FIFO's unblocker runs
                assert str(refused.value).startswith(f"{flag} {path}: ")
                assert kind in str(refused.value)


def test_swapped_or_wrong_tls_files_are_refused_naming_what_each_file_holds(
        tmp_path: Path) -> None:
    # OpenSSL says only "[SSL] PEM lib" (hostile review): the error says what each file is.
    cert, key = _self_signed(tmp_path)
    text = tmp_path / "text.pem"
    text.write_text("not a certificate\n")
    for files, held in (((key, cert), ("a PEM PRIVATE KEY", "a PEM CERTIFICATE")),
                        ((text, key), ("text that is not PEM", "a PEM PRIVATE KEY"))):
        with pytest.raises(ConfigError) as refused:
            RelayServer(None, "127.0.0.1", 0,  # type: ignore[arg-type]
                        tls_cert=files[0], tls_key=files[1])
        message = str(refused.value)
        assert message.startswith("expected a PEM CERTIFICATE (--tls-cert) and its PEM PRIVATE "
                                  "KEY (--tls-key); ")
        assert (f"--tls-cert {files[0]} is {held[0]}, --tls-key {files[1]} is {held[1]}: "
                "OpenSSL refused them (") in message


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files), made with ``cryptography``."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "relay.crt", tmp_path / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_with_tls_the_relayer_serves_https_that_a_verifying_client_accepts(
        relay: Relay, tmp_path: Path) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)
    server = RelayServer(relay.relayer, "127.0.0.1", 0, tls_cert=cert, tls_key=key)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        assert server.url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(verify=trusted, timeout=10) as client:
            assert client.get(server.url + HEALTH_PATH).json() == {"status": "ok"}
        with pytest.raises(httpx.ConnectError), httpx.Client(timeout=10) as untrusting:
            untrusting.get(server.url + HEALTH_PATH)  # the system's CAs do not know it
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(("status", "body", "error", "match"), [
    (503, b'{"error": "chain unavailable: x"}', ChainUnavailable, "answered 503"),
    (409, b'{"error": "batch 0 is anchored with another root"}', RelayRefused,
     "another root.*HTTP 409"),
    (200, b'{"state": "anchored"}', RelayRefused, "unreadable answer"),
    (200, b"not json", RelayRefused, "unreadable answer"),
])
def test_the_relay_client_maps_every_answer_to_a_typed_error(
        status: int, body: bytes, error: type[Exception], match: str) -> None:
    """A small HTTP server on 127.0.0.1 answers as a relayer in trouble would; the client
    (ViaRelay) must raise a typed error for each, never record a transaction."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Answer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    recorded: list[bytes] = []
    header = BatchHeader(device=bytes(20), batch_seq=0, root=b"\x01" * 32, leaf_count=1,
                         from_timestamp=1, to_timestamp=1)
    try:
        with httpx.Client(timeout=10) as client, pytest.raises(error, match=match):
            ViaRelay(f"http://127.0.0.1:{server.server_address[1]}", client).submit(
                header, bytes(65), lambda _nonce, tx: recorded.append(tx))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert recorded == []
