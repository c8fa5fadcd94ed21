"""3. Proof, multiproof and full offline bundle verification per second."""

from __future__ import annotations

import random

from mrv_core.bundle import AnchorRef, ProofBundle, bundle_for_readings
from mrv_core.merkle import MerkleTree, MultiProof, process_multiproof, process_proof
from mrv_core.verify import VerifiedBundle, verify_bundle

from .core import Config, Row, Target, best_of, check
from .fixtures import DOMAIN, KEY, make_readings, random_leaves, sign_all

SECTION = "3. verification (one core)"
PROOF_TARGET = Target(50_000)


def _single_proofs(cfg: Config, tree: MerkleTree, rng: random.Random) -> Row:
    size = tree.leaf_count
    positions = [rng.randrange(size) for _ in range(cfg.proof_n)]
    cases = [(tree.leaves[i], tree.proof(i)) for i in positions]
    root = tree.root

    def verify_all() -> int:
        return sum(process_proof(leaf, path) == root for leaf, path in cases)

    seconds, ok = best_of(verify_all, repeat=cfg.repeat)
    check(ok == len(cases), "a valid proof failed to verify")
    depth = sum(len(path) for _, path in cases) / len(cases)
    return Row(SECTION, f"process_proof + root compare, {size:,}-leaf tree",
               len(cases) / seconds, "/s", PROOF_TARGET,
               f"{len(cases):,} random leaves, mean path {depth:.1f}, best of {cfg.repeat}")


def _multiproofs(cfg: Config, tree: MerkleTree, rng: random.Random) -> list[Row]:
    rows, size, root = [], tree.leaf_count, tree.root
    for k in cfg.multiproof_sizes:
        count = max(5, min(500, 20_000 // k))
        proofs: list[MultiProof] = [tree.multiproof(rng.sample(range(size), k))[0]
                                    for _ in range(count)]

        def verify_all(proofs: list[MultiProof] = proofs) -> int:
            return sum(process_multiproof(p.leaves, p.proof, p.proof_flags) == root
                       for p in proofs)

        seconds, ok = best_of(verify_all, repeat=cfg.repeat)
        check(ok == count, "a valid multiproof failed to verify")
        nodes = sum(len(p.proof) for p in proofs) / count
        rows.append(Row(SECTION, f"process_multiproof, {k:,} of {size:,} leaves",
                        count / seconds, "/s",
                        note=f"{count * k / seconds:,.0f} leaves/s, {nodes:,.0f} proof nodes"))
    return rows


def _time_bundles(cfg: Config, bundles: list[ProofBundle], *, parse: bool) -> float:
    """Best seconds to verify every bundle (from its JSON bytes when ``parse``)."""
    raw = [b.dumps() for b in bundles] if parse else []

    def verify_all() -> list[VerifiedBundle]:
        if parse:
            return [verify_bundle(ProofBundle.loads(d)) for d in raw]
        return [verify_bundle(b) for b in bundles]

    return best_of(verify_all, repeat=cfg.repeat)[0]


def _bundles(cfg: Config) -> list[Row]:
    n = cfg.bundle_batch
    batch = KEY.close_batch(0, sign_all(make_readings(n)), DOMAIN)  # version 2: header signed
    anchor = AnchorRef(chain_id=DOMAIN.chain_id, anchor_registry=DOMAIN.verifying_contract,
                       device_registry=bytes(range(20)), transaction_hash=bytes(range(32)),
                       block_number=7)
    rows = []
    for k in (1, 16):
        bundles = [bundle_for_readings(batch, DOMAIN, list(range(i, i + k)), anchor)
                   for i in range(0, n - k + 1, k)]
        check(all(verify_bundle(b).bundle is b for b in bundles[:4]), "bundle fails to verify")
        seconds = _time_bundles(cfg, bundles, parse=False)
        kind = "single proof" if k == 1 else f"{k}-reading multiproof"
        rows.append(Row(SECTION, f"verify_bundle, {kind}", len(bundles) / seconds, "/s",
                        note=f"{len(bundles) * k / seconds:,.0f} readings/s, "
                             f"{n:,}-leaf batch, ecrecover included"))
        if k == 1:
            seconds = _time_bundles(cfg, bundles, parse=True)
            rows.append(Row(SECTION, "ProofBundle.loads + verify_bundle, single proof",
                            len(bundles) / seconds, "/s",
                            note=f"strict JSON parse, {len(bundles[0].dumps()):,} B per bundle"))
    return rows


def run(cfg: Config) -> list[Row]:
    rng = random.Random(7)
    rows = []
    for size in cfg.proof_tree_sizes:
        tree = MerkleTree(random_leaves(size))
        rows.append(_single_proofs(cfg, tree, rng))
        if size == cfg.proof_tree_sizes[-1]:
            rows += _multiproofs(cfg, tree, rng)
    return rows + _bundles(cfg)
