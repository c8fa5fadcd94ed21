"""Merkle trees: the level-wise build against a literal transcription of the published
algorithm, proofs, multiproofs, and the second-preimage and count guarantees."""

import contextlib
import dataclasses
import functools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threads_support import run_together

from factories import TEST_DOMAIN, bytes32, leaf_lists, sample_batch
from mrv_core import SingleProof, VerificationError, bundle_for_readings, leaf_hash, verify_bundle
from mrv_core.errors import MerkleError
from mrv_core.hashing import keccak256
from mrv_core.merkle import (
    MerkleTree,
    hash_pair,
    leaf_depths,
    process_multiproof,
    process_proof,
)


def reference_tree(leaves: list[bytes], sort_leaves: bool = True) -> list[bytes]:
    """DESIGN.md's algorithm, one node at a time, as the OpenZeppelin library states it."""
    ordered = sorted(leaves) if sort_leaves else list(leaves)
    n = len(ordered)
    tree = [b""] * (2 * n - 1)
    for i, leaf in enumerate(ordered):
        tree[2 * n - 2 - i] = leaf
    for i in range(n - 2, -1, -1):
        a, b = tree[2 * i + 1], tree[2 * i + 2]
        tree[i] = keccak256(min(a, b) + max(a, b))
    return tree


@settings(max_examples=300)
@given(leaf_lists, st.booleans())
def test_build_matches_the_reference_algorithm(leaves: list[bytes], sort_leaves: bool) -> None:
    tree = MerkleTree(leaves, sort_leaves=sort_leaves)
    reference = reference_tree(leaves, sort_leaves)
    assert tree.root == reference[0]
    assert tree.inner_nodes() == reference[: len(leaves) - 1]


@settings(max_examples=200)
@given(leaf_lists, st.data())
def test_every_proof_verifies_and_has_a_legal_length(leaves: list[bytes],
                                                     data: st.DataObject) -> None:
    tree = MerkleTree(leaves)
    shallow, deep = leaf_depths(len(leaves))
    for i in range(len(leaves)):
        proof = tree.proof(i)
        assert process_proof(leaves[i], proof) == tree.root
        assert len(proof) in (shallow, deep)
    forged = data.draw(bytes32)
    if forged not in leaves:
        assert process_proof(forged, tree.proof(0)) != tree.root


@settings(max_examples=200)
@given(leaf_lists, st.data())
def test_multiproofs_verify(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree(leaves)
    indices = data.draw(st.sets(st.integers(0, len(leaves) - 1), min_size=1))
    multi, order = tree.multiproof(indices)
    assert sorted(order) == sorted(indices)
    assert list(multi.leaves) == [leaves[i] for i in order]
    assert len(multi.leaves) + len(multi.proof) == len(multi.proof_flags) + 1
    assert process_multiproof(multi.leaves, multi.proof, multi.proof_flags) == tree.root


@settings(max_examples=200)
@given(leaf_lists)
def test_raw_process_proof_accepts_an_inner_node_so_leaves_must_be_derived(
        leaves: list[bytes]) -> None:
    """The raw fold (``MerkleProof.processProof``) cannot tell an inner node from a leaf: every
    inner node reaches the root along its shortened path. That is why the verifier never takes
    a leaf hash from anyone and derives each from a reading (next test)."""
    tree = MerkleTree(leaves)
    assert not set(tree.inner_nodes()) & set(leaves)
    for i in range(len(leaves)):
        proof = tree.proof(i)
        node = leaves[i]
        for k in range(len(proof)):
            node = hash_pair(node, proof[k])
            assert process_proof(node, proof[k + 1:]) == tree.root
            assert node in tree.inner_nodes()


@settings(max_examples=40, deadline=None)
@given(count=st.integers(2, 33), seed=st.integers(0, 2**16), data=st.data())
def test_no_inner_node_verifies_as_a_leaf_through_the_public_verifier(
        count: int, seed: int, data: st.DataObject) -> None:
    """Second preimage through ``verify_bundle``: for every inner node of a random batch, a
    bundle carrying the path that leads from that node to the signed root, with any reading of
    the batch, is refused (at the depth rule or the root), and no reading's leaf is an inner
    node."""
    batch = sample_batch(count, seed=seed)
    tree = batch.tree
    inner = set(tree.inner_nodes())
    assert not inner & {leaf_hash(s.reading) for s in batch.readings}
    position = data.draw(st.integers(0, count - 1), label="position")
    honest = bundle_for_readings(batch, TEST_DOMAIN, [position])
    verify_bundle(honest)
    for leaf_position in range(count):
        proof = tree.proof(leaf_position)
        node = tree.leaves[leaf_position]
        for k in range(len(proof)):
            node = hash_pair(node, proof[k])
            assert node in inner
            attempt = dataclasses.replace(honest, proof=SingleProof(tuple(proof[k + 1:])))
            with pytest.raises(VerificationError) as excinfo:
                verify_bundle(attempt)
            assert excinfo.value.step in ("proof", "root")


@settings(max_examples=300)
@given(leaf_lists, leaf_lists)
def test_distinct_leaf_multisets_give_distinct_root_and_count(a: list[bytes],
                                                              b: list[bytes]) -> None:
    # Sorting makes the root order-independent: a batch commits to its multiset of leaves.
    if sorted(a) != sorted(b):
        assert (MerkleTree(a).root, len(a)) != (MerkleTree(b).root, len(b))


def test_no_odd_leaf_duplication_collision() -> None:
    """CVE-2012-2459: Bitcoin's tree gives [a, b, c] and [a, b, c, c] the same root."""
    a, b, c = (keccak256(bytes([i])) for i in range(3))
    assert MerkleTree([a, b, c]).root != MerkleTree([a, b, c, c]).root


def test_single_leaf_is_its_own_root() -> None:
    leaf = keccak256(b"x")
    tree = MerkleTree([leaf])
    assert tree.root == leaf and tree.proof(0) == []
    multi, order = tree.multiproof([0])
    assert order == [0] and multi.proof == () and multi.proof_flags == ()
    assert process_multiproof(multi.leaves, (), ()) == leaf


def test_known_shape_of_three_leaves() -> None:
    leaves = sorted(keccak256(bytes([i])) for i in range(3))
    tree = MerkleTree(leaves)
    # tree = [root, hash(L2, L1)?...]: index 4 = L0, 3 = L1, 2 = L2; 1 = hash(L1, L0).
    n1 = hash_pair(leaves[1], leaves[0])
    assert tree.root == hash_pair(n1, leaves[2])
    assert tree.proof(2) == [n1]
    assert tree.proof(0) == [leaves[1], leaves[2]]


def test_duplicate_leaves_keep_distinct_positions() -> None:
    leaf = keccak256(b"dup")
    other = keccak256(b"other")
    tree = MerkleTree([leaf, other, leaf])
    assert tree.tree_index(0) != tree.tree_index(2)
    multi, _ = tree.multiproof([0, 2])
    assert process_multiproof(multi.leaves, multi.proof, multi.proof_flags) == tree.root


class TestMalformedInput:
    tree = MerkleTree([keccak256(bytes([i])) for i in range(10)])

    def test_empty_tree(self) -> None:
        with pytest.raises(MerkleError, match="at least one leaf"):
            MerkleTree([])

    @pytest.mark.parametrize("leaf", [b"", bytes(31), bytes(33), "00" * 32])
    def test_leaves_must_be_32_bytes(self, leaf: object) -> None:
        with pytest.raises(MerkleError):
            MerkleTree([bytes(32), leaf])  # type: ignore[list-item]

    def test_index_out_of_range(self) -> None:
        with pytest.raises(MerkleError, match="out of range"):
            self.tree.proof(10)
        with pytest.raises(MerkleError, match="out of range"):
            self.tree.proof(-1)

    def test_duplicate_and_empty_multiproof_indices(self) -> None:
        with pytest.raises(MerkleError, match="duplicate"):
            self.tree.multiproof([1, 1])
        with pytest.raises(MerkleError, match="at least one"):
            self.tree.multiproof([])

    def test_inconsistent_multiproofs_are_rejected(self) -> None:
        multi, _ = self.tree.multiproof([0, 3, 7])
        leaves, proof, flags = list(multi.leaves), list(multi.proof), list(multi.proof_flags)
        with pytest.raises(MerkleError, match="inconsistent"):
            process_multiproof(leaves, [*proof, bytes(32)], flags)
        with pytest.raises(MerkleError, match="inconsistent"):
            process_multiproof(leaves, proof, [*flags, True])
        rng = random.Random(3)
        for _ in range(50):  # shuffled flags: either rejected or a different root
            shuffled = flags[:]
            rng.shuffle(shuffled)
            if shuffled == flags:
                continue
            with contextlib.suppress(MerkleError):
                assert process_multiproof(leaves, proof, shuffled) != self.tree.root

    def test_proof_elements_must_be_32_bytes(self) -> None:
        with pytest.raises(MerkleError, match="proof element"):
            process_proof(bytes(32), [bytes(31)])


@pytest.mark.slow
def test_a_large_tree_matches_the_reference() -> None:
    rng = random.Random(11)
    leaves = [rng.randbytes(32) for _ in range(100_003)]
    tree = MerkleTree(leaves)
    assert tree.root == reference_tree(leaves)[0]
    for i in rng.sample(range(len(leaves)), 50):
        assert process_proof(leaves[i], tree.proof(i)) == tree.root


def test_proofs_from_one_tree_in_many_threads_at_once_all_verify() -> None:
    """The ledger API serves proofs from one cached tree in several threads (ledger_api.proofs
    TreeCache): the first proofs, which build the leaf order, must not see it half built."""
    rng = random.Random(7)
    for _ in range(5):
        leaves = [rng.randbytes(32) for _ in range(20_000)]
        tree = MerkleTree(leaves)
        wrong: list[int] = []

        def prove(index: int, tree: MerkleTree = tree, leaves: list[bytes] = leaves,
                  wrong: list[int] = wrong) -> None:
            if process_proof(leaves[index], tree.proof(index)) != tree.root:
                wrong.append(index)

        run_together(*[functools.partial(prove, rng.randrange(20_000)) for _ in range(6)])
        assert wrong == []
