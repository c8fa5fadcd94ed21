"""Our Merkle module against the real ``@openzeppelin/merkle-tree`` StandardMerkleTree.

For random readings (a fixed seed per case) the two implementations must agree byte for byte:
leaf hashes, the whole node array and each value's position in it, roots, single proofs and
multiproofs (leaf order, proof, flags), and each must accept the other's proofs and reject
tampered ones. Sizes 1..64 cover every tree shape up to six levels, the large sizes a deep,
ragged tree. The known-answer roots of ``tests/vectors/protocol.json`` are checked too.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from factories import load_vectors, oz_leaf_values, random_readings, vector_reading
from mrv_core import MerkleTree, Reading, leaf_hash, process_multiproof, process_proof

pytestmark = pytest.mark.interop

OzRunner = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]

SMALL_SIZES = tuple(range(1, 65))
LARGE_SIZES = (1000, 4097, 20000)
UNSORTED_SIZES = (1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 33, 64, 100, 257)
DUPLICATE_SIZES = (2, 3, 6, 17)
ALL_PROOFS_UP_TO = 300  # larger trees: the first, the last and some random leaves
PROOFS_PER_LARGE_TREE = 40


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _hexes(nodes: Sequence[bytes]) -> list[str]:
    return [_hex(node) for node in nodes]


def _unhex(text: str) -> bytes:
    assert text.startswith("0x"), text
    return bytes.fromhex(text[2:])


def _flip(node: bytes) -> bytes:
    return node[:-1] + bytes((node[-1] ^ 1,))


def _tamper(nodes: Sequence[bytes], rng: random.Random) -> list[bytes]:
    i = rng.randrange(len(nodes))
    return [*nodes[:i], _flip(nodes[i]), *nodes[i + 1 :]]


@dataclass
class Case:
    """One tree, the questions to ask OpenZeppelin about it, and the verdicts to expect."""

    label: str
    readings: list[Reading]
    sort_leaves: bool
    tree: MerkleTree = field(init=False)
    values: list[list[str]] = field(init=False)
    proof_indices: list[int] = field(default_factory=list)
    multi_sets: list[list[int]] = field(default_factory=list)
    verify_proofs: list[dict[str, Any]] = field(default_factory=list)
    verify_multiproofs: list[dict[str, Any]] = field(default_factory=list)
    expected_proof_verdicts: list[dict[str, bool]] = field(default_factory=list)
    expected_multi_verdicts: list[dict[str, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tree = MerkleTree([leaf_hash(r) for r in self.readings], sort_leaves=self.sort_leaves)
        self.values = [oz_leaf_values(r) for r in self.readings]

    def request(self, *, leaf_hashes: bool) -> dict[str, Any]:
        return {
            "values": self.values,
            "sortLeaves": self.sort_leaves,
            "dump": True,
            "leafHashes": leaf_hashes,
            "proofs": self.proof_indices,
            "multiproofs": self.multi_sets,
            "verifyProofs": self.verify_proofs,
            "verifyMultiproofs": self.verify_multiproofs,
        }


def _index_sets(rng: random.Random, n: int) -> list[list[int]]:
    """Index sets for multiproofs, each in random order (the proof must not depend on it)."""
    small = n <= 64
    sizes = {1, min(n, 2), rng.randint(1, n), n} if small else {1, 2, min(n, 50), min(n, 700)}
    sets = []
    for size in sorted(sizes):
        chosen = rng.sample(range(n), size)
        sets.append(chosen)
    if n >= 4:  # a contiguous run in the input order
        start = rng.randrange(n - 3)
        sets.append(list(range(start, start + 4)))
    return sets


def make_case(label: str, readings: list[Reading], rng: random.Random, *,
              sort_leaves: bool = True) -> Case:
    case = Case(label, readings, sort_leaves)
    tree, n = case.tree, len(readings)
    root = tree.root
    if n <= ALL_PROOFS_UP_TO:
        case.proof_indices = list(range(n))
    else:
        case.proof_indices = [0, n - 1, *rng.sample(range(1, n - 1), PROOFS_PER_LARGE_TREE)]
    case.multi_sets = _index_sets(rng, n)

    # Our proofs, for OpenZeppelin to verify: each genuine one, one with a wrong root (only the
    # root-taking static verify can notice) and, where there is a sibling, a tampered path.
    for i in case.proof_indices:
        proof = tree.proof(i)
        case.verify_proofs.append({"index": i, "root": _hex(root), "proof": _hexes(proof)})
        case.expected_proof_verdicts.append({"tree": True, "static": True})
    i = rng.choice(case.proof_indices)
    case.verify_proofs.append({"index": i, "root": _hex(_flip(root)),
                               "proof": _hexes(tree.proof(i))})
    case.expected_proof_verdicts.append({"tree": True, "static": False})
    if n > 1:
        case.verify_proofs.append({"index": i, "root": _hex(root),
                                   "proof": _hexes(_tamper(tree.proof(i), rng))})
        case.expected_proof_verdicts.append({"tree": False, "static": False})

    for indices in case.multi_sets:
        multi, order = tree.multiproof(indices)
        genuine = {"root": _hex(root), "leaves": order, "proof": _hexes(multi.proof),
                   "proofFlags": list(multi.proof_flags)}
        case.verify_multiproofs.append(genuine)
        case.expected_multi_verdicts.append({"tree": True, "static": True})
        if multi.proof:
            case.verify_multiproofs.append(
                {**genuine, "proof": _hexes(_tamper(multi.proof, rng))})
            case.expected_multi_verdicts.append({"tree": False, "static": False})
    return case


def check_case(case: Case, result: dict[str, Any]) -> None:
    """Everything OpenZeppelin answered must match what we compute, byte for byte."""
    tree, n = case.tree, len(case.readings)
    leaves = list(tree.leaves)
    root = tree.root
    label = case.label

    # 1. Root and the whole layout: inner nodes, and where each value's leaf sits.
    assert result["length"] == n, label
    assert result["root"] == _hex(root), f"{label}: roots differ"
    oz_tree = result["tree"]
    assert len(oz_tree) == 2 * n - 1, label
    assert oz_tree[: n - 1] == _hexes(tree.inner_nodes()), f"{label}: inner nodes differ"
    assert result["treeIndices"] == [tree.tree_index(i) for i in range(n)], (
        f"{label}: leaf positions differ")
    assert [oz_tree[t] for t in result["treeIndices"]] == _hexes(leaves), (
        f"{label}: leaf hashes in the tree differ")
    if "leafHashes" in result:
        assert result["leafHashes"] == _hexes(leaves), f"{label}: leafHash(value) differs"

    # 2. OpenZeppelin's single proofs equal ours and verify with our process_proof.
    assert len(result["proofs"]) == len(case.proof_indices)
    for i, oz_proof in zip(case.proof_indices, result["proofs"], strict=True):
        assert oz_proof == _hexes(tree.proof(i)), f"{label}: proof of value {i} differs"
        assert process_proof(leaves[i], [_unhex(x) for x in oz_proof]) == root

    # 3. OpenZeppelin's multiproofs equal ours (leaf order too) and verify with ours.
    assert len(result["multiproofs"]) == len(case.multi_sets)
    for indices, oz_multi in zip(case.multi_sets, result["multiproofs"], strict=True):
        multi, order = tree.multiproof(indices)
        where = f"{label}: multiproof of {sorted(indices)[:8]}..."
        assert oz_multi["leaves"] == [case.values[p] for p in order], f"{where} leaf order"
        assert oz_multi["leafHashes"] == _hexes(multi.leaves), f"{where} leaves"
        assert oz_multi["proof"] == _hexes(multi.proof), f"{where} proof"
        assert oz_multi["proofFlags"] == list(multi.proof_flags), f"{where} flags"
        assert process_multiproof([_unhex(x) for x in oz_multi["leafHashes"]],
                                  [_unhex(x) for x in oz_multi["proof"]],
                                  oz_multi["proofFlags"]) == root

    # 4. OpenZeppelin accepts our proofs and rejects the tampered ones.
    assert result["verifyProofs"] == case.expected_proof_verdicts, f"{label}: proof verdicts"
    assert result["verifyMultiproofs"] == case.expected_multi_verdicts, (
        f"{label}: multiproof verdicts")


def _run(oz_merkle: OzRunner, cases: list[Case], *, leaf_hashes: bool) -> dict[str, Any]:
    results = oz_merkle([case.request(leaf_hashes=leaf_hashes) for case in cases])
    return {case.label: (case, result) for case, result in zip(cases, results, strict=True)}


def _small_cases() -> Iterator[Case]:
    for n in SMALL_SIZES:
        rng = random.Random(1_000 + n)
        yield make_case(f"sorted-{n}", random_readings(rng, n), rng)
    for n in DUPLICATE_SIZES:
        # Equal leaves (the same reading twice): both must order them stably.
        rng = random.Random(2_000 + n)
        distinct = random_readings(rng, max(1, n // 2))
        yield make_case(f"duplicates-{n}", [rng.choice(distinct) for _ in range(n)], rng)


def _unsorted_cases() -> Iterator[Case]:
    for n in UNSORTED_SIZES:
        rng = random.Random(3_000 + n)
        yield make_case(f"unsorted-{n}", random_readings(rng, n), rng, sort_leaves=False)


SMALL_LABELS = [f"sorted-{n}" for n in SMALL_SIZES] + [f"duplicates-{n}" for n in DUPLICATE_SIZES]
UNSORTED_LABELS = [f"unsorted-{n}" for n in UNSORTED_SIZES]


@pytest.fixture(scope="module")
def small_results(oz_merkle: OzRunner) -> dict[str, Any]:
    """Every small case, answered by one Node process."""
    return _run(oz_merkle, list(_small_cases()), leaf_hashes=True)


@pytest.fixture(scope="module")
def unsorted_results(oz_merkle: OzRunner) -> dict[str, Any]:
    return _run(oz_merkle, list(_unsorted_cases()), leaf_hashes=True)


@pytest.mark.parametrize("label", SMALL_LABELS)
def test_small_trees_match(small_results: dict[str, Any], label: str) -> None:
    check_case(*small_results[label])


@pytest.mark.parametrize("label", UNSORTED_LABELS)
def test_unsorted_trees_match(unsorted_results: dict[str, Any], label: str) -> None:
    check_case(*unsorted_results[label])


@pytest.mark.slow
@pytest.mark.parametrize("n", LARGE_SIZES)
def test_large_trees_match(oz_merkle: OzRunner, n: int) -> None:
    rng = random.Random(4_000 + n)
    case = make_case(f"sorted-{n}", random_readings(rng, n, devices=20), rng)
    # Leaf hashes come from the dumped node array (tree[treeIndex] is the library's leafHash of
    # each value); asking for leafHash(value) again would double the Node time.
    [result] = oz_merkle([case.request(leaf_hashes=False)])
    check_case(case, result)


def test_known_answer_roots_match(oz_merkle: OzRunner) -> None:
    """The roots, proofs and multiproofs of the vector file are OpenZeppelin's."""
    vectors = load_vectors()
    merkle = vectors["merkle"]
    readings = [vector_reading(entry) for entry in vectors["readings"]]
    assert merkle["leafEncoding"] == ["bytes32", "address", "bytes32", "uint64", "uint64",
                                      "bytes32", "int256", "bytes32"]
    values = [oz_leaf_values(r) for r in readings]
    cases: list[dict[str, Any]] = []
    for sort_leaves, key in ((True, "roots"), (False, "unsortedRoots")):
        for entry in merkle[key]:
            n = entry["n"]
            request: dict[str, Any] = {"values": values[:n], "sortLeaves": sort_leaves,
                                       "leafHashes": True}
            if sort_leaves:
                request["proofs"] = [p["index"] for p in merkle["proofs"] if p["n"] == n]
                request["multiproofs"] = [m["indices"] for m in merkle["multiproofs"]
                                          if m["n"] == n]
                request["verifyProofs"] = [
                    {"index": p["index"], "root": p["root"], "proof": p["proof"]}
                    for p in merkle["proofs"] if p["n"] == n]
                request["verifyMultiproofs"] = [
                    {"root": m["root"], "leaves": m["leafOrder"], "proof": m["proof"],
                     "proofFlags": m["proofFlags"]}
                    for m in merkle["multiproofs"] if m["n"] == n]
            cases.append(request)
    results = oz_merkle(cases)

    expected_roots = [e["root"] for e in merkle["roots"]] + [
        e["root"] for e in merkle["unsortedRoots"]]
    assert [r["root"] for r in results] == expected_roots
    sorted_results = results[: len(merkle["roots"])]
    by_n = {e["n"]: result for e, result in zip(merkle["roots"], sorted_results, strict=True)}
    for result in by_n.values():
        n = result["length"]
        assert result["leafHashes"] == [e["leaf"] for e in vectors["readings"][:n]]
        assert all(v == {"tree": True, "static": True} for v in result["verifyProofs"])
        assert all(v == {"tree": True, "static": True} for v in result["verifyMultiproofs"])
        assert result["proofs"] == [p["proof"] for p in merkle["proofs"] if p["n"] == n]
        multis = [m for m in merkle["multiproofs"] if m["n"] == n]
        assert [m["leafHashes"] for m in result["multiproofs"]] == [m["leaves"] for m in multis]
        assert [m["proof"] for m in result["multiproofs"]] == [m["proof"] for m in multis]
        assert [m["proofFlags"] for m in result["multiproofs"]] == [
            m["proofFlags"] for m in multis]
    assert sum(len(r["verifyProofs"]) for r in by_n.values()) == len(merkle["proofs"])
    assert sum(len(r["multiproofs"]) for r in by_n.values()) == len(merkle["multiproofs"])
