"""The known-answer vectors in ``protocol.json``: our code reproduces every value, and independent
implementations agree with each of them.

Oracles: ``eth_utils.keccak`` for type hashes and meter ids, ``eth_abi.encode`` for ``encodeData``
and the leaf, ``eth_account``'s EIP-712 encoder for struct hashes, domain separators and digests,
``eth_account`` signing and recovery for the signatures, and a naive transcription of the published
``@openzeppelin/merkle-tree`` algorithm for the roots (the interop suite checks them against the
library itself).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils.crypto import keccak

from factories import (
    LEAF_ENCODING,
    VECTORS_PATH,
    leaf_values,
    load_script,
    load_vectors,
    vector_reading,
)
from mrv_core import (
    QUANTITIES,
    READING_TYPE,
    READING_TYPEHASH,
    Domain,
    MerkleTree,
    leaf_hash,
    meter_id,
    process_multiproof,
    process_proof,
    reading_digest,
    recover_address,
    struct_hash,
)
from mrv_core.batch import BatchHeader
from mrv_core.codec import UINT64_MAX, UINT256_MAX, parse_address, parse_hex, parse_int
from mrv_core.eip712 import (
    BATCH_TYPE,
    BATCH_TYPEHASH,
    DOMAIN_TYPE,
    DOMAIN_TYPEHASH,
    batch_digest,
    batch_struct_hash,
    batch_typed_data,
    encode_batch_struct,
    encode_struct,
    typed_data,
)
from mrv_core.keys import DeviceKey
from mrv_core.records import record_digest, record_leaf
from mrv_core.verify import verify_signed_record
from mrv_core.wire import decode_signed_record

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_vectors.py"
VECTORS = load_vectors()
READING_IDS = [entry["name"] for entry in VECTORS["readings"]]


def _b(text: str) -> bytes:
    return parse_hex(text)


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _domain(name: str) -> Domain:
    entry = VECTORS["domains"][name]
    return Domain(chain_id=parse_int(entry["chainId"], 0, UINT256_MAX),
                  verifying_contract=parse_address(entry["verifyingContract"]))


def _private_key(signer: str) -> bytes:
    [key] = [k for k in VECTORS["keys"] if k["name"] == signer]
    return _b(key["privateKey"])


def _typed_data_doc(entry: dict[str, Any], domain_name: str) -> dict[str, Any]:
    """The EIP-712 document built from the vector file alone, not by mrv_core."""
    fields, domain = entry["reading"], VECTORS["domains"][domain_name]
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Reading": [
                {"name": "device", "type": "address"},
                {"name": "meter", "type": "bytes32"},
                {"name": "seq", "type": "uint64"},
                {"name": "timestamp", "type": "uint64"},
                {"name": "quantity", "type": "bytes32"},
                {"name": "value", "type": "int256"},
                {"name": "salt", "type": "bytes32"},
            ],
        },
        "primaryType": "Reading",
        "domain": {"name": domain["name"], "version": domain["version"],
                   "chainId": int(domain["chainId"]),
                   "verifyingContract": domain["verifyingContract"]},
        "message": {
            "device": fields["device"], "meter": fields["meter"], "seq": int(fields["seq"]),
            "timestamp": int(fields["timestamp"]), "quantity": entry["quantityBytes32"],
            "value": int(fields["value"]), "salt": fields["salt"],
        },
    }


@pytest.fixture(scope="module")
def make_vectors() -> ModuleType:
    """``scripts/make_vectors.py`` as a module (scripts/ is not a package)."""
    return load_script("make_vectors")


# -- the file as a whole ---------------------------------------------------------------------------


def test_generator_reproduces_the_file_exactly(make_vectors: ModuleType) -> None:
    assert make_vectors.build_vectors() == VECTORS
    assert make_vectors.render(VECTORS) == VECTORS_PATH.read_text(encoding="utf-8")


def test_generator_refuses_to_change_a_vector_without_force(
    make_vectors: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "protocol.json"
    assert make_vectors.main(["--out", str(out)]) == 0
    current = out.read_text(encoding="utf-8")
    assert make_vectors.main(["--out", str(out), "--check"]) == 0

    # A changed value is a format change: refused (and --check fails) unless --force.
    stale = json.loads(current)
    stale["readings"][0]["leaf"] = "0x" + "00" * 32
    out.write_text(json.dumps(stale), encoding="utf-8")
    assert make_vectors.main(["--out", str(out), "--check"]) == 1
    assert make_vectors.main(["--out", str(out)]) == 1
    assert json.loads(out.read_text(encoding="utf-8")) == stale
    assert "changed: .readings[0].leaf" in capsys.readouterr().err
    assert make_vectors.main(["--out", str(out), "--force"]) == 0
    assert out.read_text(encoding="utf-8") == current

    # New entries alone are added without --force.
    older = json.loads(current)
    del older["merkle"]["multiproofs"]
    out.write_text(json.dumps(older), encoding="utf-8")
    assert make_vectors.main(["--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == current


# -- types, domains, keys --------------------------------------------------------------------------


def test_type_strings_and_hashes() -> None:
    types = VECTORS["types"]
    assert types["Reading"] == READING_TYPE
    assert types["EIP712Domain"] == DOMAIN_TYPE
    assert _b(types["ReadingTypeHash"]) == READING_TYPEHASH == keccak(text=types["Reading"])
    assert _b(types["EIP712DomainTypeHash"]) == DOMAIN_TYPEHASH == keccak(
        text=types["EIP712Domain"])
    assert _b(types["domainNameHash"]) == keccak(text="TrustMRV")
    assert _b(types["domainVersionHash"]) == keccak(text="1")


def test_quantity_codes() -> None:
    table = VECTORS["quantities"]
    assert set(table) == set(QUANTITIES)
    for code, word in table.items():
        assert _b(word) == QUANTITIES[code].code_bytes == code.encode("ascii").ljust(32, b"\0")


@pytest.mark.parametrize("name", sorted(VECTORS["domains"]))
def test_domain_separator(name: str) -> None:
    entry = VECTORS["domains"][name]
    separator = _b(entry["separator"])
    assert _domain(name).separator == separator
    assert (entry["name"], entry["version"]) == ("TrustMRV", "1")
    oracle = keccak(abi_encode(
        ["bytes32", "bytes32", "bytes32", "uint256", "address"],
        [DOMAIN_TYPEHASH, keccak(text=entry["name"]), keccak(text=entry["version"]),
         int(entry["chainId"]), entry["verifyingContract"]],
    ))
    assert oracle == separator
    assert encode_typed_data(full_message=_typed_data_doc(VECTORS["readings"][0], name)).header \
        == separator


def test_sample_domain_is_the_offline_one() -> None:
    assert _domain("sample").is_sample
    assert not _domain("anvil").is_sample


@pytest.mark.parametrize("key", VECTORS["keys"], ids=lambda k: k["name"])
def test_key_addresses(key: dict[str, str]) -> None:
    secret = _b(key["privateKey"])
    assert _hex(DeviceKey.from_private_bytes(secret).address) == key["address"].lower()
    assert Account.from_key(secret).address == key["address"]


# -- readings --------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(READING_IDS)), ids=READING_IDS)
def test_reading_hashes(index: int) -> None:
    entry = VECTORS["readings"][index]
    reading = vector_reading(entry)
    # 1. The meter id is keccak256 of the path's UTF-8 bytes; the quantity its bytes32 code.
    assert reading.meter == meter_id(entry["meterPath"]) == keccak(entry["meterPath"].encode())
    assert entry["quantityBytes32"] == VECTORS["quantities"][reading.quantity]
    # 2. encodeData is abi.encode of the leaf value list.
    encoded = _b(entry["encodeData"])
    assert encode_struct(reading) == encoded
    assert abi_encode(list(LEAF_ENCODING), list(leaf_values(reading))) == encoded
    # 3. The struct hash, as the EIP-712 encoder of eth_account computes it.
    assert struct_hash(reading) == _b(entry["structHash"]) == keccak(encoded)
    signable = encode_typed_data(full_message=_typed_data_doc(entry, "sample"))
    assert signable.body == _b(entry["structHash"])
    # 4. The leaf: OpenZeppelin's standard leaf, keccak256(keccak256(abi.encode(values))).
    assert leaf_hash(reading) == _b(entry["leaf"]) == keccak(keccak(encoded))


@pytest.mark.parametrize("domain_name", sorted(VECTORS["domains"]))
@pytest.mark.parametrize("index", range(len(READING_IDS)), ids=READING_IDS)
def test_reading_digest_and_signature(index: int, domain_name: str) -> None:
    entry = VECTORS["readings"][index]
    reading, domain = vector_reading(entry), _domain(domain_name)
    vector = entry["signatures"][domain_name]
    digest, signature = _b(vector["digest"]), _b(vector["signature"])
    secret = _private_key(entry["signer"])
    doc = _typed_data_doc(entry, domain_name)

    # 1. The digest: ours, eth_account's from an independently built document, and from ours.
    assert reading_digest(reading, domain) == digest
    assert _hash_eip191_message(encode_typed_data(full_message=doc)) == digest
    assert _hash_eip191_message(encode_typed_data(full_message=typed_data(reading, domain))) \
        == digest
    # 2. The signature: RFC 6979 makes it deterministic, so both signers give the same bytes.
    key = DeviceKey.from_private_bytes(secret)
    assert key.sign_reading(reading, domain, entry["meterPath"]).signature == signature
    assert bytes(Account.sign_typed_data(secret, full_message=doc).signature) == signature
    # 3. It recovers the device, with our strict recovery and with eth_account's.
    assert recover_address(digest, signature) == reading.device
    assert Account._recover_hash(digest, signature=signature) == entry["reading"]["device"]


def test_vectors_cover_the_edges() -> None:
    """The fixed readings keep covering what they were chosen for."""
    readings = [vector_reading(entry) for entry in VECTORS["readings"]]
    values = {r.value for r in readings}
    assert {-(2**255), 2**255 - 1, 0, 1} <= values
    assert any(r.value < 0 for r in readings)
    assert {r.seq for r in readings} >= {0, 2**64 - 1}
    assert {r.timestamp for r in readings} >= {0, 2**64 - 1}
    assert {r.salt for r in readings} >= {bytes(32), b"\xff" * 32}
    assert any(not entry["meterPath"].isascii() for entry in VECTORS["readings"])
    assert len({entry["signer"] for entry in VECTORS["readings"]}) == len(VECTORS["keys"])


# -- Merkle ----------------------------------------------------------------------------------------


def _reference_root(leaves: list[bytes], *, sort_leaves: bool) -> bytes:
    """The published StandardMerkleTree algorithm, transcribed as plainly as possible."""
    ordered = sorted(leaves) if sort_leaves else list(leaves)
    n = len(ordered)
    tree: list[bytes] = [b""] * (2 * n - 1)
    for i, leaf in enumerate(ordered):
        tree[2 * n - 2 - i] = leaf
    for i in range(n - 2, -1, -1):
        left, right = tree[2 * i + 1], tree[2 * i + 2]
        tree[i] = keccak(min(left, right) + max(left, right))
    return tree[0]


LEAVES = [_b(entry["leaf"]) for entry in VECTORS["readings"]]


@pytest.mark.parametrize("sort_leaves,key", [(True, "roots"), (False, "unsortedRoots")])
def test_merkle_roots(sort_leaves: bool, key: str) -> None:
    entries = VECTORS["merkle"][key]
    assert [e["n"] for e in entries] == list(range(1, len(LEAVES) + 1))
    for entry in entries:
        leaves, root = LEAVES[: entry["n"]], _b(entry["root"])
        assert MerkleTree(leaves, sort_leaves=sort_leaves).root == root
        assert _reference_root(leaves, sort_leaves=sort_leaves) == root
    assert VECTORS["merkle"]["leafEncoding"] == list(LEAF_ENCODING)


@pytest.mark.parametrize("proof", VECTORS["merkle"]["proofs"],
                         ids=lambda p: f"n{p['n']}-i{p['index']}")
def test_merkle_proof(proof: dict[str, Any]) -> None:
    tree = MerkleTree(LEAVES[: proof["n"]])
    nodes = [_b(x) for x in proof["proof"]]
    assert _b(proof["root"]) == tree.root
    assert _b(proof["leaf"]) == LEAVES[proof["index"]]
    assert tree.proof(proof["index"]) == nodes
    assert process_proof(LEAVES[proof["index"]], nodes) == tree.root


def test_proof_examples_reach_both_leaf_depths() -> None:
    depths = {len(p["proof"]) for p in VECTORS["merkle"]["proofs"]}
    assert len(depths) == 2


@pytest.mark.parametrize("multi", VECTORS["merkle"]["multiproofs"],
                         ids=lambda m: f"n{m['n']}-k{len(m['indices'])}")
def test_merkle_multiproof(multi: dict[str, Any]) -> None:
    tree = MerkleTree(LEAVES[: multi["n"]])
    ours, order = tree.multiproof(multi["indices"])
    assert _b(multi["root"]) == tree.root
    assert order == multi["leafOrder"]
    assert [_hex(x) for x in ours.leaves] == multi["leaves"] == [
        _hex(LEAVES[i]) for i in multi["leafOrder"]]
    assert [_hex(x) for x in ours.proof] == multi["proof"]
    assert list(ours.proof_flags) == multi["proofFlags"]
    assert process_multiproof([_b(x) for x in multi["leaves"]], [_b(x) for x in multi["proof"]],
                              multi["proofFlags"]) == tree.root


# -- signed batch headers --------------------------------------------------------------------------

HEADER_IDS = [entry["name"] for entry in VECTORS["batches"]]
BATCH_FIELD_TYPES = [("device", "address"), ("batchSeq", "uint64"), ("root", "bytes32"),
                     ("leafCount", "uint32"), ("fromTimestamp", "uint64"),
                     ("toTimestamp", "uint64")]


def _header(entry: dict[str, Any]) -> BatchHeader:
    fields = entry["header"]
    return BatchHeader(device=parse_address(fields["device"]),
                       batch_seq=parse_int(fields["batchSeq"], 0, 2**64 - 1),
                       root=_b(fields["root"]),
                       leaf_count=parse_int(fields["leafCount"], 1, 2**32 - 1),
                       from_timestamp=parse_int(fields["fromTimestamp"], 0, 2**64 - 1),
                       to_timestamp=parse_int(fields["toTimestamp"], 0, 2**64 - 1))


def _batch_typed_data_doc(entry: dict[str, Any], domain_name: str) -> dict[str, Any]:
    """The EIP-712 document of a header built from the vector file alone, integers as the
    decimal strings the file holds."""
    domain = VECTORS["domains"][domain_name]
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Batch": [{"name": name, "type": type_} for name, type_ in BATCH_FIELD_TYPES],
        },
        "primaryType": "Batch",
        "domain": {k: domain[k] for k in ("name", "version", "chainId", "verifyingContract")},
        "message": dict(entry["header"]),
    }


def test_batch_type_string_and_hash() -> None:
    types = VECTORS["types"]
    assert types["Batch"] == BATCH_TYPE == "Batch(" + ",".join(
        f"{type_} {name}" for name, type_ in BATCH_FIELD_TYPES) + ")"
    assert _b(types["BatchTypeHash"]) == BATCH_TYPEHASH == keccak(text=types["Batch"])


@pytest.mark.parametrize("domain_name", sorted(VECTORS["domains"]))
@pytest.mark.parametrize("index", range(len(HEADER_IDS)), ids=HEADER_IDS)
def test_batch_header_hashes_digest_and_signature(index: int, domain_name: str) -> None:
    entry = VECTORS["batches"][index]
    header, domain = _header(entry), _domain(domain_name)
    vector = entry["signatures"][domain_name]
    digest, signature = _b(vector["digest"]), _b(vector["signature"])
    doc = _batch_typed_data_doc(entry, domain_name)
    # 1. encodeData is abi.encode(typeHash, fields...); the struct hash is eth_account's.
    fields = entry["header"]
    values = [int(fields[k]) if t.startswith("uint") else _b(fields[k]) if t == "bytes32"
              else fields[k] for k, t in BATCH_FIELD_TYPES]
    encoded = abi_encode(["bytes32", *(t for _, t in BATCH_FIELD_TYPES)],
                         [BATCH_TYPEHASH, *values])
    assert _b(entry["encodeData"]) == encoded == encode_batch_struct(header)
    signable = encode_typed_data(full_message=doc)
    assert signable.body == _b(entry["structHash"]) == batch_struct_hash(header)
    # 2. The digest: ours, eth_account's from the independent document and from ours.
    assert batch_digest(header, domain) == digest == _hash_eip191_message(signable)
    assert _hash_eip191_message(encode_typed_data(
        full_message=batch_typed_data(header, domain))) == digest
    # 3. The signature repeats (RFC 6979) with both signers and recovers the device.
    secret = _private_key(entry["signer"])
    assert DeviceKey.from_private_bytes(secret).sign_batch(header, domain) == signature
    assert bytes(Account.sign_typed_data(secret, full_message=doc).signature) == signature
    assert recover_address(digest, signature) == header.device
    assert Account._recover_hash(digest, signature=signature) == entry["header"]["device"]


def test_batch_vectors_commit_the_vector_readings() -> None:
    first = VECTORS["batches"][0]
    n = int(first["header"]["leafCount"])
    assert _b(first["header"]["root"]) == MerkleTree(LEAVES[:n]).root
    limits = _header(VECTORS["batches"][-1])
    assert (limits.batch_seq, limits.leaf_count, limits.to_timestamp) == (
        2**64 - 1, 2**32 - 1, 2**64 - 1)


# -- signed records ---------------------------------------------------------------------------

RECORD_IDS = [entry["name"] for entry in VECTORS["records"]]
#: Field types of each record struct, written out here from docs/protocol.md section 9 (not taken
#: from mrv_core), so the vectors are checked against the specification's text.
RECORD_FIELDS = {
    "Gap": [("device", "address"), ("meter", "bytes32"), ("quantity", "bytes32"),
            ("nextSeq", "uint64"), ("fromTimestamp", "uint64"), ("toTimestamp", "uint64"),
            ("failedPolls", "uint32"), ("errorClass", "bytes32"), ("salt", "bytes32")],
    "MeterChange": [("device", "address"), ("meter", "bytes32"), ("quantity", "bytes32"),
                    ("nextSeq", "uint64"), ("timestamp", "uint64"), ("oldFinal", "int256"),
                    ("newInitial", "int256"), ("note", "bytes32"), ("salt", "bytes32")],
    "EmissionSummary": [
        ("device", "address"), ("scopeKind", "uint8"), ("scopeId", "bytes32"),
        ("source", "bytes32"), ("quantity", "bytes32"), ("methodology", "bytes32"),
        ("methodologyVersion", "uint32"), ("periodStart", "uint64"), ("periodEnd", "uint64"),
        ("activity", "uint256"), ("emissions", "uint256"), ("readingCount", "uint32"),
        ("gapCount", "uint32"), ("bridgedGapCount", "uint32"), ("bridgedSeconds", "uint64"),
        ("unexplainedDecreases", "uint32"), ("salt", "bytes32")],
}
_TEXT_CODES = {"quantity", "errorClass", "source", "methodology"}


def _record_message(entry: dict[str, Any]) -> dict[str, Any]:
    """The struct's values from the wire form in the vector file: text codes right-padded to
    bytes32, decimal strings to ints."""
    message: dict[str, Any] = {}
    for name, abi in RECORD_FIELDS[entry["type"]]:
        value = entry["wire"][name]
        if name in _TEXT_CODES:
            message[name] = value.encode("ascii").ljust(32, b"\0")
        elif abi.startswith(("uint", "int")):
            message[name] = int(value)
        elif abi == "bytes32":
            message[name] = _b(value)
        else:
            message[name] = value
    return message


def test_record_type_strings_and_hashes() -> None:
    types = VECTORS["types"]
    for kind, fields in RECORD_FIELDS.items():
        expected = f"{kind}(" + ",".join(f"{abi} {name}" for name, abi in fields) + ")"
        assert types[kind] == expected
        assert _b(types[f"{kind}TypeHash"]) == keccak(text=expected)


@pytest.mark.parametrize("domain_name", sorted(VECTORS["domains"]))
@pytest.mark.parametrize("index", range(len(RECORD_IDS)), ids=RECORD_IDS)
def test_record_vectors(index: int, domain_name: str) -> None:
    entry = VECTORS["records"][index]
    kind, fields = entry["type"], RECORD_FIELDS[entry["type"]]
    message = _record_message(entry)
    # 1. encodeData is abi.encode(typeHash, fields...); struct hash and leaf follow from it.
    encoded = abi_encode(["bytes32", *(abi for _, abi in fields)],
                         [keccak(text=VECTORS["types"][kind]), *message.values()])
    assert _b(entry["encodeData"]) == encoded
    assert _b(entry["structHash"]) == keccak(encoded)
    assert _b(entry["leaf"]) == keccak(keccak(encoded))
    # 2. The digest as eth_account computes it from a document built from the file alone.
    domain = VECTORS["domains"][domain_name]
    doc = {
        "types": {"EIP712Domain": [{"name": "name", "type": "string"},
                                   {"name": "version", "type": "string"},
                                   {"name": "chainId", "type": "uint256"},
                                   {"name": "verifyingContract", "type": "address"}],
                  kind: [{"name": name, "type": abi} for name, abi in fields]},
        "primaryType": kind,
        "domain": {"name": domain["name"], "version": domain["version"],
                   "chainId": int(domain["chainId"]),
                   "verifyingContract": domain["verifyingContract"]},
        "message": message,
    }
    vector = entry["signatures"][domain_name]
    digest, signature = _b(vector["digest"]), _b(vector["signature"])
    assert _hash_eip191_message(encode_typed_data(full_message=doc)) == digest
    secret = _private_key(entry["signer"])
    assert bytes(Account.sign_typed_data(secret, full_message=doc).signature) == signature
    assert Account._recover_hash(digest, signature=signature) == entry["wire"]["device"]
    # 3. Our decoder and verifier agree with every figure (the wire form is signed for anvil).
    signed = decode_signed_record(entry["wire"], "$")
    assert record_leaf(signed.record) == _b(entry["leaf"])
    assert record_digest(signed.record, _domain(domain_name)) == digest
    if domain_name == "anvil":
        assert verify_signed_record(signed, _domain("anvil")) == _b(entry["leaf"])
        assert signed.signature == signature


def test_record_vectors_cover_every_kind_and_the_edges() -> None:
    entries = VECTORS["records"]
    assert {entry["type"] for entry in entries} == set(RECORD_FIELDS)
    wires = [entry["wire"] for entry in entries]
    assert any(w.get("toTimestamp") == str(UINT64_MAX) for w in wires)
    assert any(w.get("activity") == str(UINT256_MAX) for w in wires)
    assert any(w.get("oldFinal") == str(2**255 - 1) for w in wires)
    assert any(w.get("noteText") == "" for w in wires)
    assert {w.get("scopeKind") for w in wires} >= {"1", "2"}
