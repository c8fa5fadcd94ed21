"""The chain steps of verification: a bundle (or batch file) checked against a node.

They run after the offline steps (``mrv_core.verify``) passed, need nothing from the enterprise
(a JSON-RPC endpoint and the deployment file the verifier trusts), and fail closed like them:

8.  ``chain``     the node, the trusted deployment file and the document's anchor name the same
                  chain, AnchorRegistry and DeviceRegistry
9.  ``anchor``    the anchoring transaction succeeded in the stated block, has the required
                  confirmations, its ``BatchAnchored`` event carries exactly this batch header,
                  and the registry stores this root for (device, batchSeq)
10. ``device``    the device was registered and not revoked at the anchoring block
11. ``inclusion`` the AnchorRegistry itself accepts the readings' Merkle proof (``eth_call``)
"""

from __future__ import annotations

from typing import Any

from ..bundle import AnchorRef, MultiProofNodes
from ..codec import format_address, format_hex
from ..errors import VerificationError
from ..verify import VerifiedBatchFile, VerifiedBundle
from .system import System

__all__ = ["CHAIN_STEPS", "verify_on_chain"]

CHAIN_STEPS: dict[str, str] = {
    "chain": "the node, the deployment file and the anchor name the same chain and registries",
    "anchor": "the anchoring transaction is confirmed and its event carries this batch header",
    "device": "the device was registered and not revoked at the anchoring block",
    "inclusion": "the AnchorRegistry accepts the readings' Merkle proof",
}


def verify_on_chain(verified: VerifiedBundle | VerifiedBatchFile, system: System) -> AnchorRef:
    """Run steps 8-11 on a document that passed the offline steps; return its anchor."""
    if isinstance(verified, VerifiedBundle):
        bundle = verified.bundle
        anchor, header, sample = bundle.anchor, bundle.batch, bundle.sample
    else:
        document = verified.batch_file
        anchor, header, sample = document.anchor, document.batch, document.sample

    # 8. chain
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

    # 9. anchor
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

    # 10. device
    if not system.is_registered_at(header.device, anchor.block_number):
        raise VerificationError("device", f"{format_address(header.device)} was not registered "
                                          f"and active at block {anchor.block_number}")

    # 11. inclusion
    if isinstance(verified, VerifiedBundle):
        proof = verified.bundle.proof
        if isinstance(proof, MultiProofNodes):
            ok = system.verify_readings(header.device, header.batch_seq, verified.leaves,
                                        proof.proof, proof.proof_flags)
        else:
            ok = system.verify_reading(header.device, header.batch_seq, verified.leaves[0],
                                       proof.path)
        if not ok:
            raise VerificationError("inclusion", "the AnchorRegistry rejects the proof")
    return anchor


def _receipt(system: System, tx_hash: bytes) -> Any:
    from web3.exceptions import TransactionNotFound

    def fetch() -> Any:
        try:
            return system.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    return system.call("eth_getTransactionReceipt", fetch)
