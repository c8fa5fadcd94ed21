"""Committed artifacts: fresh (recompiled byte for byte), built as specified, packed as claimed."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from integration.contracts.support import ROOT, Artifacts

COMPILE = ROOT / "scripts" / "compile_contracts.py"
DEPLOYABLE = ("Consortium", "AnchorRegistry", "DeviceRegistry", "MethodologyRegistry",
              "ReportRegistry", "LocationBasedElectricity")


def test_committed_artifacts_are_fresh() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: the contract compiler is solc-js (npm)")
    if not (ROOT / "node_modules" / "solc").is_dir():
        pytest.fail("node_modules/solc is missing: run `make setup` (npm install)")
    proc = subprocess.run([sys.executable, str(COMPILE), "--check"], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, check=False)
    assert proc.returncode == 0, (
        f"contracts/build is stale or the build failed (exit {proc.returncode}):\n"
        f"{proc.stdout}{proc.stderr}")


def test_artifacts_record_compiler_and_settings(artifacts: Artifacts) -> None:
    for name in DEPLOYABLE:
        artifact = artifacts[name]
        assert artifact["compiler"] == {"name": "solc", "version": "0.8.30+commit.73712a01"}
        assert artifact["settings"]["evmVersion"] == "paris"
        assert artifact["settings"]["optimizer"] == {"enabled": True, "runs": 200}
        assert len(artifact["bytecode"]) > 2 and len(artifact["deployedBytecode"]) > 2
        # EIP-170: deployed code at most 24,576 bytes.
        assert (len(artifact["deployedBytecode"]) - 2) // 2 <= 24_576
        assert all(src.startswith("0x") for src in artifact["sourceHashes"].values())
        assert '"evmVersion":"paris"' in artifact["metadata"]  # what the compiler was told


def _struct_size(artifacts: Artifacts, contract: str, struct: str) -> int:
    types = artifacts[contract]["storageLayout"]["types"]
    (size,) = [int(t["numberOfBytes"]) for key, t in types.items()
               if key.startswith(f"t_struct({struct})")]
    return size


def test_packed_structs_fit_the_slots_claimed(artifacts: Artifacts) -> None:
    assert _struct_size(artifacts, "AnchorRegistry", "DeviceState") == 32  # one slot
    assert _struct_size(artifacts, "MethodologyRegistry", "Version") == 32  # one slot
    assert _struct_size(artifacts, "DeviceRegistry", "Device") == 5 * 32
    assert _struct_size(artifacts, "ReportRegistry", "Attestation") == 2 * 32
