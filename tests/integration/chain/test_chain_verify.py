"""The chain steps of verification, on both backends."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import pytest

from mrv_core import (
    BatchFile,
    ProofBundle,
    VerificationError,
    bundle_for_readings,
    verify_batch,
    verify_bundle,
)
from mrv_core.chain import Chain, ChainSettings, System, verify_on_chain
from mrv_core.errors import ContractRevert

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


def test_header_fields_outside_the_signatures_are_checked_on_chain(anchored: Anchored) -> None:
    """leafCount and batchSeq are not signed and not in the root; the anchor's event is their
    witness."""
    actors, single, _, _ = anchored
    more = dataclasses.replace(single.batch, leaf_count=single.batch.leaf_count + 1)
    assert chain_step(dataclasses.replace(single, batch=more), actors.system) == "anchor"
    later = dataclasses.replace(single.batch, batch_seq=1)
    assert chain_step(dataclasses.replace(single, batch=later), actors.system) == "anchor"


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

