"""What the anchorer and the relayer read from the chain about one device's batches.

Reads only, through :class:`mrv_core.chain.System` and its retry policy: the next batchSeq the
AnchorRegistry expects, the root it holds for a batchSeq, where a batch was anchored (its
``BatchAnchored`` event, found by the indexed device and batchSeq), whether the node knows a
transaction, and the clock bound the contract applies to a header's ``toTimestamp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mrv_core.chain import ChainClock, NonceTracker, System
from mrv_core.codec import format_address

__all__ = ["AnchorEvent", "ChainView"]


@dataclass(frozen=True)
class AnchorEvent:
    """Where batch ``batch_seq`` of a device was anchored, on the chain as it is now."""

    batch_seq: int
    root: bytes
    tx_hash: bytes
    block_number: int
    block_hash: bytes


class ChainView:
    """Reads about ``device``'s batches on ``system``'s chain."""

    def __init__(self, system: System, device: bytes, clock: ChainClock | None = None) -> None:
        """``clock``: under simulated time, the chain's clock is brought to the simulated now
        before the clock bound is read (the transaction that follows is built on it)."""
        self.system = system
        self.device = device
        self.clock = clock

    def next_batch_seq(self) -> int:
        return self.system.next_batch_seq(self.device)

    def root(self, batch_seq: int) -> bytes:
        return self.system.batch_root(self.device, batch_seq)

    def anchor_events(self, batch_seq: int | None = None,
                      from_block: int = 0) -> list[AnchorEvent]:
        """The device's ``BatchAnchored`` events (of one batchSeq), oldest first."""
        filters: dict[str, Any] = {"device": format_address(self.device)}
        if batch_seq is not None:
            filters["batchSeq"] = batch_seq
        event = self.system.anchors.events.BatchAnchored()
        logs = self.system.call("eth_getLogs", lambda: event.get_logs(
            from_block=from_block, argument_filters=filters))
        return [AnchorEvent(batch_seq=int(log["args"]["batchSeq"]),
                            root=bytes(log["args"]["root"]),
                            tx_hash=bytes(log["transactionHash"]),
                            block_number=int(log["blockNumber"]),
                            block_hash=bytes(log["blockHash"]))
                for log in logs]

    def head(self) -> int:
        return self.system.chain.block_number()

    def block(self, number: int) -> tuple[bytes, int]:
        """A canonical block's hash and timestamp."""
        w3 = self.system.chain.w3
        block = self.system.call("eth_getBlockByNumber", lambda: w3.eth.get_block(number))
        return bytes(block["hash"]), int(block["timestamp"])

    def latest_allowed_timestamp(self) -> int:
        """The largest ``toTimestamp`` the AnchorRegistry takes now: the latest block's time
        plus its ``maxClockSkew`` (the next block is at least as late). Under simulated time
        the latest block is first brought to the simulated now (:class:`ChainClock`)."""
        skew = int(self.system.call("eth_call",
                                    lambda: self.system.anchors.functions.maxClockSkew().call()))
        if self.clock is not None:
            return self.clock.advance() + skew
        return self.system.chain.latest_timestamp() + skew

    def awaiting_mining(self, tx_hash: bytes) -> bool:
        """Whether the node has the transaction and has not mined it yet (it may still be;
        a mined one, failed or not, is not awaited)."""
        from web3.exceptions import TransactionNotFound

        if not NonceTracker(self.system.chain, format_address(self.device)).node_knows(tx_hash):
            return False
        w3 = self.system.chain.w3

        def receipt() -> bool:
            try:
                w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                return False
            return True

        return not self.system.call("eth_getTransactionReceipt", receipt)
