// Times @openzeppelin/merkle-tree (the repository's pinned copy in node_modules) on the values
// written by benchmarks/bench_oz.py, and prints one JSON object on stdout.
//
// Input (argv[2], JSON): {types, values, leaves, sizes, repeats}. For each size n the first n
// entries are used: StandardMerkleTree.of(values, types) hashes the leaves itself (leaves + tree);
// SimpleMerkleTree.of(leaves) gets our precomputed leaf hashes (tree only). Both sort leaves, as
// ours does. Times are taken inside Node with performance.now(), best of `repeats` runs after one
// warm-up on a small prefix; `startupMs` is the time from process start until the library loaded.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(new URL('../package.json', import.meta.url));
const { StandardMerkleTree, SimpleMerkleTree } = require('@openzeppelin/merkle-tree');
const libraryPath = require.resolve('@openzeppelin/merkle-tree');
const libraryVersion = JSON.parse(
  readFileSync(new URL('../package.json', pathToFileURL(libraryPath)), 'utf8')).version;
const startupMs = performance.now();

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const inputLoadedMs = performance.now();

function bestOf(repeats, build) {
  let best = Infinity;
  let tree;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    tree = build();
    best = Math.min(best, performance.now() - start);
  }
  return { seconds: best / 1000, root: tree.root };
}

const warm = Math.min(256, input.values.length);
StandardMerkleTree.of(input.values.slice(0, warm), input.types);
SimpleMerkleTree.of(input.leaves.slice(0, warm));

const results = input.sizes.map((n, i) => {
  const values = input.values.slice(0, n);
  const leaves = input.leaves.slice(0, n);
  const repeats = input.repeats[i];
  return {
    size: n,
    repeats,
    standard: bestOf(repeats, () => StandardMerkleTree.of(values, input.types)),
    simple: bestOf(repeats, () => SimpleMerkleTree.of(leaves)),
  };
});

process.stdout.write(JSON.stringify({
  node: process.version,
  library: libraryPath,
  libraryVersion,
  startupMs,
  inputLoadMs: inputLoadedMs - startupMs,
  totalMs: performance.now(),
  results,
}) + '\n');
