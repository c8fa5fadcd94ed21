"""The chain steps of verification: a bundle (or batch file) checked against a node.

They run after the offline steps (``mrv_core.verify``) passed, need nothing from the enterprise
(a JSON-RPC endpoint and the deployment file the verifier trusts), and fail closed like them:

9.  ``chain``     the node, the trusted deployment file and the document's anchor name the same
                  chain, AnchorRegistry and DeviceRegistry
10. ``anchor``    the anchoring transaction succeeded in the stated block, has the required
                  confirmations, its ``BatchAnchored`` event carries exactly this batch header,
                  and the registry stores this root for (device, batchSeq)
11. ``device``    the device was registered and not revoked at the anchoring block
12. ``inclusion`` the AnchorRegistry itself accepts the readings' Merkle proof (``eth_call``),
                  for leaves this step recomputes from the readings; a batch file's leaves
                  rebuild the anchored root

Nothing here trusts a digested value handed in by the caller: the leaves a
:class:`~mrv_core.verify.VerifiedBundle` carries are ignored and recomputed, so a hand-built
result holding an inner Merkle node as a "leaf" fails step 12.
"""

from __future__ import annotations

from typing import Any

from ..batch import BatchHeader
from ..bundle import AnchorRef, MultiProofNodes
from ..codec import format_address, format_hex
from ..eip712 import leaf_hash
from ..errors import VerificationError
from ..merkle import MerkleTree
from ..verify import VerifiedBatchFile, VerifiedBundle
from .system import System

__all__ = ["CHAIN_STEPS", "verify_anchor", "verify_on_chain"]

CHAIN_STEPS: dict[str, str] = {
    "chain": "the node, the deployment file and the anchor name the same chain and registries",
    "anchor": "the anchoring transaction is confirmed and its event carries this batch header",
    "device": "the device was registered and not revoked at the anchoring block",
    "inclusion": "the AnchorRegistry accepts the Merkle proof of the leaves recomputed from the "
                 "readings (a batch file: its leaves rebuild the anchored root)",
}


def verify_on_chain(verified: VerifiedBundle | VerifiedBatchFile, system: System) -> AnchorRef:
    """Run steps 9-12 on a document that passed the offline steps; return its anchor."""
    if isinstance(verified, VerifiedBundle):
        bundle = verified.bundle
        anchor, header, sample = bundle.anchor, bundle.batch, bundle.sample
    else:
        document = verified.batch_file
        anchor, header, sample = document.anchor, document.batch, document.sample

    anchor = verify_anchor(system, anchor, header, sample=sample)

    # 12. inclusion, of leaves recomputed here from the readings (never ``verified.leaves``)
    if isinstance(verified, VerifiedBundle):
        proof = verified.bundle.proof
        leaves = tuple(leaf_hash(signed.reading) for signed in verified.bundle.readings)
        if isinstance(proof, MultiProofNodes):
            ok = system.verify_readings(header.device, header.batch_seq, leaves,
                                        proof.proof, proof.proof_flags)
        else:
            ok = len(leaves) == 1 and system.verify_reading(header.device, header.batch_seq,
                                                            leaves[0], proof.path)
        if not ok:
            raise VerificationError("inclusion", "the AnchorRegistry rejects the proof of the "
                                                 "readings' leaves")
    else:
        leaf_list = verified.batch_file.leaves
        if len(leaf_list) != header.leaf_count or MerkleTree(leaf_list).root != header.root:
            raise VerificationError("inclusion", f"the batch file's {len(leaf_list)} leaves do "
                                                 f"not rebuild the anchored root and count")
    return anchor


def verify_anchor(system: System, anchor: AnchorRef | None, header: BatchHeader, *,
                  sample: bool = False) -> AnchorRef:
    """Steps 9-11 for one batch: the anchor names this node's chain and the deployment's
    registries (``chain``), its transaction is confirmed and carries exactly ``header`` whose
    root the registry stores (``anchor``), and the device was registered and active at that
    block (``device``); return the anchor. Raises :class:`VerificationError` naming the step."""
    # 9. chain
    if sample:
        raise VerificationError("chain", "sample data (offline domain) is never on a chain")
    if anchor is None:
        raise VerificationError("chain", "the document is not anchored (anchor is null)")
    deployment = system.deployment
    expected = (system.chain.chain_id, deployment.contracts["AnchorRegistry"],
                deployment.contracts["DeviceRegistry"])
    actual = (anchor.chain_id, anchor.anchor_registry, anchor.device_registry)
    if actual != expected:
        raise VerificationError(
            "chain", f"anchored on chainId {anchor.chain_id} in "
                     f"{format_address(anchor.anchor_registry)} / "
                     f"{format_address(anchor.device_registry)}; the node and deployment are "
                     f"chainId {expected[0]} with {format_address(expected[1])} / "
                     f"{format_address(expected[2])}")

    # 10. anchor
    receipt = _receipt(system, anchor.transaction_hash)
    if receipt is None:
        raise VerificationError("anchor", f"transaction {format_hex(anchor.transaction_hash)} "
                                          "is not on this chain")
    if receipt["status"] != 1 or int(receipt["blockNumber"]) != anchor.block_number:
        raise VerificationError("anchor", f"transaction {format_hex(anchor.transaction_hash)} "
                                          f"has status {receipt['status']} in block "
                                          f"{receipt['blockNumber']}, bundle says block "
                                          f"{anchor.block_number}")
    depth = system.chain.block_number() - anchor.block_number + 1
    if depth < system.chain.settings.confirmations:
        raise VerificationError("anchor", f"{depth} confirmation(s), "
                                          f"{system.chain.settings.confirmations} required")
    if header not in system.anchored_headers(receipt):
        raise VerificationError("anchor", f"the transaction's BatchAnchored events do not carry "
                                          f"this header ({header})")
    stored = system.batch_root(header.device, header.batch_seq)
    if stored != header.root:
        raise VerificationError("anchor", f"the registry stores root {format_hex(stored)} for "
                                          f"batch {header.batch_seq}")

    # 11. device
    if not system.is_registered_at(header.device, anchor.block_number):
        raise VerificationError("device", f"{format_address(header.device)} was not registered "
                                          f"and active at block {anchor.block_number}")
    return anchor


def _receipt(system: System, tx_hash: bytes) -> Any:
    from web3.exceptions import TransactionNotFound

    def fetch() -> Any:
        try:
            return system.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    return system.call("eth_getTransactionReceipt", fetch)
