"""The anchorer on the embedded chain: final only after the configured confirmations, with the
root re-checked; a reorganisation that drops an anchor sends the batch again (once); a batch
from a clock ahead of the chain waits, flagged; a chain holding another root stops everything
before sending. Reorganisations and time are driven with eth-tester's snapshots and
time travel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from integration.chain.support import Actors
from integration.edge_node.support import embedded_actors

from edge_node.anchoring import (
    FINAL,
    PENDING,
    SENT,
    Anchorer,
    AnchorSettings,
    ChainView,
    Outbox,
    OwnAccount,
)
from edge_node.batching import Batcher
from edge_node.errors import AnchorConflict
from edge_node.signing import ReadingSigner, Sample
from edge_node.store import Flag, Store
from edge_node.store.queries import batches, readings
from mrv_core.batch import BatchHeader
from mrv_core.codec import format_address
from mrv_core.merkle import MerkleTree

METER = "edge-co/test-plant/hall/line-1/meter-1"


@pytest.fixture(scope="module")
def deployed() -> Actors:
    return embedded_actors()


@pytest.fixture
def actors(deployed: Actors) -> Iterator[Actors]:
    provider = deployed.chain.w3.provider
    snapshot = provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield deployed
    provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


@pytest.fixture
def store(actors: Actors, tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "edge.sqlite", actors.device.address, actors.system.domain) as opened:
        yield opened


def _close(actors: Actors, store: Store, timestamps: list[int]) -> None:
    ReadingSigner(store, actors.device).sign_cycle(
        [Sample(METER, "import_energy", "energy.active.import:Wh", t, i, (0, i))
         for i, t in enumerate(timestamps)], now=0)
    Batcher(store, actors.device).close_due(now=0, force=True)


def _anchorer(actors: Actors, store: Store, confirmations: int = 1) -> Anchorer:
    return Anchorer(Outbox(store), ChainView(actors.system, actors.device.address),
                    OwnAccount(actors.system, actors.device_tx),
                    settings=AnchorSettings(confirmations=confirmations))


def _mine(actors: Actors, blocks: int) -> None:
    actors.chain.w3.provider.ethereum_tester.mine_blocks(blocks)  # type: ignore[attr-defined]


def _sent_by_device(actors: Actors) -> int:
    return int(actors.chain.w3.eth.get_transaction_count(  # type: ignore[arg-type]
        format_address(actors.device.address)))


def test_an_anchor_is_final_only_after_its_confirmations(actors: Actors, store: Store) -> None:
    now = actors.chain.latest_timestamp()
    _close(actors, store, [now - 100, now - 90])
    anchorer = _anchorer(actors, store, confirmations=3)
    result = anchorer.run_once(now=0)
    assert (result.sent, result.final) == ((0,), ())
    (entry,) = Outbox(store).entries()
    assert entry.state == SENT and entry.block_number is not None and entry.nonce == 0
    _mine(actors, 1)
    assert anchorer.run_once(now=0).final == ()
    _mine(actors, 1)
    assert anchorer.run_once(now=0).final == (0,)
    (entry,) = Outbox(store).entries()
    assert entry.state == FINAL
    assert [b.state for b in batches(store)] == ["anchored"]
    assert _sent_by_device(actors) == 1


def test_an_anchor_reorganised_away_is_sent_again_once(actors: Actors, store: Store) -> None:
    now = actors.chain.latest_timestamp()
    _close(actors, store, [now - 100])
    provider = actors.chain.w3.provider
    before = provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    assert _anchorer(actors, store).run_once(now=0).final == (0,)
    provider.make_request("evm_revert", [before])  # type: ignore[arg-type]  # the reorg
    view = ChainView(actors.system, actors.device.address)
    assert view.anchor_events() == []
    result = _anchorer(actors, store).run_once(now=0)
    assert (result.sent, result.final) == ((0,), (0,))
    assert [e.batch_seq for e in view.anchor_events()] == [0]
    assert _sent_by_device(actors) == 1  # on the chain as it is now: one anchor transaction


def test_a_batch_from_a_clock_ahead_waits_flagged_until_the_chain_catches_up(
        actors: Actors, store: Store) -> None:
    now = actors.chain.latest_timestamp()
    skew = int(actors.system.anchors.functions.maxClockSkew().call())
    _close(actors, store, [now + skew + 1_000])
    result = _anchorer(actors, store).run_once(now=0)
    assert result.sent == () and result.waiting is not None and "clock is ahead" in result.waiting
    (entry,) = Outbox(store).entries()
    assert entry.state == PENDING and entry.last_error is not None
    assert [r.flags for r in readings(store)] == [Flag.CLOCK_AHEAD]
    assert _sent_by_device(actors) == 0
    actors.chain.w3.provider.ethereum_tester.time_travel(now + 1_100)  # type: ignore[attr-defined]
    assert _anchorer(actors, store).run_once(now=0).final == (0,)


def test_a_chain_holding_another_root_stops_before_sending(actors: Actors, store: Store) -> None:
    now = actors.chain.latest_timestamp()
    _close(actors, store, [now - 50])
    (ours,) = batches(store)
    other = BatchHeader(device=actors.device.address, batch_seq=0, root=b"\x42" * 32,
                        leaf_count=1, from_timestamp=now - 50, to_timestamp=now - 50)
    actors.system.anchor(actors.device_tx, other)  # something else anchored batch 0
    with pytest.raises(AnchorConflict, match="batch 0: the chain holds root 0x4242"):
        _anchorer(actors, store).run_once(now=0)
    assert ours.header.root != other.root
    assert _sent_by_device(actors) == 1


def test_every_stored_reading_proves_its_inclusion_against_the_anchored_root(
        actors: Actors, store: Store) -> None:
    now = actors.chain.latest_timestamp()
    _close(actors, store, [now - 300 + i for i in range(5)])
    assert _anchorer(actors, store).run_once(now=0).final == (0,)
    (batch,) = batches(store)
    tree = MerkleTree(list(batch.leaves))
    for item in readings(store):
        index = tree.leaves.index(item.leaf)
        assert actors.system.verify_reading(actors.device.address, 0, item.leaf,
                                            tree.proof(index))
    assert not actors.system.verify_reading(actors.device.address, 0, b"\x07" * 32,
                                            tree.proof(0))
