"""Transactions: decoded reverts, durable nonces, confirmations, mined failures."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from mrv_core.chain import Chain, KeySigner, NodeSigner, NonceTracker, Transactor
from mrv_core.codec import format_address
from mrv_core.errors import ChainError, ContractRevert, TransactionFailed
from mrv_core.keys import DeviceKey

from .conftest import Actors, open_chain


def test_custom_errors_become_typed_python_errors(actors: Actors) -> None:
    batch = actors.batch(3)
    actors.system.anchor(actors.device_tx, batch.header)
    mismatch = ContractRevert.named("AnchorRegistryBatchSeqMismatch")
    with pytest.raises(mismatch) as excinfo:
        actors.system.anchor(actors.device_tx, batch.header)  # replayed batch 0
    error = excinfo.value
    assert isinstance(error, ContractRevert) and isinstance(error, ChainError)
    assert error.error == "AnchorRegistryBatchSeqMismatch"
    assert error.args_by_name == {"device": format_address(actors.device.address),
                                  "expected": 1, "actual": 0}
    assert "anchor batch 0" in str(error) and "expected=1" in str(error)


def test_revert_is_raised_before_anything_is_sent(actors: Actors) -> None:
    outsider = Transactor(actors.chain, NodeSigner(actors.chain.unlocked_accounts()[5]))
    before = actors.chain.w3.eth.get_transaction_count(outsider.address)
    with pytest.raises(ContractRevert.named("DeviceRegistryMissingRole")):
        actors.system.register_device(outsider, DeviceKey.generate(), b"\x02" * 32, b"\x03" * 32)
    assert actors.chain.w3.eth.get_transaction_count(outsider.address) == before


def test_mined_failure_carries_its_receipt(actors: Actors) -> None:
    call = actors.system.anchors.functions.anchor(7, b"\x01" * 32, 1, 1, 2)  # wrong batchSeq
    with pytest.raises(ChainError) as excinfo:
        actors.device_tx.send(call, description="anchor with explicit gas", gas=200_000)
    assert excinfo.value.receipt is not None
    assert excinfo.value.receipt["status"] == 0  # type: ignore[index]
    assert isinstance(excinfo.value, ContractRevert | TransactionFailed)


def test_nonces_survive_a_restart(actors: Actors, tmp_path: Path) -> None:
    nonce_file = tmp_path / "nonce.json"
    key = DeviceKey.generate()
    address = format_address(key.address)
    actors.admin.transfer(address, 10**20)
    first = Transactor(actors.chain, KeySigner(key), nonce_file=nonce_file)
    sent = first.transfer(format_address(actors.device.address), 1)
    record = json.loads(nonce_file.read_text())
    assert record["nextNonce"] == "1" and record["lastTransaction"] == "0x" + sent.tx_hash.hex()
    restarted = Transactor(actors.chain, KeySigner(key), nonce_file=nonce_file)
    restarted.transfer(format_address(actors.device.address), 1)
    assert json.loads(nonce_file.read_text())["nextNonce"] == "2"
    assert actors.chain.w3.eth.get_transaction_count(address) == 2


def test_a_dropped_transaction_leaves_no_nonce_gap(actors: Actors, tmp_path: Path) -> None:
    """The nonce file remembers nonce 5 for a transaction the node never saw (dropped): the
    node's count wins, so the next transaction is not stuck behind a gap."""
    nonce_file = tmp_path / "nonce.json"
    key = DeviceKey.generate()
    address = format_address(key.address)
    actors.admin.transfer(address, 10**20)
    nonce_file.write_text(json.dumps({
        "chainId": str(actors.chain.chain_id), "address": address, "nextNonce": "5",
        "lastTransaction": "0x" + "ab" * 32}))
    sent = Transactor(actors.chain, KeySigner(key), nonce_file=nonce_file).transfer(address, 1)
    assert actors.chain.w3.eth.get_transaction(sent.tx_hash)["nonce"] == 0


class _LaggingChain:
    """A node whose pending count lags behind a transaction it does know (a load-balanced RPC).
    No real node here lags on demand, so this one stands in for the decision logic alone."""

    chain_id = 1

    def __init__(self, pending: int, known: set[bytes]) -> None:
        self._pending, self._known = pending, known
        outer = self

        class _Eth:
            def get_transaction_count(self, address: str, block: str) -> int:
                return outer._pending

            def get_transaction(self, tx_hash: bytes) -> object:
                from web3.exceptions import TransactionNotFound

                if tx_hash not in outer._known:
                    raise TransactionNotFound("unknown")
                return {}

        self.w3 = type("W3", (), {"eth": _Eth()})()

    def retrying(self, what: str, request):  # type: ignore[no-untyped-def]
        return request()


def test_remembered_nonce_wins_while_the_node_lags(tmp_path: Path) -> None:
    path = tmp_path / "nonce.json"
    address = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
    lagging = _LaggingChain(pending=3, known={b"\x07" * 32})
    tracker = NonceTracker(lagging, address, path)  # type: ignore[arg-type]
    assert tracker.next() == 3
    tracker.used(3, b"\x07" * 32)
    assert tracker.next() == 4  # the node still says 3 but knows our transaction
    tracker.used(4, b"\x08" * 32)
    assert tracker.next() == 3  # the node does not know 0x0808...: dropped, nonce 3+ is free


def test_confirmations_wait_for_blocks(request: pytest.FixtureRequest) -> None:
    """Mining on demand from another thread needs the real node (anvil)."""
    chain: Chain = open_chain("anvil", request, confirmations=3, poll_interval_s=0.05)
    admin = Transactor(chain, NodeSigner(chain.unlocked_accounts()[0]))

    def mine_two() -> None:
        time.sleep(0.3)
        for _ in range(2):
            chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    miner = threading.Thread(target=mine_two)
    miner.start()
    sent = admin.transfer(chain.unlocked_accounts()[1], 1)
    miner.join()
    assert chain.block_number() - sent.block_number + 1 >= 3


@pytest.mark.parametrize("kind", ["embedded", "anvil"])
def test_unconfirmed_transaction_times_out(request: pytest.FixtureRequest, kind: str) -> None:
    chain = open_chain(kind, request, confirmations=2, receipt_timeout_s=0.5,
                       poll_interval_s=0.05)
    admin = Transactor(chain, NodeSigner(chain.unlocked_accounts()[0]))
    with pytest.raises(TransactionFailed, match="not confirmed by 2 block"):
        admin.transfer(chain.unlocked_accounts()[1], 1)


def test_on_signed_names_the_transaction_before_the_node_has_it(actors: Actors) -> None:
    """The anchoring outbox records (nonce, hash) in on_signed: it must come before the
    transaction can be mined, and name the transaction that then is."""
    seen: list[tuple[int | None, bytes, bool]] = []
    tracker = NonceTracker(actors.chain, actors.device_tx.address)

    def on_signed(nonce: int | None, tx_hash: bytes) -> None:
        seen.append((nonce, tx_hash, tracker.node_knows(tx_hash)))

    batch = actors.batch(2)
    ref = actors.system.anchor(actors.device_tx, batch.header, on_signed=on_signed)
    assert seen == [(0, ref.transaction_hash, False)]
    node_seen: list[tuple[int | None, bytes]] = []
    regulator = format_address(DeviceKey.generate().address)
    sent = actors.admin.send(actors.system.consortium.functions.grantRole(  # a NodeSigner
        actors.system.role("REGULATOR_ROLE"), regulator),
        description="grant", on_signed=lambda n, h: node_seen.append((n, h)))
    assert node_seen == [(None, sent.tx_hash)]
