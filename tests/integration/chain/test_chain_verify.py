"""The chain steps of verification, on both backends."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import pytest

from factories import signed_records
from mrv_core import (
    BatchFile,
    ProofBundle,
    SingleProof,
    VerificationError,
    VerifiedBatchFile,
    VerifiedBundle,
    bundle_for_readings,
    leaf_hash,
    process_proof,
    verify_batch,
    verify_bundle,
)
from mrv_core.chain import Chain, ChainSettings, System, verify_on_chain
from mrv_core.errors import ContractRevert
from mrv_core.merkle import hash_pair

from .conftest import Actors


def chain_step(bundle: ProofBundle, system: System) -> str:
    verified = verify_bundle(bundle)  # the offline steps pass: only the chain can tell
    with pytest.raises(VerificationError) as excinfo:
        verify_on_chain(verified, system)
    return excinfo.value.step


class Anchored(NamedTuple):
    actors: Actors
    single: ProofBundle
    multi: ProofBundle
    batch_file: BatchFile


@pytest.fixture
def anchored(actors: Actors) -> Anchored:
    """A batch of 11 readings anchored by the device, with a single and a multiproof bundle."""
    batch = actors.batch(11)
    anchor = actors.system.anchor(actors.device_tx, batch.header)
    single = bundle_for_readings(batch, actors.system.domain, [4], anchor)
    multi = bundle_for_readings(batch, actors.system.domain, [0, 5, 10], anchor)
    return Anchored(actors, single, multi, BatchFile.of(batch, actors.system.domain, anchor))


def test_anchored_documents_verify_on_chain(anchored: Anchored) -> None:
    actors, single, multi, batch_file = anchored
    for bundle in (single, multi):
        assert verify_on_chain(verify_bundle(bundle), actors.system) == bundle.anchor
    assert verify_on_chain(verify_batch(batch_file), actors.system) == batch_file.anchor


def test_an_edited_header_fails_offline_when_signed_and_on_chain_when_not(
        anchored: Anchored) -> None:
    """leafCount and batchSeq are not in the root. Version 2: the device's header signature
    covers them offline. Version 1 (no header signature): the anchor's event is their witness."""
    actors, single, _, _ = anchored
    more = dataclasses.replace(single.batch, leaf_count=single.batch.leaf_count + 1)
    later = dataclasses.replace(single.batch, batch_seq=1)
    for edited in (more, later):
        with pytest.raises(VerificationError) as excinfo:
            verify_bundle(dataclasses.replace(single, batch=edited))
        assert excinfo.value.step == "header"
        legacy = dataclasses.replace(single, batch=edited, header_signature=None)
        assert chain_step(legacy, actors.system) == "anchor"


def test_a_hand_built_result_holding_an_inner_node_fails_inclusion(anchored: Anchored) -> None:
    """The chain steps recompute the leaves from the readings: an inner node handed in as a
    "verified" leaf, with the path that leads from it to the anchored root, is refused."""
    actors, single, multi, _ = anchored
    assert isinstance(single.proof, SingleProof)
    inner = hash_pair(leaf_hash(single.readings[0].reading), single.proof.path[0])
    shortened = dataclasses.replace(single, proof=SingleProof(single.proof.path[1:]))
    assert process_proof(inner, shortened.proof.path) == single.batch.root  # the raw attack
    forged = VerifiedBundle(bundle=shortened, leaves=(inner,))
    with pytest.raises(VerificationError) as excinfo:
        verify_on_chain(forged, actors.system)
    assert excinfo.value.step == "inclusion"
    # A multiproof "result" whose leaves were swapped for others fails the same way.
    honest = verify_bundle(multi)
    swapped = VerifiedBundle(bundle=honest.bundle, leaves=honest.leaves[::-1])
    assert verify_on_chain(swapped, actors.system) == multi.anchor  # leaves recomputed, not read
    wrong_readings = dataclasses.replace(multi, readings=multi.readings[::-1])
    with pytest.raises(VerificationError) as excinfo:
        verify_on_chain(VerifiedBundle(wrong_readings, honest.leaves), actors.system)
    assert excinfo.value.step == "inclusion"


def test_a_hand_built_batch_file_result_with_other_leaves_fails_inclusion(
        anchored: Anchored) -> None:
    actors, _, _, batch_file = anchored
    forged = VerifiedBatchFile(dataclasses.replace(batch_file,
                                                   leaves=(*batch_file.leaves[:-1], bytes(32))))
    with pytest.raises(VerificationError) as excinfo:
        verify_on_chain(forged, actors.system)
    assert excinfo.value.step == "inclusion"


def test_anchor_reference_must_be_the_real_transaction(anchored: Anchored) -> None:
    actors, single, _, _ = anchored
    assert single.anchor is not None
    wrong_block = dataclasses.replace(single.anchor, block_number=single.anchor.block_number - 1)
    assert chain_step(dataclasses.replace(single, anchor=wrong_block), actors.system) == "anchor"
    other_tx = actors.admin.transfer(actors.enterprise.address, 1)
    other = dataclasses.replace(single.anchor, transaction_hash=other_tx.tx_hash,
                                block_number=other_tx.block_number)
    assert chain_step(dataclasses.replace(single, anchor=other), actors.system) == "anchor"
    unknown = dataclasses.replace(single.anchor, transaction_hash=b"\x99" * 32)
    assert chain_step(dataclasses.replace(single, anchor=unknown), actors.system) == "anchor"


def test_another_deployment_is_refused(anchored: Anchored,
                                       make_actors: Callable[[Chain], Actors]) -> None:
    actors, single, _, _ = anchored
    elsewhere = make_actors(actors.chain)
    assert chain_step(single, elsewhere.system) == "chain"


def test_unanchored_and_sample_documents_fail_the_chain_step(actors: Actors) -> None:
    batch = actors.batch(2)
    bundle = bundle_for_readings(batch, actors.system.domain, [0])
    assert chain_step(bundle, actors.system) == "chain"


def test_confirmations_are_required(anchored: Anchored) -> None:
    actors, single, _, _ = anchored
    strict = Chain(actors.chain.w3, kind=actors.chain.kind, url=actors.chain.url,
                   settings=ChainSettings(confirmations=50))
    system = System(strict, actors.system.deployment)
    assert chain_step(single, system) == "anchor"


def test_old_batches_verify_after_revocation_and_new_anchors_are_refused(
        anchored: Anchored) -> None:
    actors, single, multi, _ = anchored
    devices = actors.system.devices.functions
    actors.enterprise.send(devices.revokeDevice(actors.device_tx.address), description="revoke")
    for bundle in (single, multi):
        verify_on_chain(verify_bundle(bundle), actors.system)
    with pytest.raises(ContractRevert.named("AnchorRegistryDeviceNotActive")):
        actors.system.anchor(actors.device_tx, actors.batch(2, batch_seq=1).header)



def test_a_version_3_batch_file_with_records_verifies_on_chain(actors: Actors) -> None:
    """Records are leaves like readings: the anchored root of a mixed batch passes the chain
    steps, and the file's records pass the offline ones."""
    readings = actors.batch(5).readings
    records = signed_records(4, key=actors.device, domain=actors.system.domain)
    batch = actors.device.close_batch(0, readings, actors.system.domain, records)
    anchor = actors.system.anchor(actors.device_tx, batch.header)
    batch_file = BatchFile.of(batch, actors.system.domain, anchor)
    assert batch_file.format == "trustmrv-batch/3" and batch.header.leaf_count == 9
    assert verify_on_chain(verify_batch(batch_file), actors.system) == anchor
    bundle = bundle_for_readings(batch, actors.system.domain, [0, 4], anchor)
    assert verify_on_chain(verify_bundle(bundle), actors.system) == anchor
