"""2. Leaf hashing and Merkle tree construction, in leaves per second."""

from __future__ import annotations

from mrv_core.eip712 import leaf_hash
from mrv_core.merkle import MerkleTree

from .core import Config, Row, Target, best_of, check
from .fixtures import make_readings, random_leaves

SECTION = "2. Merkle tree build (one core)"
BUILD_RATE_TARGET = Target(400_000)
BUILD_TIME_TARGET = Target(3.0, at_most=True)
BUILD_TIME_TARGET_SIZE = 1_000_000


def _leaf_hashing(cfg: Config) -> Row:
    readings = make_readings(cfg.leaf_n)
    seconds, leaves = best_of(lambda: [leaf_hash(r) for r in readings], repeat=cfg.repeat)
    check(len(set(leaves)) == len(readings), "leaf hashes collide")
    return Row(SECTION, "leaf_hash(reading)", cfg.leaf_n / seconds, "/s",
               note=f"n={cfg.leaf_n:,} readings, best of {cfg.repeat}")


def _tree_build(cfg: Config, size: int) -> list[Row]:
    leaves = random_leaves(size)
    # Large trees take seconds per build: fewer repetitions, and smaller trees warmed the code up.
    repeat = cfg.repeat if size <= 100_000 else min(cfg.repeat, 3)
    seconds, tree = best_of(lambda: MerkleTree(leaves), repeat=repeat,
                            warmup=1 if size <= 100_000 else 0)
    check(tree.leaf_count == size and len(tree.root) == 32, "tree has the wrong shape")
    note = f"{seconds * 1000:,.1f} ms per build, best of {repeat}"
    rows = [Row(SECTION, f"MerkleTree build, {size:,} leaves", size / seconds, "/s",
                BUILD_RATE_TARGET, note)]
    if size == BUILD_TIME_TARGET_SIZE:
        rows.append(Row(SECTION, f"MerkleTree build time, {size:,} leaves", seconds, "s",
                        BUILD_TIME_TARGET, "sort + 999,999 node hashes"))
    return rows


def run(cfg: Config) -> list[Row]:
    rows = [_leaf_hashing(cfg)]
    for size in cfg.tree_sizes:
        rows += _tree_build(cfg, size)
    return rows
