"""Python-built proofs verify on chain, tampered ones don't; on-chain hashing equals Python's."""

from __future__ import annotations

import random

from eth_utils import keccak
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from integration.contracts.support import System, anchor_batch, signed_batch
from web3 import Web3

from factories import readings
from mrv_core import MerkleTree, Reading, leaf_hash, reading_digest, struct_hash
from mrv_core.codec import INT256_MAX, INT256_MIN, UINT64_MAX
from mrv_core.quantities import encode_quantity_code
from mrv_core.signing import SECP256K1_N

CHAIN_SETTINGS = settings(max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])


def _flip(node: bytes, bit: int = 0) -> bytes:
    return bytes([node[0] ^ (1 << bit)]) + node[1:]


def _fields(reading: Reading) -> tuple[object, ...]:
    return (
        Web3.to_checksum_address(reading.device), reading.meter, reading.seq, reading.timestamp,
        encode_quantity_code(reading.quantity), reading.value, reading.salt,
    )


def _anchor_leaves(system: System, leaves: list[bytes]) -> tuple[MerkleTree, int]:
    tree = MerkleTree(leaves)
    seq = system.anchors.functions.nextBatchSeq(system.device.address).call()
    system.anchor(system.device, seq, tree.root, len(leaves))
    return tree, seq


def test_single_proofs_verify_and_tampered_ones_do_not(system: System) -> None:
    batch = signed_batch(system, system.device, 13)
    anchor_batch(system, system.device, batch)
    verify = system.anchors.functions.verifyReading
    device = system.device.address
    tree = batch.tree
    for index in range(13):
        leaf, proof = tree.leaves[index], tree.proof(index)
        assert leaf == leaf_hash(batch.readings[index].reading)
        assert verify(device, 0, leaf, proof).call()
        assert not verify(device, 0, _flip(leaf), proof).call()
        assert not verify(device, 0, leaf, [*proof[:-1], _flip(proof[-1])]).call()
        assert not verify(device, 0, leaf, proof[:-1]).call()
        assert not verify(device, 1, leaf, proof).call()  # not anchored
        assert not verify(system.device2.address, 0, leaf, proof).call()


def test_multiproofs_verify_and_tampered_ones_do_not(system: System) -> None:
    batch = signed_batch(system, system.device, 21, seed=3)
    anchor_batch(system, system.device, batch)
    verify = system.anchors.functions.verifyReadings
    device = system.device.address
    rng = random.Random(7)
    for size in (1, 2, 5, 21):
        multi, _ = batch.tree.multiproof(rng.sample(range(21), size))
        leaves, proof, flags = list(multi.leaves), list(multi.proof), list(multi.proof_flags)
        assert verify(device, 0, leaves, proof, flags).call()
        assert not verify(device, 0, [_flip(leaves[0]), *leaves[1:]], proof, flags).call()
        if proof:
            assert not verify(device, 0, leaves, [_flip(proof[0]), *proof[1:]], flags).call()
        if flags:
            # Flipped flags or a dropped leaf: malformed proofs answer False, never revert.
            flipped = [not flags[0], *flags[1:]]
            assert not verify(device, 0, leaves, proof, flipped).call()
        assert not verify(device, 0, leaves[1:], proof, flags).call()
        assert not verify(device, 1, leaves, proof, flags).call()
    assert not verify(device, 0, [], [batch.tree.root], []).call()  # the empty-set trap


@CHAIN_SETTINGS
@given(data=st.data(), count=st.integers(min_value=1, max_value=40))
@example(data=None, count=1)
def test_random_trees_verify_on_chain(system: System, data: st.DataObject | None,
                                      count: int) -> None:
    device = bytes.fromhex(system.device.address[2:])
    if data is None:
        batch = [Reading(device, bytes(32), 0, 0, "power.active:W", INT256_MIN, bytes(32))]
        subset = [0]
    else:
        batch = data.draw(st.lists(readings(device=device), min_size=count, max_size=count))
        subset = data.draw(st.lists(st.integers(0, count - 1), min_size=1, max_size=count,
                                    unique=True))
    tree, seq = _anchor_leaves(system, [leaf_hash(r) for r in batch])
    verify_one = system.anchors.functions.verifyReading
    for index in subset[:4]:
        assert verify_one(system.device.address, seq, tree.leaves[index], tree.proof(index)).call()
    multi, _ = tree.multiproof(subset)
    assert system.anchors.functions.verifyReadings(
        system.device.address, seq, list(multi.leaves), list(multi.proof),
        list(multi.proof_flags)).call()


@CHAIN_SETTINGS
@given(reading=readings())
@example(reading=Reading(bytes(20), bytes(32), 0, 0, "power.active:W", INT256_MIN, bytes(32)))
@example(reading=Reading(b"\xff" * 20, b"\xff" * 32, UINT64_MAX, UINT64_MAX, "power.active:W",
                         INT256_MAX, b"\xff" * 32))
def test_on_chain_hashing_equals_python(system: System, reading: Reading) -> None:
    functions = system.anchors.functions
    domain = system.core.domain
    assert functions.readingStructHash(*_fields(reading)).call() == struct_hash(reading)
    assert functions.readingLeaf(*_fields(reading)).call() == leaf_hash(reading)
    assert functions.readingDigest(*_fields(reading)).call() == reading_digest(reading, domain)


@CHAIN_SETTINGS
@given(data=st.data())
def test_on_chain_signer_recovery_equals_python(system: System, data: st.DataObject) -> None:
    key = system.device.key
    reading = data.draw(readings(device=key.address))
    domain = system.core.domain
    signed = key.sign_reading(reading, domain, "demo-co/wuxi-plant/assembly/line-1/main-incomer")
    recovered = system.anchors.functions.recoverReadingSigner(
        *_fields(reading), signed.signature).call()
    assert recovered == system.device.address


def test_domain_is_reported_and_non_canonical_signatures_rejected(system: System) -> None:
    functions = system.anchors.functions
    chain_id = system.w3.eth.chain_id
    assert functions.eip712Domain().call() == [
        b"\x0f", "TrustMRV", "1", chain_id, system.anchors.address, bytes(32), []]
    domain = system.core.domain
    assert domain.chain_id == chain_id
    assert functions.domainSeparator().call() == domain.separator
    assert functions.READING_TYPEHASH().call() == keccak(
        text="Reading(address device,bytes32 meter,uint64 seq,uint64 timestamp,bytes32 quantity,"
             "int256 value,bytes32 salt)")

    batch = signed_batch(system, system.device, 1)
    signed = batch.readings[0]
    fields = _fields(signed.reading)
    signature = signed.signature
    s = int.from_bytes(signature[32:64], "big")
    high_s = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([signature[64] ^ 1])
    recover = functions.recoverReadingSigner
    assert system.chain.revert_of(recover(*fields, high_s), system.outsider).error == \
        "ECDSAInvalidSignatureS"
    assert system.chain.revert_of(recover(*fields, signature[:64]), system.outsider).error == \
        "ECDSAInvalidSignatureLength"
    # A signature under another domain (another chain) recovers someone else.
    other = system.device.key.sign_reading(
        signed.reading, type(domain)(chain_id=chain_id + 1,
                                     verifying_contract=domain.verifying_contract),
        signed.meter_path)
    assert recover(*fields, other.signature).call() != system.device.address
