"""AnchorRegistry.anchor: who may anchor, gap-free batch sequence, header checks, lifecycle."""

from __future__ import annotations

import pytest
from eth_utils import keccak
from integration.contracts.support import (
    MAX_CLOCK_SKEW,
    REVOKED,
    SITE,
    SUSPENDED,
    System,
    anchor_batch,
    events,
    signed_batch,
)

from mrv_core.errors import ContractRevert

TIMESTAMP_IN_FUTURE = ContractRevert.named("AnchorRegistryTimestampInFuture")


def _root(label: str) -> bytes:
    return keccak(text=label)


def test_anchor_stores_root_and_emits_header(system: System) -> None:
    batch = signed_batch(system, system.device, 5)
    anchored = anchor_batch(system, system.device, batch)
    receipt = system.w3.eth.get_transaction_receipt(anchored.transaction_hash)  # type: ignore[arg-type]
    assert receipt["blockNumber"] == anchored.block_number
    header = batch.header
    device = system.device.address
    assert events(system.anchors, "BatchAnchored", receipt) == [{
        "device": device, "batchSeq": 0, "root": header.root, "leafCount": 5,
        "fromTimestamp": header.from_timestamp, "toTimestamp": header.to_timestamp}]
    functions = system.anchors.functions
    assert functions.batchRoot(device, 0).call() == header.root
    assert functions.batchRoot(device, 1).call() == bytes(32)
    assert functions.nextBatchSeq(device).call() == 1
    assert functions.deviceState(device).call()[:3] == (1, 1, anchored.block_number)


def test_batch_sequence_is_gap_free(system: System) -> None:
    device = system.device
    anchor = system.anchors.functions.anchor
    now = system.chain.latest_timestamp()
    system.anchor(device, 0, _root("a"))
    for wrong in (0, 2, 2**64 - 1):  # a replay, a skip, anything else
        decoded = system.chain.revert_of(anchor(wrong, _root("b"), 1, now, now), device.account)
        assert (decoded.error, decoded.args_by_name) == (
            "AnchorRegistryBatchSeqMismatch", {"device": device.address, "expected": 1,
                                               "actual": wrong})
    system.anchor(device, 1, _root("b"))
    assert system.anchors.functions.batchRoot(device.address, 0).call() == _root("a")
    assert system.anchors.functions.nextBatchSeq(device.address).call() == 2


def test_header_checks(system: System) -> None:
    device = system.device
    anchor = system.anchors.functions.anchor
    now = system.chain.latest_timestamp()
    revert = system.chain.revert_of
    assert revert(anchor(0, bytes(32), 1, now, now), device.account).error == \
        "AnchorRegistryZeroRoot"
    assert revert(anchor(0, _root("r"), 0, now, now), device.account).error == \
        "AnchorRegistryEmptyBatch"
    decoded = revert(anchor(0, _root("r"), 1, now, now - 1), device.account)
    assert (decoded.error, decoded.args_by_name) == (
        "AnchorRegistryInvalidTimeRange", {"fromTimestamp": now, "toTimestamp": now - 1})
    far = now + MAX_CLOCK_SKEW + 3600
    decoded = revert(anchor(0, _root("r"), 1, now, far), device.account)
    assert decoded.error == "AnchorRegistryTimestampInFuture"
    assert decoded.args_by_name["toTimestamp"] == far


def test_clock_skew_bound_is_exact_and_configurable(system: System) -> None:
    chain, device = system.chain, system.device
    anchor = system.anchors.functions.anchor
    t = chain.latest_timestamp() + 100
    chain.set_next_timestamp(t)
    # Explicit gas: estimation would run against the latest block's time, not the next one's.
    sent = chain.send(anchor(0, _root("x"), 1, t, t + MAX_CLOCK_SKEW), device.account,
                      gas=200_000)
    assert chain.w3.eth.get_block(sent.block_number)["timestamp"] == t
    chain.set_next_timestamp(t + 10)
    too_late = t + 10 + MAX_CLOCK_SKEW + 1
    with pytest.raises(TIMESTAMP_IN_FUTURE) as failed:  # mined, failed, reason decoded
        chain.send(anchor(1, _root("y"), 1, t, too_late), device.account, gas=200_000)
    assert failed.value.receipt["status"] == 0  # type: ignore[index]
    assert failed.value.args_by_name["toTimestamp"] == too_late

    sent = chain.send(system.anchors.functions.setMaxClockSkew(0), system.admin)
    assert events(system.anchors, "MaxClockSkewChanged", sent.receipt) == [
        {"previousSkew": MAX_CLOCK_SKEW, "newSkew": 0}]
    assert system.anchors.functions.maxClockSkew().call() == 0
    chain.set_next_timestamp(t + 20)
    with pytest.raises(TIMESTAMP_IN_FUTURE) as failed:
        chain.send(anchor(1, _root("y"), 1, t, t + 21), device.account, gas=200_000)
    assert failed.value.receipt["status"] == 0  # type: ignore[index]
    assert failed.value.args_by_name["toTimestamp"] == t + 21
    chain.set_next_timestamp(t + 30)
    chain.send(anchor(1, _root("y"), 1, t, t + 30), device.account, gas=200_000)


def test_only_the_device_account_anchors_for_itself(system: System) -> None:
    """A second account anchoring the same root is rejected; another device only ever anchors
    into its own sequence."""
    batch = signed_batch(system, system.device, 3)
    header = batch.header
    call = system.anchors.functions.anchor(0, header.root, header.leaf_count,
                                           header.from_timestamp, header.to_timestamp)
    for intruder in (system.outsider, system.enterprise, system.admin, system.spares[0].account):
        decoded = system.chain.revert_of(call, intruder)
        assert (decoded.error, decoded.args_by_name) == (
            "AnchorRegistryDeviceNotActive", {"device": intruder.address, "status": 0})
    # Lands under device2, not under device.
    system.anchor(system.device2, header.batch_seq, header.root, header.leaf_count,
                  header.from_timestamp, header.to_timestamp)
    assert system.anchors.functions.batchRoot(system.device.address, 0).call() == bytes(32)
    assert system.anchors.functions.nextBatchSeq(system.device.address).call() == 0
    anchor_batch(system, system.device, batch)
    assert system.anchors.functions.batchRoot(system.device.address, 0).call() == header.root


def test_revoked_device_cannot_anchor_but_old_batches_verify(system: System) -> None:
    device = system.device
    batch = signed_batch(system, device, 7)
    anchored = anchor_batch(system, device, batch)
    revoked = system.chain.send(system.devices.functions.revokeDevice(device.address),
                                system.enterprise)
    now = system.chain.latest_timestamp()
    decoded = system.chain.revert_of(
        system.anchors.functions.anchor(1, _root("late"), 1, now, now), device.account)
    assert (decoded.error, decoded.args_by_name) == (
        "AnchorRegistryDeviceNotActive", {"device": device.address, "status": REVOKED})
    for index in range(7):
        proof = batch.tree.proof(index)
        assert system.anchors.functions.verifyReading(
            device.address, 0, batch.tree.leaves[index], proof).call()
    assert system.devices.functions.isRegisteredAt(device.address, anchored.block_number).call()
    assert not system.devices.functions.isRegisteredAt(device.address,
                                                       revoked.block_number + 1).call()
    assert system.anchors.functions.nextBatchSeq(device.address).call() == 1


def test_suspension_blocks_anchoring_until_reinstated(system: System) -> None:
    device = system.device
    system.anchor(device, 0, _root("0"))
    system.chain.send(system.devices.functions.suspendDevice(device.address), system.regulator)
    now = system.chain.latest_timestamp()
    decoded = system.chain.revert_of(
        system.anchors.functions.anchor(1, _root("1"), 1, now, now), device.account)
    assert (decoded.error, decoded.args_by_name) == (
        "AnchorRegistryDeviceNotActive", {"device": device.address, "status": SUSPENDED})
    system.chain.send(system.devices.functions.reinstateDevice(device.address), system.regulator)
    system.anchor(device, 1, _root("1"))  # the sequence continues where it stopped
    assert system.anchors.functions.nextBatchSeq(device.address).call() == 2


def test_rotation_keeps_history_and_starts_a_new_sequence(system: System) -> None:
    old, new = system.device, system.spares[2]
    old_batch = signed_batch(system, old, 4)
    anchor_batch(system, old, old_batch)
    system.chain.send(system.rotate_call(old.address, new, system.enterprise), system.enterprise)
    now = system.chain.latest_timestamp()
    assert system.chain.revert_of(system.anchors.functions.anchor(1, _root("o"), 1, now, now),
                                  old.account).error == "AnchorRegistryDeviceNotActive"
    new_batch = signed_batch(system, new, 4, seed=1)
    anchor_batch(system, new, new_batch)  # batch 0 of the new key
    verify = system.anchors.functions.verifyReading
    assert verify(old.address, 0, old_batch.tree.leaves[2], old_batch.tree.proof(2)).call()
    assert verify(new.address, 0, new_batch.tree.leaves[2], new_batch.tree.proof(2)).call()
    assert not verify(new.address, 0, old_batch.tree.leaves[2], old_batch.tree.proof(2)).call()
    record = system.devices.functions.device(new.address).call()
    assert record[3] == old.address and record[6] == SITE  # predecessor, site
