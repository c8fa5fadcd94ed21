"""docs/protocol.md cannot go stale: its worked example is recomputed from the code.

Every block between ``<!-- protocol_example:begin NAME -->`` markers must equal what
``scripts/protocol_example.py`` prints today, every long hex string anywhere in the document must
be one the script computes, the hand-check programs in the document must run, and the key
values are cross-checked against independent implementations (eth-abi, eth-account, eth-keys).

After a deliberate change: ``.venv/bin/python scripts/protocol_example.py --update
docs/protocol.md``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys import keys
from jsonschema import Draft202012Validator

from factories import load_script
from mrv_core import (
    QUANTITIES,
    READING_TYPEHASH,
    BatchFile,
    ProofBundle,
    leaf_hash,
    reading_digest,
    struct_hash,
    verify_batch,
    verify_bundle,
)
from mrv_core.codec import format_address
from mrv_core.eip712 import batch_typed_data, encode_struct, typed_data
from mrv_core.merkle import leaf_depths
from mrv_core.signing import SECP256K1_N

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "protocol.md"
SCRIPT = ROOT / "scripts" / "protocol_example.py"
REGENERATE = "run: .venv/bin/python scripts/protocol_example.py --update docs/protocol.md"
#: Long hex strings the document may quote without the script printing them.
ALLOWED_HEX = {f"0x{SECP256K1_N:064x}", "0x" + "00" * 19 + "01"}


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script("protocol_example")


@pytest.fixture(scope="module")
def example(script: ModuleType) -> Any:
    return script.build_example()


@pytest.fixture(scope="module")
def sections(script: ModuleType, example: Any) -> dict[str, str]:
    rendered: dict[str, str] = script.render_sections(example)
    return rendered


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_section_is_pasted_and_current(script: ModuleType, doc: str,
                                             sections: dict[str, str]) -> None:
    stale = script.check_document(doc, sections)
    assert stale == [], f"docs/protocol.md is stale in {stale}; {REGENERATE}"


def test_check_mode_of_the_script(script: ModuleType) -> None:
    assert script.main(["--check", str(DOC)]) == 0


def test_every_long_hex_in_the_document_is_computed(doc: str, sections: dict[str, str]) -> None:
    """Also catches numbers quoted in prose or in the hand-check programs."""
    computed = "\n".join(sections.values()).lower()
    # Python's implicit concatenation of string literals split over two lines
    joined = re.sub(r'([0-9a-fA-F])"\s*\n\s*"([0-9a-fA-F])', r"\1\2", doc)
    quoted = set(re.findall(r"0x[0-9a-fA-F]{40,}", joined))
    quoted |= {"0x" + m for m in re.findall(r'"([0-9a-fA-F]{64,})"', joined)}  # bytes.fromhex
    assert len(quoted) > 30
    unknown = sorted(h for h in quoted
                     if h.lower() not in computed and h.lower() not in ALLOWED_HEX)
    assert unknown == [], f"hex in docs/protocol.md that the code does not compute; {REGENERATE}"


def test_the_split_signature_literal_is_the_computed_signature(doc: str, example: Any) -> None:
    block = _hand_check(doc, "signature")
    halves = re.findall(r'"([0-9a-f]{64,66})"', block)
    assert "".join(halves[1:3]) == example.worked.signature.hex()


# -- the prose's claims about the example ---------------------------------------------------------


def test_claims_made_in_the_prose(script: ModuleType, example: Any) -> None:
    tree = example.batch.tree
    a, b, c = (s.reading for s in example.signed)
    assert (a.seq, a.timestamp, a.value) == (41, 1735689600, 0x47C8A55E)
    assert b.value == -1500 and QUANTITIES[b.quantity].signed
    assert (c.seq, c.timestamp - a.timestamp, c.value - a.value) == (42, 900, 104350)
    # 6.5: A at tree index 3 with a two-step proof; step 1 puts the sibling first, step 2 not.
    assert tree.tree_index(0) == 3 and tree.tree_index(2) == 4
    path = tree.proof(0)
    assert len(path) == 2 and len(path) in leaf_depths(3)
    node = tree.leaves[0]
    assert path[0] < node
    node = script.hash_pair(node, path[0])
    assert node < path[1]
    # 6.4: the first hex digit of s is below 8.
    assert example.worked.signature[32] < 0x80
    # the multiproof lists C before A
    multi, order = tree.multiproof(script.MULTI_POSITIONS)
    assert order == [2, 0]
    assert [s.reading.seq for s in example.multi.readings] == [42, 41]
    assert multi.proof_flags == (True, False)


# -- independent implementations agree with the numbers -------------------------------------------


def test_encoding_equals_abi_encode_of_the_leaf_values(example: Any) -> None:
    types = ["bytes32", "address", "bytes32", "uint64", "uint64", "bytes32", "int256", "bytes32"]
    for signed in example.signed:
        r = signed.reading
        values = [READING_TYPEHASH, format_address(r.device), r.meter, r.seq, r.timestamp,
                  QUANTITIES[r.quantity].code_bytes, r.value, r.salt]
        assert abi_encode(types, values) == encode_struct(r)


def test_digest_and_signature_agree_with_eth_account(script: ModuleType, example: Any) -> None:
    for signed in example.signed:
        message = encode_typed_data(full_message=typed_data(signed.reading, script.DOMAIN))
        assert Account.recover_message(message, signature=signed.signature) == format_address(
            signed.reading.device)
        # eth-account signs RFC 6979 with low s too, so the bytes repeat exactly
        resigned = Account.sign_message(message, private_key=script.TEST_SECRET)
        assert bytes(resigned.signature) == signed.signature


def test_eth_keys_recovers_the_device(script: ModuleType, example: Any) -> None:
    signed = example.worked
    sig = signed.signature
    recovered = keys.Signature(
        vrs=(sig[64] - 27, int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"))
    ).recover_public_key_from_msg_hash(reading_digest(signed.reading, script.DOMAIN))
    assert recovered.to_canonical_address() == signed.reading.device


def test_leaf_is_the_hash_of_the_struct_hash(example: Any) -> None:
    from mrv_core.hashing import keccak256

    for signed in example.signed:
        assert leaf_hash(signed.reading) == keccak256(struct_hash(signed.reading))


# -- the documents quoted in the doc are valid --------------------------------------------------


def _json_block(doc: str, name: str) -> Any:
    match = re.search(rf"<!-- protocol_example:begin {name} -->\n```json\n(.*?)\n```", doc,
                      re.DOTALL)
    assert match, name
    return json.loads(match[1])


def _schema(name: str) -> Draft202012Validator:
    path = ROOT / "docs" / "schemas" / f"{name}.schema.json"
    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def test_quoted_bundle_parses_validates_and_verifies(doc: str) -> None:
    quoted = _json_block(doc, "bundle")
    assert quoted["format"] == "trustmrv-proof/2"
    assert list(_schema("trustmrv-proof-2").iter_errors(quoted)) == []
    assert verify_bundle(ProofBundle.from_json(quoted)).header_signed


def test_quoted_batch_file_parses_validates_and_verifies(doc: str) -> None:
    quoted = _json_block(doc, "batch-file")
    assert quoted["format"] == "trustmrv-batch/2"
    assert list(_schema("trustmrv-batch-2").iter_errors(quoted)) == []
    assert verify_batch(BatchFile.from_json(quoted)).header_signed


def test_quoted_typed_data_hashes_to_the_digest(doc: str, script: ModuleType,
                                                example: Any) -> None:
    quoted = _json_block(doc, "typed-data")
    assert isinstance(quoted["message"]["value"], str)
    message = encode_typed_data(full_message=quoted)
    assert Account.recover_message(message, signature=example.worked.signature) == \
        format_address(example.worked.reading.device)


def test_header_signature_agrees_with_eth_account(script: ModuleType, example: Any) -> None:
    header = example.batch.header
    message = encode_typed_data(full_message=batch_typed_data(header, script.DOMAIN))
    assert Account.recover_message(message, signature=example.batch.header_signature) == \
        format_address(header.device)
    resigned = Account.sign_message(message, private_key=script.TEST_SECRET)
    assert bytes(resigned.signature) == example.batch.header_signature


def test_multiproof_bundle_verifies(example: Any) -> None:
    verified = verify_bundle(ProofBundle.loads(example.multi.dumps()))
    assert len(verified.leaves) == 2


# -- the hand-check programs run ------------------------------------------------------------------


def _hand_check(doc: str, name: str) -> str:
    match = re.search(rf"<!-- hand-check:begin {name} -->\n```[a-z]+\n(.*?)```\n"
                      rf"<!-- hand-check:end {name} -->", doc, re.DOTALL)
    assert match, f"hand-check block {name!r} not found"
    return match[1]


@pytest.mark.parametrize("name", ["keccak", "signature"])
def test_hand_check_programs_run(doc: str, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(_hand_check(doc, name), f"docs/protocol.md:{name}", "exec"), {})
    if name == "keccak":
        assert "reading A is in the batch" in capsys.readouterr().out


@pytest.mark.interop
def test_openzeppelin_program_runs(doc: str) -> None:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "@openzeppelin" / "merkle-tree").is_dir():
        pytest.fail("needs node and npm's @openzeppelin/merkle-tree: run `make setup`",
                    pytrace=False)
    result = subprocess.run([node, "-e", _hand_check(doc, "openzeppelin")], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "StandardMerkleTree agrees" in result.stdout
