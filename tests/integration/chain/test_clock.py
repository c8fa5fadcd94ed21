"""A development chain's clock driven by simulated time (``mrv_core.chain.ChainClock``): on anvil
and on the embedded chain, blocks follow the simulated now, a transaction lands at or after it,
confirmations arrive on an automining chain, and a chain that cannot follow is refused in one
line. The anvil tests run on an anvil of their own (``anvil_simulated_url``): a chain moved to
a simulated instant stays there."""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
from integration.conftest import SIMULATED_START
from web3 import HTTPProvider, Web3

from mrv_core.chain import (
    Chain,
    ChainClock,
    ChainSettings,
    NodeSigner,
    SimulatedTimeRefused,
    Transactor,
    connect,
)
from mrv_core.simulated_time import SimulatedTime


def block_time(chain: Chain, number: int | str = "latest") -> int:
    return int(chain.w3.eth.get_block(number)["timestamp"])


def send_and_time(transactor: Transactor, clock: SimulatedTime) -> tuple[int, int, int]:
    """Send a transfer; return the simulated seconds before and after it and its block's time."""
    before = clock.now_s()
    sent = transactor.transfer(transactor.chain.unlocked_accounts()[1], 1)
    return before, clock.now_s(), block_time(transactor.chain, sent.block_number)


def test_anvil_follows_the_simulated_clock_and_transactions_land_on_it(
        anvil_simulated_url: str) -> None:
    chain = connect(anvil_simulated_url)
    simulated = SimulatedTime(SIMULATED_START, int(time.time()), 600)
    assert block_time(chain) < SIMULATED_START  # the genesis is a day earlier
    driven = ChainClock(chain, simulated)
    assert block_time(chain) >= SIMULATED_START  # the first block is at the simulated now
    time.sleep(0.5)  # 300 simulated seconds
    before = simulated.now_s()
    latest = driven.advance()
    assert latest == block_time(chain) and before <= latest <= simulated.now_s()
    sender = Transactor(chain, NodeSigner(chain.unlocked_accounts()[0]), clock=driven)
    time.sleep(0.2)
    start, end, mined = send_and_time(sender, simulated)
    assert start <= mined <= end + 1  # the transaction's block carries the simulated now


def test_confirmations_arrive_on_an_automining_anvil_under_simulated_time(
        anvil_simulated_url: str) -> None:
    """anvil mines a block per transaction and no other: without the clock's blocks, a
    transaction waiting for 3 confirmations would wait for other traffic until its timeout."""
    chain = connect(anvil_simulated_url, settings=ChainSettings(confirmations=3,
                                                                 receipt_timeout_s=10))
    simulated = SimulatedTime(SIMULATED_START, int(time.time()), 600)
    sender = Transactor(chain, NodeSigner(chain.unlocked_accounts()[0]),
                        clock=ChainClock(chain, simulated))
    began = time.monotonic()
    sent = sender.transfer(chain.unlocked_accounts()[1], 1)
    assert chain.block_number() - sent.block_number + 1 >= 3
    assert time.monotonic() - began < 5


def test_the_embedded_chain_follows_a_simulated_clock_ahead_of_real_time() -> None:
    chain = connect(None)
    simulated = SimulatedTime(int(time.time()) + 86_400, int(time.time()), 600)
    driven = ChainClock(chain, simulated)
    assert block_time(chain) >= simulated.simulated_start - 1
    time.sleep(0.3)
    sender = Transactor(chain, NodeSigner(chain.unlocked_accounts()[0]), clock=driven)
    start, end, mined = send_and_time(sender, simulated)
    assert start <= mined <= end + 1


def test_a_chain_ahead_of_the_simulated_clock_is_refused(anvil_url: str) -> None:
    """The session's anvil keeps real time; a simulated October is behind it. Refused before
    anything is mined (so the shared chain is left as it was)."""
    chain = connect(anvil_url)
    head = chain.block_number()
    with pytest.raises(SimulatedTimeRefused, match=r"the chain's clock is at \d+, \d+ s after "
                                                   r"the simulated now 17907\d+ .*anvil "
                                                   r"--timestamp"):
        ChainClock(chain, SimulatedTime(SIMULATED_START, int(time.time()), 600),
                   allowed_lead_s=300)
    assert chain.block_number() == head
    with pytest.raises(SimulatedTimeRefused, match="block time never goes back"):
        ChainClock(connect(None), SimulatedTime(SIMULATED_START, int(time.time()), 600))


def test_a_chain_off_loopback_is_refused_before_any_request() -> None:
    """No request is made (the address is TEST-NET-1, reachable by nothing)."""
    remote = Chain(Web3(HTTPProvider("http://192.0.2.1:8545")), kind="rpc",
                   url="http://192.0.2.1:8545", settings=ChainSettings(rpc_retries=0))
    with pytest.raises(SimulatedTimeRefused, match="only a development chain on loopback"):
        ChainClock(remote, SimulatedTime(SIMULATED_START, int(time.time()), 600))


class _ProductionLikeProxy(http.server.ThreadingHTTPServer):
    """A JSON-RPC front on 127.0.0.1 that forwards everything to a real anvil except the
    development methods (``evm_*``, ``anvil_*``), which it answers as a production node
    (Besu, geth) does: -32601, method not found. No production node runs here, so this stands
    in for one; the chain behind it is real."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: _ProductionLikeProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = json.loads(body)
        if str(request.get("method", "")).startswith(("evm_", "anvil_")):
            answer = json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "error": {
                "code": -32601, "message": "the method evm_mine does not exist/is not "
                                           "available"}}).encode()
        else:
            forwarded = urllib.request.Request(self.server.upstream, data=body,
                                               headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(forwarded, timeout=10) as response:
                answer = response.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def production_like(anvil_simulated_url: str) -> Iterator[str]:
    proxy = _ProductionLikeProxy(anvil_simulated_url)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy.url
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(5)


def test_a_chain_without_the_development_method_is_refused_in_one_line(
        production_like: str) -> None:
    chain = connect(production_like)
    with pytest.raises(SimulatedTimeRefused, match=r"refused evm_mine at \d+ \(the method "
                                                   r"evm_mine does not exist/is not available\): "
                                                   r"simulated time needs a development chain"):
        ChainClock(chain, SimulatedTime(SIMULATED_START, int(time.time()), 600))


def test_a_clock_that_loses_a_race_to_another_driver_of_the_chain_is_not_refused(
        anvil_simulated_url: str) -> None:
    """Two nodes (or a node and ``mrv demo``) drive one anvil: the one whose mine comes second,
    at a time the other has already passed, finds the chain where it wanted it instead of
    failing ("lower than previous block's timestamp" from anvil)."""
    shared = SimulatedTime(simulated_start=SIMULATED_START, real_start=int(time.time()),
                           speed=60)
    first = ChainClock(connect(anvil_simulated_url), shared)
    second = ChainClock(connect(anvil_simulated_url), shared)
    target = block_time(second.chain) + 50  # what the second read before the first moved on
    assert first._mine(target + 100) == target + 100
    assert second._mine(target) == block_time(second.chain) >= target + 100
