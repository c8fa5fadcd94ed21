// Oracle for the interop tests: the real @openzeppelin/merkle-tree StandardMerkleTree, driven by
// one JSON request on stdin and answering with one JSON response on stdout.
//
// The library is resolved from the repository's own node_modules (installed by `make setup`
// from package-lock.json), never from a global install, and its version is reported back.
//
// Request:
//   {
//     "leafEncoding": ["bytes32", "address", ...],        // the leaf types, shared by all cases
//     "cases": [{
//       "values": [["0x..", "123", ...], ...],            // leaf values; integers as decimal text
//       "sortLeaves": true,                               // optional, library default if absent
//       "dump": true,                                     // return the node array + tree indices
//       "leafHashes": true,                               // return tree.leafHash(v) per value
//       "proofs": [0, 5],                                 // tree.getProof(i) per value index
//       "multiproofs": [[0, 2, 3]],                       // tree.getMultiProof(indices)
//       "verifyProofs": [{"index": 0, "root": "0x..", "proof": ["0x.."]}],
//       "verifyMultiproofs": [{"root": "0x..", "leaves": [3, 0], "proof": [], "proofFlags": []}]
//     }]
//   }
// "leaves" of a multiproof to verify are value indices, in the order the proof consumes them;
// the values themselves are handed to the library, which hashes them.
//
// Response:
//   {
//     "library": {"name": .., "version": .., "path": ..},
//     "cases": [{
//       "root": "0x..", "length": n,
//       "tree": [...], "treeIndices": [...],             // when "dump"
//       "leafHashes": [...],                             // when "leafHashes"
//       "proofs": [[...]],
//       "multiproofs": [{"leaves": [[values]], "leafHashes": [...], "proof": [...],
//                        "proofFlags": [...]}],
//       "verifyProofs": [{"tree": bool, "static": bool}],
//       "verifyMultiproofs": [{"tree": bool, "static": bool}]
//     }]
//   }
// A verification the library refuses by throwing reports {"error": message} in place of the
// bool. Any other failure prints {"error": message} and exits with status 1 (2: library missing).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = '@openzeppelin/merkle-tree';
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const requireFromRepo = createRequire(join(repoRoot, 'package.json'));

function fail(message, status = 1) {
  process.stdout.write(JSON.stringify({ error: message }) + '\n');
  process.exit(status);
}

function loadLibrary() {
  const expectedDir = join(repoRoot, 'node_modules', PACKAGE);
  let manifestPath;
  try {
    manifestPath = requireFromRepo.resolve(`${PACKAGE}/package.json`);
  } catch {
    fail(`${PACKAGE} is not installed under ${repoRoot}/node_modules; run \`make setup\``, 2);
  }
  if (dirname(manifestPath) !== expectedDir) {
    fail(`${PACKAGE} resolved to ${manifestPath}, outside ${expectedDir}; run \`make setup\``, 2);
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const { StandardMerkleTree } = requireFromRepo(PACKAGE);
  return { StandardMerkleTree, library: { name: manifest.name, version: manifest.version, path: expectedDir } };
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

// Run a verification, turning a thrown refusal into a reported error instead of a crash.
function attempt(check) {
  try {
    return check();
  } catch (err) {
    return { error: String(err?.message ?? err) };
  }
}

function valueAt(values, index) {
  if (!Number.isInteger(index) || index < 0 || index >= values.length) {
    throw new Error(`value index ${index} out of range [0, ${values.length})`);
  }
  return values[index];
}

function runCase(StandardMerkleTree, leafEncoding, spec) {
  const { values } = spec;
  if (!Array.isArray(values) || values.length === 0) throw new Error('case needs a non-empty "values" list');
  const options = spec.sortLeaves === undefined ? {} : { sortLeaves: spec.sortLeaves };
  const tree = StandardMerkleTree.of(values, leafEncoding, options);
  const out = { root: tree.root, length: tree.length };

  if (spec.dump) {
    const data = tree.dump();
    out.tree = data.tree;
    out.treeIndices = data.values.map(v => v.treeIndex);
  }
  if (spec.leafHashes) {
    out.leafHashes = values.map(v => tree.leafHash(v));
  }
  out.proofs = (spec.proofs ?? []).map(i => tree.getProof(i));
  out.multiproofs = (spec.multiproofs ?? []).map(indices => {
    const mp = tree.getMultiProof(indices);
    return {
      leaves: mp.leaves,
      leafHashes: mp.leaves.map(v => tree.leafHash(v)),
      proof: mp.proof,
      proofFlags: mp.proofFlags,
    };
  });
  out.verifyProofs = (spec.verifyProofs ?? []).map(({ index, root, proof }) => {
    const value = valueAt(values, index);
    return {
      tree: attempt(() => tree.verify(value, proof)),
      static: attempt(() => StandardMerkleTree.verify(root, leafEncoding, value, proof)),
    };
  });
  out.verifyMultiproofs = (spec.verifyMultiproofs ?? []).map(({ root, leaves, proof, proofFlags }) => {
    const multiproof = { leaves: leaves.map(i => valueAt(values, i)), proof, proofFlags };
    return {
      tree: attempt(() => tree.verifyMultiProof(multiproof)),
      static: attempt(() => StandardMerkleTree.verifyMultiProof(root, leafEncoding, multiproof)),
    };
  });
  return out;
}

async function main() {
  const { StandardMerkleTree, library } = loadLibrary();
  let request;
  try {
    request = JSON.parse(await readStdin());
  } catch (err) {
    fail(`request is not JSON: ${err.message}`);
  }
  const { leafEncoding, cases } = request ?? {};
  if (!Array.isArray(leafEncoding) || !Array.isArray(cases)) {
    fail('request needs "leafEncoding" and "cases" lists');
  }
  const results = [];
  for (const [n, spec] of cases.entries()) {
    try {
      results.push(runCase(StandardMerkleTree, leafEncoding, spec));
    } catch (err) {
      fail(`case ${n}: ${err?.stack ?? err}`);
    }
  }
  process.stdout.write(JSON.stringify({ library, cases: results }) + '\n');
}

await main();
