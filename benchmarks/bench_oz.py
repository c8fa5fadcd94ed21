"""4. Our tree against ``@openzeppelin/merkle-tree`` (StandardMerkleTree v1.0.x) under Node.

Both sides get the SAME readings. OpenZeppelin's ``StandardMerkleTree.of`` ABI-encodes and hashes
the value lists itself, so it is compared with our ``leaf_hash`` over the readings plus
``MerkleTree`` ("leaves + tree"); its ``SimpleMerkleTree.of`` takes our leaf hashes and is compared
with ``MerkleTree`` alone ("tree only"). Node times are taken inside Node (process start-up
excluded; reported separately), ours in this process; all three roots must be equal.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from mrv_core import Reading
from mrv_core.eip712 import READING_TYPEHASH, leaf_hash
from mrv_core.merkle import MerkleTree
from mrv_core.quantities import QUANTITIES

from .core import Config, Row, Target, best_of, check
from .fixtures import make_readings

SECTION = "4. vs @openzeppelin/merkle-tree 1.0.x under Node"
RATIO_TARGET = Target(50)
SCRIPT = Path(__file__).with_name("oz_tree_bench.mjs")
LIBRARY = Path(__file__).resolve().parent.parent / "node_modules" / "@openzeppelin" / "merkle-tree"
LEAF_TYPES = ["bytes32", "address", "bytes32", "uint64", "uint64", "bytes32", "int256", "bytes32"]


class Skipped(Exception):
    """The section cannot run on this machine (the reason is printed instead of figures)."""


def _value_list(r: Reading) -> list[str]:
    """The OpenZeppelin leaf value list of a reading (DESIGN.md "Leaf"), as JSON strings."""
    return ["0x" + READING_TYPEHASH.hex(), "0x" + r.device.hex(), "0x" + r.meter.hex(),
            str(r.seq), str(r.timestamp), "0x" + QUANTITIES[r.quantity].code_bytes.hex(),
            str(r.value), "0x" + r.salt.hex()]


def _run_node(payload: dict[str, Any]) -> tuple[dict[str, Any], float]:
    node = shutil.which("node")
    if node is None:
        raise Skipped("node not found on PATH")
    if not LIBRARY.is_dir():
        raise Skipped(f"{LIBRARY} missing (run `make setup`)")
    with tempfile.TemporaryDirectory(prefix="mrv-bench-") as tmp:
        path = Path(tmp) / "input.json"
        path.write_text(json.dumps(payload), encoding="utf-8")
        start = time.perf_counter()
        done = subprocess.run([node, str(SCRIPT), str(path)], capture_output=True, text=True,
                              timeout=900, check=False)
        wall = time.perf_counter() - start
    check(done.returncode == 0, f"oz_tree_bench.mjs failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result, wall


def _time_ours(cfg: Config, readings: list[Reading], leaves: list[bytes]
               ) -> tuple[float, float, str]:
    """Best seconds for leaves + tree and for tree only, and the root (hex)."""
    both, tree = best_of(lambda: MerkleTree([leaf_hash(r) for r in readings]), repeat=cfg.repeat)
    only, tree_only = best_of(lambda: MerkleTree(leaves), repeat=cfg.repeat)
    check(tree.root == tree_only.root, "our two trees disagree")
    return both, only, "0x" + tree.root.hex()


def _ours(cfg: Config, readings: list[Reading], leaves: list[bytes],
          earlier: dict[int, tuple[float, float, str]] | None = None,
          ) -> dict[int, tuple[float, float, str]]:
    """``_time_ours`` per size. Timed before and again after the Node run (``earlier``), keeping
    the best, so that a burst of load from other processes does not decide a ratio alone."""
    timings = {}
    for n in cfg.oz_sizes:
        both, only, root = _time_ours(cfg, readings[:n], leaves[:n])
        if earlier is not None:
            both, only = min(both, earlier[n][0]), min(only, earlier[n][1])
        timings[n] = (both, only, root)
    return timings


def run(cfg: Config) -> tuple[list[Row], dict[str, Any]]:
    readings = make_readings(max(cfg.oz_sizes))
    leaves = [leaf_hash(r) for r in readings]
    repeats = [max(1, min(cfg.repeat, 3, 10_000 // n)) for n in cfg.oz_sizes]
    before = _ours(cfg, readings, leaves)
    oz, wall = _run_node({"types": LEAF_TYPES, "values": [_value_list(r) for r in readings],
                          "leaves": ["0x" + leaf.hex() for leaf in leaves],
                          "sizes": list(cfg.oz_sizes), "repeats": repeats})
    startup = oz["startupMs"] / 1000
    ours = _ours(cfg, readings, leaves, earlier=before)
    both_rows: list[Row] = []
    tree_rows: list[Row] = []
    for n, res in zip(cfg.oz_sizes, oz["results"], strict=True):
        both, only, root = ours[n]
        std, simple = res["standard"], res["simple"]
        check(std["root"] == root, f"OZ StandardMerkleTree root differs from ours at n={n}")
        check(simple["root"] == root, f"OZ SimpleMerkleTree root differs from ours at n={n}")
        reps = f"best of {res['repeats']}"
        both_rows += [
            Row(SECTION, f"OZ StandardMerkleTree.of, {n:,} values", n / std["seconds"], "/s",
                note=f"{std['seconds']:.3f} s in Node ({reps}); "
                     f"{startup + std['seconds']:.3f} s with Node start-up"),
            Row(SECTION, f"ours leaf_hash + MerkleTree, {n:,} readings", n / both, "/s",
                note=f"{both:.4f} s, best of {2 * cfg.repeat} around Node's; same root"),
            Row(SECTION, f"  ratio ours/OZ, leaves + tree, n={n:,}", std["seconds"] / both,
                "x", RATIO_TARGET,
                f"{(startup + std['seconds']) / both:,.0f}x counting Node start-up"),
        ]
        tree_rows += [
            Row(SECTION, f"OZ SimpleMerkleTree.of (tree only), {n:,} leaves",
                n / simple["seconds"], "/s",
                note=f"{simple['seconds']:.3f} s in Node ({reps}); our leaf hashes as input"),
            Row(SECTION, f"ours MerkleTree (tree only), {n:,} leaves", n / only, "/s",
                note=f"{only:.4f} s, best of {2 * cfg.repeat} around Node's; same root"),
            Row(SECTION, f"  ratio ours/OZ, tree only, n={n:,}", simple["seconds"] / only, "x",
                RATIO_TARGET,
                f"{(startup + simple['seconds']) / only:,.0f}x counting Node start-up"),
        ]
    process = Row(SECTION, "Node process wall time (all sizes, both trees)", wall, "s",
                  note=f"start-up to library loaded {oz['startupMs']:,.0f} ms, "
                       f"input JSON parse {oz['inputLoadMs']:,.0f} ms")
    return [*both_rows, *tree_rows, process], oz
