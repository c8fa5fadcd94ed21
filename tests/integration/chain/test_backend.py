"""Connecting: the embedded chain, a real node, and the retry policy for transient failures."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from mrv_core.chain import ChainSettings, connect
from mrv_core.chain.backend import _is_transient
from mrv_core.errors import ChainUnavailable, ConfigError

from ..conftest import free_port


def test_embedded_chain_has_funded_dev_accounts() -> None:
    chain = connect()
    assert chain.embedded and chain.url is None
    accounts = chain.unlocked_accounts()
    assert len(accounts) == 10
    assert chain.w3.eth.get_balance(accounts[0]) >= 10**24
    assert chain.block_number() == 0


def test_real_node(anvil_url: str) -> None:
    chain = connect(anvil_url)
    assert not chain.embedded and chain.chain_id == 31337
    assert chain.unlocked_accounts()


@pytest.mark.parametrize("url", ["ws://127.0.0.1:8546", "127.0.0.1:8545", "ipc:///tmp/x"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="unsupported RPC URL"):
        connect(url)


def test_unknown_evm_version_is_refused() -> None:
    with pytest.raises(ConfigError, match="no fork"):
        connect(None, evm_version="frontier")


def test_unreachable_node_fails_after_the_configured_retries() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = ChainSettings(rpc_retries=2, retry_backoff_s=0.01, request_timeout_s=2)
    with pytest.raises(ChainUnavailable, match="after 3 attempts"):
        connect(url, settings=settings)


class _FlakyProxy(BaseHTTPRequestHandler):
    """Answers 503 to the first ``failures`` requests, then forwards to the real node."""

    upstream = ""
    failures = 0
    seen = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen += 1
        if type(self).seen <= type(self).failures:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        request = urllib.request.Request(self.upstream, data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = response.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky_proxy(anvil_url: str) -> Iterator[type[_FlakyProxy]]:
    handler = type("Proxy", (_FlakyProxy,), {"upstream": anvil_url, "failures": 2, "seen": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_transient_http_errors_are_retried(flaky_proxy: type[_FlakyProxy]) -> None:
    settings = ChainSettings(rpc_retries=3, retry_backoff_s=0.01)
    chain = connect(flaky_proxy.url, settings=settings)  # type: ignore[attr-defined]
    assert chain.chain_id == 31337
    assert flaky_proxy.seen == 3  # two 503s, then the answer


def test_too_many_transient_errors_give_up(flaky_proxy: type[_FlakyProxy]) -> None:
    flaky_proxy.failures = 10
    settings = ChainSettings(rpc_retries=1, retry_backoff_s=0.01)
    with pytest.raises(ChainUnavailable, match="after 2 attempts"):
        connect(flaky_proxy.url, settings=settings)  # type: ignore[attr-defined]


def test_only_transport_failures_count_as_transient() -> None:
    assert _is_transient(requests.ConnectionError())
    assert _is_transient(requests.Timeout())
    assert not _is_transient(ValueError("execution reverted"))
    response = requests.Response()
    response.status_code = 400
    assert not _is_transient(requests.HTTPError(response=response))
    response.status_code = 429
    assert _is_transient(requests.HTTPError(response=response))


def test_settings_are_validated() -> None:
    with pytest.raises(ConfigError):
        ChainSettings(confirmations=0)
    with pytest.raises(ConfigError):
        ChainSettings(rpc_retries=-1)
