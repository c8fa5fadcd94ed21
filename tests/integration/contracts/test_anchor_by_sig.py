"""AnchorRegistry.anchorBySig: any relayer anchors a batch header the device signed (EIP-712
``Batch``), under the same rules as ``anchor``. Signatures come from eth_account's
``encode_typed_data``, an implementation independent of the product's."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
from eth_utils import keccak
from integration.contracts.support import (
    BATCH_FIELDS,
    REVOKED,
    SUSPENDED,
    Device,
    System,
    events,
    high_s_twin,
    oracle_batch_signature,
    oracle_typed_data,
)

from factories import make_reading
from mrv_core.batch import BatchHeader
from mrv_core.codec import format_address, parse_address
from mrv_core.eip712 import batch_digest
from mrv_core.errors import ContractRevert, RefusedBeforeSending


def _header(system: System, device: Device, batch_seq: int = 0,
            label: str = "root") -> tuple[Any, ...]:
    now = system.chain.latest_timestamp()
    return (device.address, batch_seq, keccak(text=label), 7, now - 60, now)


def _sign(system: System, signer: Device, header: tuple[Any, ...], *,
          chain_id: int | None = None, registry: str | None = None) -> bytes:
    return oracle_batch_signature(signer.account, header,
                                  system.chain.client.chain_id if chain_id is None else chain_id,
                                  system.anchors.address if registry is None else registry)


def _as_header(values: tuple[Any, ...]) -> BatchHeader:
    device, batch_seq, root, leaf_count, from_ts, to_ts = values
    return BatchHeader(device=parse_address(device), batch_seq=batch_seq, root=root,
                       leaf_count=leaf_count, from_timestamp=from_ts, to_timestamp=to_ts)


def test_contract_batch_digest_equals_eth_account_hash(system: System) -> None:
    header = _header(system, system.device)
    signable = oracle_typed_data("Batch", BATCH_FIELDS,
                                 dict(zip([f["name"] for f in BATCH_FIELDS], header, strict=True)),
                                 system.chain.client.chain_id, system.anchors.address)
    expected = keccak(b"\x19" + signable.version + signable.header + signable.body)
    assert system.anchors.functions.batchDigest(*header).call() == expected


def test_any_relayer_anchors_a_signed_header_and_is_recorded(system: System) -> None:
    header = _header(system, system.device)
    signature = _sign(system, system.device, header)
    relayer = system.chain.transactor(system.outsider)  # holds no role at all
    anchored = system.core.anchor_by_sig(relayer, _as_header(header), signature)
    receipt = system.w3.eth.get_transaction_receipt(anchored.transaction_hash)  # type: ignore[arg-type]
    device, batch_seq, root, leaf_count, from_ts, to_ts = header
    assert events(system.anchors, "BatchAnchored", receipt) == [{
        "device": device, "batchSeq": batch_seq, "root": root, "leafCount": leaf_count,
        "fromTimestamp": from_ts, "toTimestamp": to_ts}]
    assert events(system.anchors, "BatchRelayed", receipt) == [{
        "device": device, "batchSeq": batch_seq, "relayer": system.outsider.address}]
    assert system.core.anchored_headers(receipt) == [_as_header(header)]
    assert system.anchors.functions.batchRoot(device, 0).call() == root
    state = system.anchors.functions.deviceState(device).call()
    assert state[:3] == (1, 1, anchored.block_number)
    # The device's own anchor continues the same gap-free sequence.
    system.anchor(system.device, 1, keccak(text="next"))


def test_wrong_signer_is_rejected(system: System) -> None:
    header = _header(system, system.device)
    for signer in (system.device2, system.spares[0]):
        decoded = system.chain.revert_of(system.anchors.functions.anchorBySig(
            *header, _sign(system, signer, header)), system.outsider)
        assert (decoded.error, decoded.args_by_name) == (
            "AnchorRegistryBatchSignerMismatch",
            {"device": system.device.address, "signer": signer.address})


def test_replayed_signature_of_a_used_batch_seq_is_rejected(system: System) -> None:
    header = _header(system, system.device)
    call = system.anchors.functions.anchorBySig(*header, _sign(system, system.device, header))
    system.chain.send(call, system.outsider)
    for relayer in (system.outsider, system.enterprise2):
        decoded = system.chain.revert_of(call, relayer)
        assert (decoded.error, decoded.args_by_name) == (
            "AnchorRegistryBatchSeqMismatch",
            {"device": system.device.address, "expected": 1, "actual": 0})
    assert system.anchors.functions.nextBatchSeq(system.device.address).call() == 1


@pytest.mark.parametrize("field", [f["name"] for f in BATCH_FIELDS])
def test_tampered_field_is_rejected(system: System, field: str) -> None:
    header = _header(system, system.device)
    signature = _sign(system, system.device, header)
    index = [f["name"] for f in BATCH_FIELDS].index(field)
    changed = {"device": system.device2.address, "batchSeq": 1, "root": keccak(text="other"),
               "leafCount": 8, "fromTimestamp": header[4] - 1, "toTimestamp": header[5] - 1}
    tampered = (*header[:index], changed[field], *header[index + 1:])
    decoded = system.chain.revert_of(system.anchors.functions.anchorBySig(*tampered, signature),
                                     system.outsider)
    assert decoded.error == "AnchorRegistryBatchSignerMismatch"
    assert decoded.args_by_name["device"] == tampered[0]
    assert decoded.args_by_name["signer"] != tampered[0]


def test_high_s_and_malformed_signatures_are_rejected(system: System) -> None:
    header = _header(system, system.device)
    signature = _sign(system, system.device, header)
    anchor_by_sig = system.anchors.functions.anchorBySig
    decoded = system.chain.revert_of(anchor_by_sig(*header, high_s_twin(signature)),
                                     system.outsider)
    assert decoded.error == "ECDSAInvalidSignatureS"
    assert system.chain.revert_of(anchor_by_sig(*header, signature[:64]),
                                  system.outsider).error == "ECDSAInvalidSignatureLength"
    system.chain.send(anchor_by_sig(*header, signature), system.outsider)  # the low-s one works


def test_signature_for_another_chain_or_registry_is_rejected(system: System) -> None:
    header = _header(system, system.device)
    for chain_id, registry in ((system.chain.client.chain_id + 1, None),
                               (None, system.devices.address)):
        decoded = system.chain.revert_of(system.anchors.functions.anchorBySig(
            *header, _sign(system, system.device, header, chain_id=chain_id, registry=registry)),
            system.outsider)
        assert decoded.error == "AnchorRegistryBatchSignerMismatch"


def test_relayed_anchor_follows_device_status(system: System) -> None:
    device = system.device
    functions = system.devices.functions
    system.chain.send(functions.suspendDevice(device.address), system.regulator)
    header = _header(system, device)
    call = system.anchors.functions.anchorBySig(*header, _sign(system, device, header))
    decoded = system.chain.revert_of(call, system.outsider)
    assert (decoded.error, decoded.args_by_name) == (
        "AnchorRegistryDeviceNotActive", {"device": device.address, "status": SUSPENDED})
    system.chain.send(functions.revokeDevice(device.address), system.enterprise)
    decoded = system.chain.revert_of(call, system.outsider)
    assert decoded.args_by_name == {"device": device.address, "status": REVOKED}
    # A signature by a key that was never registered anchors nothing either.
    spare = system.spares[0]
    header = _header(system, spare)
    decoded = system.chain.revert_of(system.anchors.functions.anchorBySig(
        *header, _sign(system, spare, header)), system.outsider)
    assert (decoded.error, decoded.args_by_name) == (
        "AnchorRegistryDeviceNotActive", {"device": spare.address, "status": 0})


def test_client_refuses_a_signature_of_the_wrong_length_before_sending(system: System) -> None:
    relayer = system.chain.transactor(system.outsider)
    before = system.w3.eth.get_transaction_count(system.outsider.address)
    header = _as_header(_header(system, system.device))
    with pytest.raises(RefusedBeforeSending, match="65 bytes, got 64"):
        system.core.anchor_by_sig(relayer, header, bytes(64))
    assert system.w3.eth.get_transaction_count(system.outsider.address) == before


def test_client_decodes_a_relayed_revert(system: System) -> None:
    header = _header(system, system.device, batch_seq=5)  # correctly signed, but not next
    with pytest.raises(ContractRevert.named("AnchorRegistryBatchSeqMismatch")):
        system.core.anchor_by_sig(system.chain.transactor(system.outsider), _as_header(header),
                                  _sign(system, system.device, header))


@pytest.mark.parametrize("signer", ["other device", "other chain"])
def test_client_refuses_a_header_signature_of_another_signer_before_sending(
        system: System, signer: str) -> None:
    header = _header(system, system.device)
    signature = (_sign(system, system.device2, header) if signer == "other device"
                 else _sign(system, system.device, header, chain_id=999))
    before = system.w3.eth.get_transaction_count(system.outsider.address)
    with pytest.raises(RefusedBeforeSending, match=r"recovers 0x[0-9a-fA-F]{40} under this "):
        system.core.anchor_by_sig(system.chain.transactor(system.outsider), _as_header(header),
                                  signature)
    assert system.w3.eth.get_transaction_count(system.outsider.address) == before


def test_contract_accepts_the_header_signature_the_product_makes(system: System) -> None:
    """The contract's ``batchDigest`` is ``mrv_core.eip712.batch_digest``, and a batch closed and
    signed by ``DeviceKey.close_batch`` (what bundles and batch files carry) anchors through
    ``anchorBySig``."""
    key = system.device.key
    now = system.chain.latest_timestamp()
    rng = random.Random(8)
    readings = []
    for seq in range(3):
        reading, path = make_reading(rng, key.address, seq=seq)
        reading = dataclasses.replace(reading, timestamp=now - 60 + seq)
        readings.append(key.sign_reading(reading, system.core.domain, path))
    batch = key.close_batch(0, readings, system.core.domain)
    header = batch.header
    assert bytes(system.anchors.functions.batchDigest(
        format_address(header.device), header.batch_seq, header.root, header.leaf_count,
        header.from_timestamp, header.to_timestamp).call()) == batch_digest(
            header, system.core.domain)
    assert batch.header_signature is not None
    anchored = system.core.anchor_by_sig(system.chain.transactor(system.outsider), header,
                                         batch.header_signature)
    receipt = system.w3.eth.get_transaction_receipt(anchored.transaction_hash)  # type: ignore[arg-type]
    assert system.core.anchored_headers(receipt) == [header]


def test_client_refuses_to_anchor_another_devices_batch_before_sending(system: System) -> None:
    """A check made in the chain client before sending raises RefusedBeforeSending, never
    TransactionFailed (which means a transaction failed or was never mined)."""
    header = _as_header(_header(system, system.device))
    before = system.w3.eth.get_transaction_count(system.device2.address)
    with pytest.raises(RefusedBeforeSending, match="cannot be anchored by"):
        system.core.anchor(system.chain.transactor(system.device2.account), header)
    assert system.w3.eth.get_transaction_count(system.device2.address) == before
