"""TrustMRV benchmark suite (``python -m benchmarks``, ``make bench``).

One module per area: ``bench_signing`` (readings hashed and signed, oracle paths, keccak
implementations), ``bench_merkle`` (leaf hashing, tree build), ``bench_verify`` (proofs,
multiproofs, offline bundles) and ``bench_oz`` (against ``@openzeppelin/merkle-tree`` under Node,
``oz_tree_bench.mjs``). ``core`` holds the timing helpers and the table; ``fixtures`` the inputs.
"""
