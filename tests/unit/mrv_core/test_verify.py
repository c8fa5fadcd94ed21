"""Offline verification fails closed and names the step that failed."""

import dataclasses
from pathlib import Path

import pytest

from factories import OTHER_KEY, TEST_DOMAIN, TEST_KEY, sample_batch, signed_readings
from mrv_core import (
    SAMPLE_DOMAIN,
    AnchorRef,
    BatchFile,
    Domain,
    MultiProofNodes,
    ProofBundle,
    SingleProof,
    VerificationError,
    build_batch,
    bundle_for_readings,
    verify_batch,
    verify_bundle,
    verify_file,
)
from mrv_core.eip712 import leaf_hash

BATCH = sample_batch(12)
ANCHOR = AnchorRef(chain_id=TEST_DOMAIN.chain_id, anchor_registry=TEST_DOMAIN.verifying_contract,
                   device_registry=b"\x11" * 20, transaction_hash=b"\x22" * 32, block_number=42)


def failing_step(bundle: ProofBundle) -> str:
    with pytest.raises(VerificationError) as excinfo:
        verify_bundle(bundle)
    return excinfo.value.step


def unsigned(bundle: ProofBundle) -> ProofBundle:
    """The bundle as a version 1 document: no header signature, so the steps after ``header``
    get to see an edited header."""
    return dataclasses.replace(bundle, header_signature=None)


@pytest.mark.parametrize("positions", [[0], [11], [5], [0, 1], [3, 7, 11], list(range(12))])
def test_valid_bundles_verify(positions: list[int]) -> None:
    verified = verify_bundle(bundle_for_readings(BATCH, TEST_DOMAIN, positions))
    assert verified.leaves == tuple(leaf_hash(r.reading) for r in verified.bundle.readings)


def test_anchored_bundle_must_match_the_domain() -> None:
    verify_bundle(bundle_for_readings(BATCH, TEST_DOMAIN, [1], ANCHOR))
    for anchor in (dataclasses.replace(ANCHOR, chain_id=1),
                   dataclasses.replace(ANCHOR, anchor_registry=b"\x33" * 20)):
        assert failing_step(bundle_for_readings(BATCH, TEST_DOMAIN, [1], anchor)) == "domain"


def test_sample_bundle_cannot_claim_an_anchor() -> None:
    batch = sample_batch(3, domain=SAMPLE_DOMAIN)
    verify_bundle(bundle_for_readings(batch, SAMPLE_DOMAIN, [0]))
    sample_anchor = dataclasses.replace(ANCHOR, chain_id=1, anchor_registry=bytes(20))
    assert failing_step(bundle_for_readings(batch, SAMPLE_DOMAIN, [0], sample_anchor)) == "domain"


def test_signatures_under_another_domain_fail() -> None:
    bundle = bundle_for_readings(BATCH, TEST_DOMAIN, [2])
    moved = dataclasses.replace(bundle, domain=Domain(1, TEST_DOMAIN.verifying_contract))
    assert failing_step(moved) == "header"
    assert failing_step(unsigned(moved)) == "signature"


def test_reading_signed_by_another_key_fails() -> None:
    foreign = signed_readings(1, key=OTHER_KEY)[0]
    forged = dataclasses.replace(foreign, reading=dataclasses.replace(
        foreign.reading, device=TEST_KEY.address))
    batch = build_batch(TEST_KEY.address, 0, [forged, *signed_readings(3, seed=5)[1:]])
    with pytest.raises(VerificationError, match="reading names device 0x7E5F4552091A691"):
        verify_bundle(bundle_for_readings(batch, TEST_DOMAIN, [0]))
    honest_foreign = build_batch(TEST_KEY.address, 0, signed_readings(2, seed=5))
    mixed = dataclasses.replace(bundle_for_readings(honest_foreign, TEST_DOMAIN, [0]),
                                readings=(foreign,))
    assert failing_step(mixed) == "batch"


def test_batch_membership_rules() -> None:
    bundle = unsigned(bundle_for_readings(BATCH, TEST_DOMAIN, [4]))
    header = bundle.batch
    assert failing_step(dataclasses.replace(
        bundle, batch=dataclasses.replace(header, device=OTHER_KEY.address))) == "batch"
    ts = bundle.readings[0].reading.timestamp
    later = dataclasses.replace(header, from_timestamp=ts + 1,
                                to_timestamp=max(ts + 1, header.to_timestamp))
    assert failing_step(dataclasses.replace(bundle, batch=later)) == "batch"
    multi = unsigned(bundle_for_readings(BATCH, TEST_DOMAIN, [1, 2]))
    assert failing_step(dataclasses.replace(
        multi, batch=dataclasses.replace(multi.batch, leaf_count=1))) == "batch"
    repeated = dataclasses.replace(multi, readings=(multi.readings[0], multi.readings[0]))
    assert failing_step(repeated) == "batch"


def test_meter_path_must_hash_to_meter_id() -> None:
    bundle = bundle_for_readings(BATCH, TEST_DOMAIN, [0])
    signed = bundle.readings[0]
    other_path = "demo-co/wuxi-plant/assembly/line-2/main-incomer"
    moved = dataclasses.replace(signed, meter_path=other_path)
    assert failing_step(dataclasses.replace(bundle, readings=(moved,))) == "meter"


def test_shortened_proof_is_refused_by_the_depth_rule() -> None:
    """An inner node posing as a leaf needs a shorter path than any leaf of the batch has
    (16 leaves: every leaf sits at depth 4)."""
    bundle = bundle_for_readings(sample_batch(16), TEST_DOMAIN, [0])
    assert isinstance(bundle.proof, SingleProof)
    short = dataclasses.replace(bundle, proof=SingleProof(bundle.proof.path[1:]))
    assert failing_step(short) == "proof"


def test_multiproof_shape_and_root() -> None:
    bundle = bundle_for_readings(BATCH, TEST_DOMAIN, [2, 9])
    assert isinstance(bundle.proof, MultiProofNodes)
    extra = MultiProofNodes((*bundle.proof.proof, bytes(32)), bundle.proof.proof_flags)
    assert failing_step(dataclasses.replace(bundle, proof=extra)) == "proof"
    swapped = dataclasses.replace(bundle, readings=bundle.readings[::-1])
    assert failing_step(swapped) in ("root", "proof")


def test_wrong_root_fails_at_header_when_signed_and_at_root_when_not() -> None:
    bundle = bundle_for_readings(BATCH, TEST_DOMAIN, [6])
    other = dataclasses.replace(bundle, batch=dataclasses.replace(bundle.batch, root=b"\x01" * 32))
    assert failing_step(other) == "header"
    assert failing_step(unsigned(other)) == "root"


def test_batch_files_verify_and_detect_tampering(tmp_path: Path) -> None:
    good = BatchFile.of(BATCH, TEST_DOMAIN)
    assert verify_batch(good) == verify_batch(good)
    missing = dataclasses.replace(good, leaves=good.leaves[:-1])
    with pytest.raises(VerificationError) as excinfo:
        verify_batch(missing)
    assert excinfo.value.step == "batch"
    wrong = dataclasses.replace(good, leaves=(bytes(32), *good.leaves[1:]))
    with pytest.raises(VerificationError) as excinfo:
        verify_batch(wrong)
    assert excinfo.value.step == "root"
    (tmp_path / "garbage.json").write_text("{}")
    with pytest.raises(VerificationError) as excinfo:
        verify_file(tmp_path / "garbage.json")
    assert excinfo.value.step == "format"


def test_batch_files_get_the_domain_step_too() -> None:
    anchored = BatchFile.of(BATCH, TEST_DOMAIN, ANCHOR)
    verify_batch(anchored)
    for anchor in (dataclasses.replace(ANCHOR, chain_id=1),
                   dataclasses.replace(ANCHOR, anchor_registry=b"\x33" * 20)):
        with pytest.raises(VerificationError) as excinfo:
            verify_batch(dataclasses.replace(anchored, anchor=anchor))
        assert excinfo.value.step == "domain"
    sample = BatchFile.of(sample_batch(2, domain=SAMPLE_DOMAIN), SAMPLE_DOMAIN,
                          dataclasses.replace(ANCHOR, anchor_registry=bytes(20)))
    with pytest.raises(VerificationError, match="sample data"):
        verify_batch(sample)


@pytest.mark.parametrize("count,path_length,message", [
    (2, 0, "a leaf of a 2-leaf tree has a path of exactly 1 node, got 0"),
    (16, 3, "a leaf of a 16-leaf tree has a path of exactly 4 nodes, got 3"),
    (3, 0, "a leaf of a 3-leaf tree has a path of 1 or 2 nodes, got 0"),
])
def test_the_depth_message_names_the_lengths_a_path_may_have(count: int, path_length: int,
                                                             message: str) -> None:
    bundle = bundle_for_readings(sample_batch(count), TEST_DOMAIN, [0])
    assert isinstance(bundle.proof, SingleProof)
    cut = dataclasses.replace(bundle, proof=SingleProof(bundle.proof.path[:path_length]))
    with pytest.raises(VerificationError) as excinfo:
        verify_bundle(cut)
    assert excinfo.value.step == "proof" and excinfo.value.detail == message
