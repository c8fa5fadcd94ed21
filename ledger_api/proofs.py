"""Proof bundles from the ledger's stored data (``trustmrv-proof/2``, docs/protocol.md 5.4).

:func:`proof_bundle` builds, for one or more readings of one batch, the same bundle
``mrv_core.bundle.bundle_for_readings`` builds from the batch itself (byte for byte: the tree
sorts its leaves, so the proof depends only on the batch's set of leaves): the batch header with
the device's signature, the readings with salts and signatures, and a single proof or an
OpenZeppelin multiproof. The batch's Merkle tree is rebuilt from its stored leaves and kept in a
small cache (:class:`TreeCache`), so serving many proofs of one batch costs one tree.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from mrv_core.batch import BatchHeader
from mrv_core.bundle import AnchorRef, MultiProofNodes, ProofBundle, SingleProof
from mrv_core.chain import Deployment, System
from mrv_core.codec import format_address
from mrv_core.eip712 import Domain
from mrv_core.merkle import MerkleTree

from .db.models import AnchorRow, BatchRow, LeafRow, ReadingRow
from .errors import ProofUnavailable

__all__ = ["TreeCache", "anchor_in", "anchor_of", "proof_bundle"]

#: Readings one bundle may prove (``mrv_core.bundle.LIMITS.readings_per_bundle`` is larger;
#: a request for more is refused before any tree is built).
MAX_READINGS = 1024


class TreeCache:
    """The Merkle trees of the last ``size`` batches served, by (device, batchSeq, root)."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._trees: OrderedDict[tuple[bytes, int, bytes], MerkleTree] = OrderedDict()
        self._lock = threading.Lock()

    def tree(self, session: Session, batch: BatchRow) -> MerkleTree:
        key = (batch.device, batch.batch_seq, batch.root)
        with self._lock:
            if key in self._trees:
                self._trees.move_to_end(key)
                return self._trees[key]
        leaves = session.scalars(
            select(LeafRow.leaf).where(LeafRow.device == batch.device,
                                       LeafRow.position >= batch.first_position,
                                       LeafRow.position < batch.first_position + batch.leaf_count)
            .order_by(LeafRow.position)).all()
        tree = MerkleTree(list(leaves))
        if tree.root != batch.root:  # the stored leaves no longer give the accepted root
            raise ProofUnavailable(500, "integrity", f"batch {batch.batch_seq} of "
                                   f"{format_address(batch.device)}: its stored leaves give root "
                                   f"0x{tree.root.hex()}, its header 0x{batch.root.hex()}")
        with self._lock:
            self._trees[key] = tree
            while len(self._trees) > self._size:
                self._trees.popitem(last=False)
        return tree


def anchor_of(session: Session, header: BatchHeader, system: System) -> AnchorRef | None:
    """Where the chain watcher saw the batch ``header`` anchored, exactly this header (root,
    leaf count and time span), in a block still on the chain (None: not yet, or only another
    header under its batchSeq)."""
    return anchor_in(session, header, system.deployment)


def anchor_in(session: Session, header: BatchHeader, deployment: Deployment) -> AnchorRef | None:
    """:func:`anchor_of` with the chain named by its deployment file (no node needed)."""
    row = session.scalars(
        select(AnchorRow).where(AnchorRow.device == header.device,
                                AnchorRow.batch_seq == header.batch_seq,
                                AnchorRow.root == header.root,
                                AnchorRow.leaf_count == header.leaf_count,
                                AnchorRow.from_timestamp == header.from_timestamp,
                                AnchorRow.to_timestamp == header.to_timestamp,
                                AnchorRow.orphaned_at.is_(None))
        .order_by(AnchorRow.block_number)).first()
    if row is None:
        return None
    contracts = deployment.contracts
    return AnchorRef(chain_id=deployment.chain_id,
                     anchor_registry=contracts["AnchorRegistry"],
                     device_registry=contracts["DeviceRegistry"],
                     transaction_hash=row.tx_hash, block_number=row.block_number)


def proof_bundle(session: Session, device: bytes, keys: Sequence[tuple[bytes, int]],
                 domain: Domain, anchor: AnchorRef | None, trees: TreeCache) -> ProofBundle:
    """The bundle proving the readings ``keys`` ((meter id, seq) pairs) of ``device``, which
    must all lie in one accepted batch. Raises :class:`ProofUnavailable` (404: a reading not
    held; 409: not yet in an accepted batch, or in several; 400: none or too many asked)."""
    if not 1 <= len(keys) <= MAX_READINGS or len(set(keys)) != len(keys):
        raise ProofUnavailable(400, "readings", f"expected 1 to {MAX_READINGS} distinct "
                                                f"readings, got {len(keys)}")
    rows = []
    for meter, seq in keys:
        row = session.execute(
            select(ReadingRow, LeafRow.batch_seq)
            .join(LeafRow, (LeafRow.device == ReadingRow.device)
                  & (LeafRow.position == ReadingRow.position))
            .where(ReadingRow.device == device, ReadingRow.meter == meter,
                   ReadingRow.seq == seq)).one_or_none()
        if row is None:
            raise ProofUnavailable(404, "reading", f"no reading of meter 0x{meter.hex()} seq "
                                                   f"{seq} of device {format_address(device)}")
        rows.append(row)
    if any(batch_seq is None for _, batch_seq in rows):
        raise ProofUnavailable(409, "batch", "a reading is not yet in an accepted batch (its "
                                             "header has not arrived)")
    batch_seqs = {int(batch_seq) for _, batch_seq in rows if batch_seq is not None}
    if len(batch_seqs) != 1:
        raise ProofUnavailable(409, "batch", f"the readings lie in batches "
                                             f"{sorted(batch_seqs)}: one bundle proves one "
                                             "batch's readings")
    batch = session.get(BatchRow, (device, batch_seqs.pop()))
    assert batch is not None
    tree = trees.tree(session, batch)
    signed = [reading.signed() for reading, _ in rows]
    indices = [reading.position - batch.first_position for reading, _ in rows]
    header = batch.header()
    if len(indices) == 1:
        return ProofBundle(domain=domain, anchor=anchor, batch=header, readings=(signed[0],),
                           proof=SingleProof(tuple(tree.proof(indices[0]))),
                           header_signature=batch.signature)
    multi, order = tree.multiproof(indices)
    by_index = dict(zip(indices, signed, strict=True))
    return ProofBundle(domain=domain, anchor=anchor, batch=header,
                       readings=tuple(by_index[i] for i in order),
                       proof=MultiProofNodes(multi.proof, multi.proof_flags),
                       header_signature=batch.signature)

