"""A stateful hypothesis machine for the anchoring outbox, on the embedded chain (real
contracts, real transactions; py-evm in this process).

Rules sign readings, close batches and run the anchorer, while the machine injects what the
outbox must survive: the process dying between any two steps (every in-memory object dropped,
the store reopened from its file), dying inside the anchorer right after the transaction was
recorded (before its bytes reach the node) or right after it was sent (before its receipt is
recorded), the node unreachable for a few requests, and answers lost after the node acted (the
send's acknowledgement, the receipt). Network failures are injected in the chain client's
transport (:class:`FlakyChain`); everything else is real.

Invariants, checked after every step on the chain's own ``BatchAnchored`` events: no batchSeq
anchored twice, the anchored batchSeqs gap-free from 0, each with the store's root, every row
the outbox calls final on chain. At the end (teardown), with the failures stopped, a few runs
make every closed batch final.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from integration.chain.support import Actors
from integration.edge_node.support import FlakyChain, embedded_actors

from edge_node._internal.crashpoints import NEVER, CrashPoints
from edge_node.anchoring import FINAL, Anchorer, ChainView, Outbox, OwnAccount
from edge_node.batching import Batcher, BatchingSettings
from edge_node.signing import ReadingSigner, Sample
from edge_node.store import Store
from edge_node.store.queries import batches
from mrv_core.chain import KeySigner, System, Transactor
from mrv_core.codec import format_address

METER = "edge-co/test-plant/hall/line-1/meter-1"


class Crash(BaseException):
    """The process died at a crash point."""


def _die(name: str) -> None:
    raise Crash(name)


@cache
def _deployed() -> tuple[FlakyChain, Actors]:
    """The session's embedded system, its chain client wrapped to fail on demand."""
    actors = embedded_actors()
    return FlakyChain(actors.chain), actors


class OutboxMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.chain, self.edge = _deployed()
        self.chain.outage, self.chain.lose_answer = 0, set()
        self.snapshot = self.chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        self.dir = Path(tempfile.mkdtemp(prefix="outbox-machine-"))
        self.clock = self.chain.latest_timestamp() - 5_000
        self.value = 0
        self.store: Store | None = None
        self.restart()

    # -- the process ------------------------------------------------------------------------------

    def restart(self) -> None:
        """A new process: nothing survives but the store file (and the chain)."""
        if self.store is not None:
            self.store.close()
        key = self.edge.device
        system = System(self.chain, self.edge.system.deployment)
        self.store = Store(self.dir / "edge.sqlite", key.address, system.domain)
        self.signer = ReadingSigner(self.store, key)
        self.batcher = Batcher(self.store, key, settings=BatchingSettings(max_leaves=3))
        self.outbox = Outbox(self.store)
        self.view = ChainView(system, key.address)
        self.path = OwnAccount(system, Transactor(self.chain, KeySigner(key)))

    def anchorer(self, crash: CrashPoints = NEVER) -> Anchorer:
        return Anchorer(self.outbox, self.view, self.path, crash=crash)

    # -- rules ------------------------------------------------------------------------------------

    @rule(count=st.integers(1, 4))
    def sign(self, count: int) -> None:
        samples = []
        for _ in range(count):
            self.clock += 10
            self.value += 7
            samples.append(Sample(meter_path=METER, point="import_energy",
                                  quantity="energy.active.import:Wh", timestamp=self.clock,
                                  value=self.value, raw_registers=(0, self.value & 0xFFFF)))
        assert self.store is not None
        self.signer.sign_cycle(samples, now=0)

    @rule(force=st.booleans())
    def close(self, force: bool) -> None:
        self.batcher.close_due(now=0, force=force)

    @rule()
    def anchor(self) -> None:
        self.anchorer().run_once(now=0)

    @rule(requests=st.integers(1, 6))
    def anchor_during_outage(self, requests: int) -> None:
        self.chain.outage = requests
        self.anchorer().run_once(now=0)
        self.chain.outage = 0

    @rule(method=st.sampled_from(["eth_sendRawTransaction", "eth_getTransactionReceipt",
                                  "eth_call", "eth_getLogs"]))
    def anchor_losing_an_answer(self, method: str) -> None:
        self.chain.lose_answer = {method}
        self.anchorer().run_once(now=0)
        self.chain.lose_answer = set()

    @rule(point=st.sampled_from(["anchor-signed-before-send", "anchor-sent-before-receipt"]))
    def crash_while_anchoring(self, point: str) -> None:
        with contextlib.suppress(Crash):
            self.anchorer(CrashPoints(point, action=_die)).run_once(now=0)
        self.restart()

    @rule()
    def crash_between_steps(self) -> None:
        self.restart()

    # -- invariants -------------------------------------------------------------------------------

    def anchored(self) -> list[Any]:
        return self.view.anchor_events()

    @invariant()
    def no_batch_anchored_twice_and_batch_seqs_gap_free_with_our_roots(self) -> None:
        events = self.anchored()
        seqs = [e.batch_seq for e in events]
        assert not [s for s, n in Counter(seqs).items() if n > 1], seqs
        assert sorted(seqs) == list(range(len(seqs)))
        assert self.store is not None
        ours = {b.header.batch_seq: b.header.root for b in batches(self.store)}
        assert {e.batch_seq: e.root for e in events}.items() <= ours.items()

    @invariant()
    def the_device_never_sent_a_transaction_that_anchored_nothing(self) -> None:
        sent = self.chain.w3.eth.get_transaction_count(format_address(self.edge.device.address))  # type: ignore[arg-type]
        assert sent == len(self.anchored())

    @invariant()
    def every_final_row_is_on_chain(self) -> None:
        on_chain = {e.batch_seq for e in self.anchored()}
        final = {e.batch_seq for e in self.outbox.entries() if e.state == FINAL}
        assert final <= on_chain

    def teardown(self) -> None:
        try:
            self.chain.outage, self.chain.lose_answer = 0, set()
            self.restart()
            self.batcher.close_due(now=0, force=True)
            for _ in range(3):
                self.anchorer().run_once(now=0)
            assert self.store is not None
            closed = [b.header.batch_seq for b in batches(self.store)]
            assert [e.batch_seq for e in self.outbox.entries() if e.state == FINAL] == closed
            assert sorted(e.batch_seq for e in self.anchored()) == closed
        finally:
            if self.store is not None:
                self.store.close()
            self.chain.w3.provider.make_request("evm_revert", [self.snapshot])  # type: ignore[arg-type]
            shutil.rmtree(self.dir, ignore_errors=True)


_HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much]


class TestOutboxSurvivesCrashesOutagesAndLostAnswers(OutboxMachine.TestCase):  # type: ignore[name-defined,misc]
    settings = settings(max_examples=4, stateful_step_count=10, deadline=None,
                        suppress_health_check=_HEALTH)


@pytest.mark.soak
class TestOutboxSurvivesCrashesOutagesAndLostAnswersSoak(OutboxMachine.TestCase):  # type: ignore[name-defined,misc]
    settings = settings(max_examples=60, stateful_step_count=25, deadline=None,
                        suppress_health_check=_HEALTH)
