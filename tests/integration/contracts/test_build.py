"""Committed artifacts: fresh (recompiled byte for byte), built as specified, packed as claimed."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from eth_utils.abi import abi_to_signature, function_signature_to_4byte_selector
from integration.contracts.support import ROOT

from mrv_core.chain import CONTRACTS, Artifacts

COMPILE = ROOT / "scripts" / "compile_contracts.py"
DEPLOYABLE = (*CONTRACTS, "FactorMethodology", "MethodologyFactory")


def test_committed_artifacts_are_fresh() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: the contract compiler is solc-js (npm)")
    if not (ROOT / "node_modules" / "solc").is_dir():
        pytest.fail("node_modules/solc is missing: run `make setup` (npm install)")
    proc = subprocess.run([sys.executable, str(COMPILE), "--check"], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, check=False)
    assert proc.returncode == 0, (
        f"mrv_core/chain/contracts is stale or the build failed (exit {proc.returncode}):\n"
        f"{proc.stdout}{proc.stderr}")


def test_artifacts_record_compiler_and_settings(artifacts: Artifacts) -> None:
    for name in DEPLOYABLE:
        artifact = artifacts[name]
        assert artifact["compiler"] == {"name": "solc", "version": "0.8.30+commit.73712a01"}
        assert artifact["settings"]["evmVersion"] == "paris"
        assert artifact["settings"]["optimizer"] == {"enabled": True, "runs": 200}
        assert len(artifact["bytecode"]) > 2 and len(artifact["deployedBytecode"]) > 2
        # EIP-170: deployed code at most 24,576 bytes; EIP-3860: initcode at most 49,152 (the
        # MethodologyRegistry's holds the factory's, which holds FactorMethodology's).
        assert (len(artifact["deployedBytecode"]) - 2) // 2 <= 24_576
        assert (len(artifact["bytecode"]) - 2) // 2 <= 49_152
        assert all(src.startswith("0x") for src in artifact["sourceHashes"].values())
        assert '"evmVersion":"paris"' in artifact["metadata"]  # what the compiler was told


def test_error_selectors_are_unambiguous(artifacts: Artifacts) -> None:
    """No two different custom errors of the build share a 4-byte selector, so a revert always
    decodes to the error that was raised."""
    by_selector: dict[bytes, str] = {}
    for name in artifacts.names():
        for item in artifacts.abi(name):
            if item["type"] != "error":
                continue
            signature = abi_to_signature(item)
            known = by_selector.setdefault(function_signature_to_4byte_selector(signature),
                                           signature)
            assert known == signature, f"error selector clash: {known} and {signature}"
    assert len(by_selector) > 50  # every contract's errors were seen


def _struct_size(artifacts: Artifacts, contract: str, struct: str) -> int:
    types = artifacts[contract]["storageLayout"]["types"]
    (size,) = [int(t["numberOfBytes"]) for key, t in types.items()
               if key.startswith(f"t_struct({struct})")]
    return size


def test_packed_structs_fit_the_slots_claimed(artifacts: Artifacts) -> None:
    assert _struct_size(artifacts, "AnchorRegistry", "DeviceState") == 32  # one slot
    # Version: address, version and effectiveFrom in the slot resolution's search reads; the
    # pinned code hash in a second one, read once per resolve.
    assert _struct_size(artifacts, "MethodologyRegistry", "Version") == 2 * 32
    assert _slot_of(artifacts, "MethodologyRegistry", "Version", "effectiveFrom") == 0
    assert _struct_size(artifacts, "DeviceRegistry", "Device") == 5 * 32
    assert _struct_size(artifacts, "ReportRegistry", "Attestation") == 2 * 32
    # FactorMethodology: compute reads one slot per line (Source's first) and one per factor row
    # it passes (Row's first); the rest serves the views.
    assert _slot_of(artifacts, "FactorMethodology", "Source", "parameterCount") == 0
    assert _struct_size(artifacts, "FactorMethodology", "Source") == 5 * 32
    assert _slot_of(artifacts, "FactorMethodology", "Row", "decimals") == 0
    assert _struct_size(artifacts, "FactorMethodology", "Row") == 4 * 32  # citation: an event


def _slot_of(artifacts: Artifacts, contract: str, struct: str, member: str) -> int:
    types = artifacts[contract]["storageLayout"]["types"]
    (members,) = [t["members"] for key, t in types.items()
                  if key.startswith(f"t_struct({struct})")]
    (slot,) = [int(m["slot"]) for m in members if m["label"] == member]
    return slot
