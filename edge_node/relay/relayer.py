"""The relayer: anchors batch headers that devices signed, paying with the enterprise's key.

:meth:`Relayer.relay` checks before paying anything:

1. the header's EIP-712 ``Batch`` signature, under this chain's domain, recovers the header's
   device (403 otherwise);
2. that device is registered, ``active``, and belongs to this relayer's enterprise (403);
3. its job (device, batchSeq) in the relayer's own outbox: a request for a job already held
   with another root is refused (409); one already anchored is answered from the chain without
   sending anything; one whose transaction the node still holds unmined is answered "retry
   later" (503), never sent twice;
4. the chain: ``nextBatchSeq`` above the batchSeq with the same root means done (answered from
   the ``BatchAnchored`` event); with another root, or ``nextBatchSeq`` below the batchSeq
   (an earlier batch missing), 409;
5. only then ``anchorBySig`` is sent (``System.anchor_by_sig`` checks the signature once more
   before sending), its transaction recorded before its bytes reach the node.

One request at a time sends (one account, one nonce sequence). :meth:`Relayer.resume`, run at
start, finishes the jobs a previous process left unfinished.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import structlog

from mrv_core.batch import BatchHeader
from mrv_core.chain import System, Transactor
from mrv_core.codec import format_address
from mrv_core.eip712 import batch_digest
from mrv_core.errors import ChainError, ContractRevert, SignatureError
from mrv_core.signing import recover_address

from .._internal.crashpoints import NEVER, CrashPoints
from ..anchoring.chainview import ChainView
from ..errors import RelayRefused
from .jobs import FINAL, SENT, RelayJobs

__all__ = ["Relayed", "Relayer"]


@dataclass(frozen=True)
class Relayed:
    """Where the batch was anchored."""

    tx_hash: bytes
    block_number: int


class Relayer:
    """See the module docstring. ``enterprise`` is the 20-byte account whose devices it serves."""

    def __init__(self, system: System, transactor: Transactor, enterprise: bytes,
                 jobs: RelayJobs, *, crash: CrashPoints = NEVER) -> None:
        self.system = system
        self.transactor = transactor
        self.enterprise = enterprise
        self.jobs = jobs
        self._crash = crash
        self._lock = threading.Lock()
        self._log: Any = structlog.get_logger("edge_node.relay")

    def relay(self, header: BatchHeader, signature: bytes) -> Relayed:
        """Anchor a signed header (module docstring); raises
        :class:`~edge_node.errors.RelayRefused` with the HTTP status to answer."""
        self._check_signer(header, signature)
        self._check_device(header.device)
        with self._lock:
            job = self.jobs.accept(header, signature)
            if job.header != header:
                raise RelayRefused(409, f"batch {header.batch_seq} of "
                                         f"{format_address(header.device)} was already asked "
                                         f"with root 0x{job.header.root.hex()}")
            return self._drive(header, signature, job.state, job.tx_hash)

    def resume(self) -> list[BatchHeader]:
        """Finish what a previous process started; return the headers that could not be."""
        left = []
        with self._lock:
            for job in self.jobs.unfinished():
                try:
                    self._drive(job.header, job.signature, job.state, job.tx_hash)
                except RelayRefused as exc:
                    self._log.warning("relay_resume_failed", batch_seq=job.header.batch_seq,
                                      device=format_address(job.header.device), error=exc.reason)
                    left.append(job.header)
        return left

    # -- checks -----------------------------------------------------------------------------------

    def _check_signer(self, header: BatchHeader, signature: bytes) -> None:
        try:
            signer = recover_address(batch_digest(header, self.system.domain), signature)
        except SignatureError as exc:
            raise RelayRefused(403, f"the batch signature is unusable: {exc}") from None
        if signer != header.device:
            raise RelayRefused(403, f"the batch signature recovers {format_address(signer)}, "
                                     f"the header's device is {format_address(header.device)}")

    def _check_device(self, device: bytes) -> None:
        try:
            record = self.system.device_record(device)
            status = self.system.device_status(device)
        except ChainError as exc:
            raise RelayRefused(503, f"chain unavailable: {exc}") from None
        enterprise = bytes.fromhex(str(record[0])[2:])
        if enterprise != self.enterprise:
            raise RelayRefused(403, f"device {format_address(device)} is not a device of "
                                     f"{format_address(self.enterprise)}")
        if status != "active":
            raise RelayRefused(403, f"device {format_address(device)} is {status}")

    # -- anchoring --------------------------------------------------------------------------------

    def _drive(self, header: BatchHeader, signature: bytes, state: str,
               tx_hash: bytes | None) -> Relayed:
        device, seq = header.device, header.batch_seq
        view = ChainView(self.system, device)
        try:
            chain_next = view.next_batch_seq()
            if seq < chain_next:
                return self._done(view, header)
            if seq > chain_next:
                raise RelayRefused(409, f"batch {chain_next} of {format_address(device)} is "
                                         f"not anchored yet; batch {seq} cannot come first")
            if state == SENT and tx_hash is not None and view.awaiting_mining(tx_hash):
                raise RelayRefused(503, f"transaction 0x{tx_hash.hex()} for batch {seq} is "
                                         f"not mined yet; retry later")

            def on_signed(nonce: int | None, signed_hash: bytes) -> None:
                self.jobs.update(device, seq, state=SENT, nonce=nonce, tx_hash=signed_hash)

            ref = self.system.anchor_by_sig(self.transactor, header, signature,
                                            on_signed=on_signed)
        except ContractRevert as exc:
            self.jobs.update(device, seq, last_error=str(exc)[:500])
            raise RelayRefused(409, str(exc)) from None
        except ChainError as exc:
            self.jobs.update(device, seq, last_error=str(exc)[:500])
            raise RelayRefused(503, f"chain unavailable: {exc}") from None
        self._crash.reached("relay-sent-before-record")
        self.jobs.update(device, seq, state=FINAL, tx_hash=ref.transaction_hash,
                         block_number=ref.block_number, last_error=None)
        self._log.info("relayed", device=format_address(device), batch_seq=seq,
                       tx=f"0x{ref.transaction_hash.hex()}", block=ref.block_number)
        return Relayed(ref.transaction_hash, ref.block_number)

    def _done(self, view: ChainView, header: BatchHeader) -> Relayed:
        """The chain holds the batchSeq: ours if the root is, answered from its event."""
        seq = header.batch_seq
        root = view.root(seq)
        if root != header.root:
            raise RelayRefused(409, f"batch {seq} of {format_address(header.device)} is "
                                     f"anchored with another root 0x{root.hex()}")
        events = view.anchor_events(seq)
        if len(events) != 1:
            raise RelayRefused(503, f"batch {seq}: {len(events)} BatchAnchored events found")
        event = events[0]
        self.jobs.update(header.device, seq, state=FINAL, tx_hash=event.tx_hash,
                         block_number=event.block_number, last_error=None)
        return Relayed(event.tx_hash, event.block_number)
