"""Compile contracts/ with the pinned solc into reproducible artifacts (mrv_core/chain/contracts).

    mrv contracts build                          # (re)write mrv_core/chain/contracts/*.json
    mrv contracts build --check                  # exit 1 when the committed ones are stale
    mrv contracts build --evm-version cancun --out /tmp/build-cancun

(``python scripts/compile_contracts.py`` takes the same options.) Building needs a source
checkout with ``make setup`` done; running TrustMRV never does: the artifacts are committed
inside the ``mrv_core`` package (``mrv_core/chain/contracts/``), where they are loaded from, so
an installed wheel carries them too.

The compiler is solc-js (npm ``solc``, pinned in package.json) driven through its standard-JSON
interface by ``scripts/solc_compile.mjs``; OpenZeppelin Contracts are imported from node_modules,
never copied. No native solc is used (none ships for these machines), so there is no py-solc-x
path.

Every compiler warning is fatal: the sources are ours and small enough to keep warning-free, and
a new warning (unreachable code, shadowing, unused return value, code size over the EIP-170
limit ...) is exactly what should stop a build. Errors and warnings are printed as the compiler
formats them, with the source excerpt.

An artifact holds: contractName, sourceName, abi, bytecode, deployedBytecode, immutableReferences,
linkReferences, storageLayout, compiler (name, version), settings (evmVersion, optimizer,
metadata), metadata (the compiler's metadata JSON string; its bytecode hash is the IPFS hash, so
the bytecode commits to the exact sources) and sourceHashes (keccak256 of every source the
contract was compiled from). Files are JSON with sorted keys and a trailing newline, so the same
inputs always give the same bytes and ``--check`` can compare them byte for byte.

Exit codes: 0 ok, 1 compilation failed or (with --check) artifacts are stale, 2 toolchain missing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from mrv_core.chain.artifacts import PACKAGED_BUILD_DIR

ROOT = Path(__file__).resolve().parent.parent  # the source checkout
CONTRACTS_DIR = ROOT / "contracts"
BUILD_DIR = PACKAGED_BUILD_DIR
HELPER = ROOT / "scripts" / "solc_compile.mjs"
SOLC_VERSION = "0.8.30+commit.73712a01"
DEFAULT_EVM_VERSION = "paris"
OPTIMIZER_RUNS = 200
EVM_VERSIONS = ("london", "paris", "shanghai", "cancun", "prague")

_OUTPUT_SELECTION = [
    "abi",
    "metadata",
    "storageLayout",
    "evm.bytecode.object",
    "evm.bytecode.linkReferences",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.immutableReferences",
    "evm.deployedBytecode.linkReferences",
]


class CompileError(Exception):
    """Compilation failed or the toolchain is missing; the message says which and why."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def settings(evm_version: str = DEFAULT_EVM_VERSION) -> dict[str, Any]:
    """The compiler settings that affect bytecode (recorded in every artifact)."""
    if evm_version not in EVM_VERSIONS:
        raise CompileError(f"unsupported evmVersion {evm_version!r}; choose from {EVM_VERSIONS}",
                           exit_code=2)
    return {
        "evmVersion": evm_version,
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        "metadata": {"bytecodeHash": "ipfs"},
    }


def source_files() -> dict[str, Path]:
    """Our Solidity sources by source unit name (``contracts/...``)."""
    found = {}
    for path in sorted(CONTRACTS_DIR.rglob("*.sol")):
        found[path.relative_to(ROOT).as_posix()] = path
    if not found:
        raise CompileError(f"no Solidity sources under {CONTRACTS_DIR}")
    return found


def standard_json_input(evm_version: str) -> dict[str, Any]:
    sources = {name: {"content": path.read_text(encoding="utf-8")}
               for name, path in source_files().items()}
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            **settings(evm_version),
            "outputSelection": {"*": {"*": _OUTPUT_SELECTION}},
        },
    }


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise CompileError("node not found on PATH: the compiler is solc-js (npm solc)", 2)
    if not (ROOT / "node_modules" / "solc" / "package.json").is_file():
        raise CompileError(
            f"{ROOT / 'node_modules' / 'solc'} is missing: run `make setup` (npm install) first", 2)
    if not (ROOT / "node_modules" / "@openzeppelin" / "contracts" / "package.json").is_file():
        raise CompileError("node_modules/@openzeppelin/contracts is missing: "
                           "run `make setup` (npm install) first", 2)
    return node


def run_solc(standard_input: dict[str, Any]) -> dict[str, Any]:
    """Run the pinned solc-js on a standard-JSON input and return its standard-JSON output."""
    proc = subprocess.run(
        [_node(), str(HELPER), "--expect-version", SOLC_VERSION],
        input=json.dumps(standard_input).encode(),
        capture_output=True,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode != 0:
        raise CompileError(f"solc helper failed (exit {proc.returncode}):\n"
                           f"{proc.stderr.decode(errors='replace')}", exit_code=2)
    try:
        output: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        raise CompileError(f"solc helper printed no JSON:\n{proc.stdout[:2000]!r}") from None
    return output


def check_diagnostics(output: dict[str, Any]) -> list[str]:
    """Raise CompileError when the output has any error or warning; return the info messages."""
    fatal, info = [], []
    for diag in output.get("errors", []):
        text = diag.get("formattedMessage") or f"{diag.get('type')}: {diag.get('message')}"
        if diag.get("severity") == "info":
            info.append(text)
        else:  # "error" and "warning" alike: every warning is fatal here
            fatal.append(text)
    if fatal:
        raise CompileError(f"compilation failed with {len(fatal)} error(s)/warning(s):\n\n"
                           + "\n".join(fatal))
    return info


def build_artifacts(evm_version: str = DEFAULT_EVM_VERSION) -> dict[str, str]:
    """Compile and return ``{file name: file text}`` for every contract defined in contracts/."""
    standard_input = standard_json_input(evm_version)
    output = run_solc(standard_input)
    check_diagnostics(output)
    recorded_settings = settings(evm_version)
    files: dict[str, str] = {}
    for source_name in sorted(standard_input["sources"]):
        for contract_name, out in sorted(output["contracts"].get(source_name, {}).items()):
            file_name = f"{contract_name}.json"
            if file_name in files:
                raise CompileError(f"two contracts named {contract_name}: artifact names clash")
            metadata = json.loads(out["metadata"])
            artifact = {
                "contractName": contract_name,
                "sourceName": source_name,
                "abi": out["abi"],
                "bytecode": "0x" + out["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + out["evm"]["deployedBytecode"]["object"],
                "immutableReferences": out["evm"]["deployedBytecode"].get(
                    "immutableReferences", {}),
                "linkReferences": out["evm"]["bytecode"].get("linkReferences", {}),
                "storageLayout": out.get("storageLayout", {}),
                "compiler": {"name": "solc", "version": metadata["compiler"]["version"]},
                "settings": recorded_settings,
                "metadata": out["metadata"],
                "sourceHashes": {name: src["keccak256"]
                                 for name, src in sorted(metadata["sources"].items())},
            }
            if artifact["compiler"]["version"] != SOLC_VERSION:
                raise CompileError(f"compiled with solc {artifact['compiler']['version']}, "
                                   f"{SOLC_VERSION} is pinned", exit_code=2)
            files[file_name] = json.dumps(artifact, indent=2, sort_keys=True) + "\n"
    return files


def write_artifacts(files: dict[str, str], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in sorted(set(p.name for p in out_dir.glob("*.json")) - set(files)):
        (out_dir / stale).unlink()
    for name, text in files.items():
        path = out_dir / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def stale_artifacts(files: dict[str, str], out_dir: Path) -> list[str]:
    """Names of artifacts that differ from, are missing from, or are extra in ``out_dir``."""
    on_disk = {p.name: p for p in out_dir.glob("*.json")} if out_dir.is_dir() else {}
    problems = []
    for name in sorted(set(files) | set(on_disk)):
        if name not in on_disk:
            problems.append(f"missing: {name}")
        elif name not in files:
            problems.append(f"extra (no such contract): {name}")
        elif on_disk[name].read_text(encoding="utf-8") != files[name]:
            problems.append(f"differs: {name}")
    return problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--evm-version", default=DEFAULT_EVM_VERSION, choices=EVM_VERSIONS,
                        help=f"target EVM version (default {DEFAULT_EVM_VERSION})")
    parser.add_argument("--out", type=Path, default=BUILD_DIR,
                        help="artifact folder (default mrv_core/chain/contracts, where they are "
                             "loaded from)")
    parser.add_argument("--check", action="store_true",
                        help="recompile and exit 1 if the artifacts in --out are stale")


def register(commands: Any) -> None:
    """``mrv contracts build``."""
    contracts = commands.add_parser("contracts", help="build the Solidity contracts",
                                    description="The consortium contracts' reproducible build.")
    sub = contracts.add_subparsers(dest="contracts_command", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="compile contracts/ into mrv_core/chain/contracts/ "
                                         "(or --check)",
                           description=__doc__.split("\n\n")[0])
    add_arguments(build)
    build.set_defaults(handler=run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    if (out.exists() and not out.is_dir()) or any(p.exists() and not p.is_dir()
                                                   for p in out.parents):
        print(f"mrv: error: --out {out} is not a directory", file=sys.stderr)
        return 2
    try:
        files = build_artifacts(args.evm_version)
    except CompileError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    if args.check:
        problems = stale_artifacts(files, args.out)
        if problems:
            print(f"contract artifacts in {args.out} are stale; run "
                  "`mrv contracts build`:\n  " + "\n  ".join(problems),
                  file=sys.stderr)
            return 1
        print(f"{len(files)} artifacts in {args.out} are up to date")
        return 0
    write_artifacts(files, args.out)
    print(f"wrote {len(files)} artifacts to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
