"""Proof bundles and batch files: round trips and strict parsing."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from factories import TEST_DOMAIN, sample_batch
from mrv_core import (
    SAMPLE_DOMAIN,
    AnchorRef,
    BatchFile,
    FormatError,
    MultiProofNodes,
    ProofBundle,
    SingleProof,
    bundle_for_readings,
)
from mrv_core.bundle import LIMITS, read_document

BATCH = sample_batch(7)
SINGLE = bundle_for_readings(BATCH, TEST_DOMAIN, [3])
MULTI = bundle_for_readings(BATCH, TEST_DOMAIN, [0, 2, 5])
ANCHOR = AnchorRef(chain_id=31337, anchor_registry=TEST_DOMAIN.verifying_contract,
                   device_registry=b"\x11" * 20, transaction_hash=b"\x22" * 32, block_number=42)


def doc(bundle: ProofBundle = SINGLE) -> dict[str, Any]:
    return copy.deepcopy(bundle.to_json())


@pytest.mark.parametrize("bundle", [SINGLE, MULTI,
                                    bundle_for_readings(BATCH, TEST_DOMAIN, [1], ANCHOR)])
def test_round_trip(bundle: ProofBundle) -> None:
    parsed = ProofBundle.loads(bundle.dumps())
    assert parsed == bundle
    assert parsed.dumps() == bundle.dumps()


def test_shapes() -> None:
    assert isinstance(SINGLE.proof, SingleProof) and len(SINGLE.readings) == 1
    assert isinstance(MULTI.proof, MultiProofNodes) and len(MULTI.readings) == 3
    assert doc()["anchor"] is None and doc()["sample"] is False
    sample = bundle_for_readings(sample_batch(2, domain=SAMPLE_DOMAIN), SAMPLE_DOMAIN, [0])
    assert sample.to_json()["sample"] is True


def test_batch_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "batch.json"
    BatchFile.of(BATCH, TEST_DOMAIN).write(path)
    parsed = BatchFile.read(path)
    assert parsed.batch == BATCH.header and parsed.leaves == BATCH.tree.leaves
    assert isinstance(read_document(path), BatchFile)
    SINGLE.write(tmp_path / "b.json")
    assert read_document(tmp_path / "b.json") == SINGLE


def _set(d: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        d = d[int(key)] if isinstance(d, list) else d[key]  # type: ignore[assignment]
    if isinstance(d, list):
        d[int(last)] = value
    elif value is _DELETE:
        del d[last]
    else:
        d[last] = value


_DELETE = object()
MUTATIONS = [
    ("format", "trustmrv-proof/3", "$.format"),
    ("format", "trustmrv-batch/2", "$.format"),
    ("sample", True, "$.sample"),
    ("sample", "false", "$.sample"),
    ("extra", 1, "unknown field"),
    ("anchor", _DELETE, "missing field"),
    ("domain.name", "TrustMRV2", "$.domain.name"),
    ("domain.version", "2", "$.domain.version"),
    ("domain.chainId", 31337, "$.domain.chainId"),
    ("batch.root", "0x00", "$.batch.root"),
    ("batch.leafCount", "0", "$.batch"),
    ("batch.leafCount", "07", "$.batch.leafCount"),
    ("batch.fromTimestamp", "99999999999", "$.batch"),
    ("batch.device", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeaED", "checksum"),
    ("readings", [], "$.readings"),
    ("readings.0.value", 5, "$.readings[0].value"),
    ("readings.0.value", "5.0", "$.readings[0].value"),
    ("readings.0.seq", "-1", "$.readings[0].seq"),
    ("readings.0.salt", "0x" + "00" * 31, "$.readings[0].salt"),
    ("readings.0.signature", "0x" + "00" * 64, "$.readings[0].signature"),
    ("readings.0.quantity", "energy.active.import:kWh", "unknown quantity"),
    ("readings.0.meterPath", "a/b/c", "$.readings[0].meterPath"),
    ("readings.0.colour", "red", "unknown field"),
    ("proof.type", "double", "$.proof.type"),
    ("proof.path", "0x00", "$.proof.path"),
    ("proof.path.0", "0xzz", "$.proof.path[0]"),
]


@pytest.mark.parametrize("path,value,message", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_malformed_bundles_are_rejected_naming_the_field(path: str, value: Any,
                                                         message: str) -> None:
    d = doc()
    _set(d, path, value)
    with pytest.raises(FormatError) as excinfo:
        ProofBundle.from_json(d)
    assert message in str(excinfo.value)


def test_a_single_proof_cannot_cover_several_readings() -> None:
    d = doc(MULTI)
    d["proof"] = {"type": "single", "path": []}
    with pytest.raises(FormatError, match="single proof covers one reading"):
        ProofBundle.from_json(d)


def test_multiproof_flags_must_be_booleans() -> None:
    d = doc(MULTI)
    d["proof"]["proofFlags"][0] = 1
    with pytest.raises(FormatError, match=r"proofFlags\[0\]"):
        ProofBundle.from_json(d)


@pytest.mark.parametrize("raw", [
    b"", b"{", b"[]", b"null", b"\xff\xfe", b'{"format": NaN}', b'{"a": 1.5}',
    b'{"format": "trustmrv-proof/1", "format": "trustmrv-proof/1"}',
    b"[" * 100_000 + b"]" * 100_000, b"[" * 100_000 + b"}",
    b'["]]]]"' + b"[" * 40 + b"]" * 40 + b"]",
])
def test_garbage_bytes_are_format_errors(raw: bytes) -> None:
    with pytest.raises(FormatError):
        ProofBundle.loads(raw)


def test_deep_nesting_is_refused_even_with_a_raised_recursion_limit() -> None:
    """py_ecc raises the recursion limit to 100,000 on import (py-evm to 12,288, and hypothesis
    may restore either); the C JSON decoder would then overflow the C stack on deep input instead
    of raising RecursionError. The limit is set here, so the order tests run in cannot matter."""
    import sys

    before = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)  # what importing eth_account does
    try:
        with pytest.raises(FormatError, match="nested deeper"):
            ProofBundle.loads(b"[" * 500_000 + b"]" * 500_000)
        with pytest.raises(FormatError, match="unbalanced"):
            ProofBundle.loads(b"[" * 500_000)
        brackets_in_strings = b'{"format": "' + b"[" * 100 + b'"}'
        with pytest.raises(FormatError, match="missing field"):  # parsed: brackets were text
            ProofBundle.loads(brackets_in_strings)
    finally:
        sys.setrecursionlimit(before)


def test_size_limits() -> None:
    with pytest.raises(FormatError, match="limit"):
        ProofBundle.loads(b" " * (LIMITS.bundle_bytes + 1))
    d = doc()
    d["proof"]["path"] = ["0x" + "00" * 32] * (LIMITS.proof_path + 1)
    with pytest.raises(FormatError, match="allowed"):
        ProofBundle.from_json(d)


def test_anchor_fields_are_checked() -> None:
    d = doc(bundle_for_readings(BATCH, TEST_DOMAIN, [1], ANCHOR))
    d["anchor"]["transactionHash"] = "0x1234"
    with pytest.raises(FormatError, match=r"\$\.anchor\.transactionHash"):
        ProofBundle.from_json(d)
    d["anchor"] = {"chainId": "0", "anchorRegistry": "0x" + "00" * 20,
                   "deviceRegistry": "0x" + "00" * 20, "transactionHash": "0x" + "00" * 32,
                   "blockNumber": "1"}
    with pytest.raises(FormatError, match="chainId"):
        ProofBundle.from_json(d)


def test_written_json_is_canonical_text() -> None:
    text = SINGLE.dumps().decode()
    assert json.loads(text) == SINGLE.to_json()
    reading = SINGLE.to_json()["readings"][0]
    assert all(isinstance(v, str) for v in reading.values())
