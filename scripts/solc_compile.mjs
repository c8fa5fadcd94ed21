#!/usr/bin/env node
// Standard-JSON in (stdin), standard-JSON out (stdout), with the pinned solc-js from node_modules.
//
// Used by scripts/compile_contracts.py. The project's own sources arrive inline in the input;
// only `@openzeppelin/contracts/...` imports are resolved here, from node_modules, through solc's
// import callback. Anything else is reported as not found, so a build can never pick up a file
// from outside the repository by accident.
//
// Exit codes: 0 output printed (it may still contain compiler errors; the caller reads them),
// 2 bad usage or a compiler version other than the one requested with --expect-version.

import { createRequire } from "node:module";
import { readFileSync, realpathSync } from "node:fs";
import { dirname, join, sep } from "node:path";

const require = createRequire(import.meta.url);
const solc = require("solc");

const ALLOWED_PREFIXES = ["@openzeppelin/contracts/"];

function expectedVersion(argv) {
  const i = argv.indexOf("--expect-version");
  return i >= 0 ? argv[i + 1] : undefined;
}

function packageRoot(prefix) {
  // "@openzeppelin/contracts/" -> the folder holding that package's package.json.
  const name = prefix.replace(/\/$/, "");
  return dirname(require.resolve(`${name}/package.json`));
}

function findImports(path) {
  for (const prefix of ALLOWED_PREFIXES) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    if (rest.split("/").some((part) => part === ".." || part === "." || part === "")) {
      return { error: `refusing non-canonical import path ${path}` };
    }
    const root = realpathSync(packageRoot(prefix));
    let file;
    try {
      file = realpathSync(join(root, rest));
    } catch {
      return { error: `import ${path} not found under ${root}` };
    }
    if (!file.startsWith(root + sep)) {
      return { error: `import ${path} resolves outside ${root}` };
    }
    return { contents: readFileSync(file, "utf8") };
  }
  return { error: `import ${path} not found: only ${ALLOWED_PREFIXES.join(", ")} resolve from node_modules` };
}

const want = expectedVersion(process.argv.slice(2));
const have = solc.version();
if (want !== undefined && !have.startsWith(want)) {
  process.stderr.write(`solc-js version ${have} found, ${want} required (run make setup: npm install)\n`);
  process.exit(2);
}
if (process.argv.includes("--version")) {
  process.stdout.write(have + "\n");
  process.exit(0);
}

const input = readFileSync(0, "utf8");
const output = solc.compile(input, { import: findImports });
process.stdout.write(output);
