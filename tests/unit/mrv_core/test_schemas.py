"""The JSON Schemas in docs/schemas/ agree with the strict parser in mrv_core.bundle / wire, for
every version of each document (version 2 carries the device's header signature; batch files
version 3 the signed records too).

Two directions: every document our code writes validates against its schema (the schema never
rejects what the parser accepts), and hand-mutated documents are rejected by the schema AND by
the parser. Rules the schema cannot express are pinned in ``test_documented_gaps``.
"""

from __future__ import annotations

import copy
import json
import random
import re
import unicodedata
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from doc_mutations import delete, edit, setv
from jsonschema import Draft202012Validator

from factories import TEST_DOMAIN, TEST_KEY, sample_batch, signed_readings
from mrv_core import (
    QUANTITIES,
    SAMPLE_DOMAIN,
    AnchorRef,
    Batch,
    BatchFile,
    Domain,
    ProofBundle,
    build_batch,
    bundle_for_readings,
)
from mrv_core.bundle import LIMITS
from mrv_core.errors import DecodeError
from mrv_core.reading import validate_meter_path
from mrv_core.records import ERROR_CLASSES, RECORD_TYPES

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"
ANCHOR = AnchorRef(
    chain_id=TEST_DOMAIN.chain_id,
    anchor_registry=TEST_DOMAIN.verifying_contract,
    device_registry=bytes.fromhex("e7f1725e7734ce288f8367e1bb143e90bb3f0512"),
    transaction_hash=bytes(range(32)),
    block_number=7,
)
Doc = dict[str, Any]
VERSIONS = (1, 2)


def _close(count: int, batch_seq: int, seed: int, domain: Domain, version: int) -> Batch:
    """A batch of TEST_KEY's readings; its header signed for version 2 documents."""
    readings = signed_readings(count, seed=seed, domain=domain)
    if version == 1:
        return build_batch(TEST_KEY.address, batch_seq, readings)
    return TEST_KEY.close_batch(batch_seq, readings, domain)


@cache
def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8"))
    return loaded


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name))


def roundtrip(doc: Doc) -> Doc:
    """The document as a reader gets it: through JSON text."""
    loaded: Doc = json.loads(json.dumps(doc))
    return loaded


def bundle_docs(version: int) -> list[Doc]:
    """Bundles written by our code: single and multi, sample and chain domains, with anchors."""
    rng = random.Random(7)
    docs = []
    for count, domain, anchor in ((1, TEST_DOMAIN, None), (2, TEST_DOMAIN, ANCHOR),
                                  (3, SAMPLE_DOMAIN, None), (7, TEST_DOMAIN, None),
                                  (16, TEST_DOMAIN, ANCHOR), (33, SAMPLE_DOMAIN, None)):
        batch = _close(count, count, count, domain, version)
        for position in sorted({0, count - 1, rng.randrange(count)}):
            docs.append(bundle_for_readings(batch, domain, [position], anchor).to_json())
        if count > 1:
            every = list(range(count))
            some = rng.sample(every, rng.randint(2, count))
            docs.append(bundle_for_readings(batch, domain, every, anchor).to_json())
            docs.append(bundle_for_readings(batch, domain, some, anchor).to_json())
    return [roundtrip(d) for d in docs]


def batch_docs(version: int) -> list[Doc]:
    docs = []
    for count, domain, anchor in ((1, SAMPLE_DOMAIN, None), (5, TEST_DOMAIN, None),
                                  (40, TEST_DOMAIN, ANCHOR)):
        batch = _close(count, 3, count, domain, version)
        docs.append(BatchFile.of(batch, domain, anchor).to_json())
    return [roundtrip(d) for d in docs]


# -- the schemas themselves -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["trustmrv-proof-1", "trustmrv-batch-1", "trustmrv-proof-2",
                                  "trustmrv-batch-2"])
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    Draft202012Validator.check_schema(schema(name))
    assert schema(name)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("version", VERSIONS)
def test_shared_definitions_are_identical(version: int) -> None:
    proof = schema(f"trustmrv-proof-{version}")["$defs"]
    batch = schema(f"trustmrv-batch-{version}")["$defs"]
    for name, definition in batch.items():
        assert proof[name] == definition, name


def test_version_2_differs_from_version_1_only_by_the_header_signature() -> None:
    for kind in ("proof", "batch"):
        old, new = schema(f"trustmrv-{kind}-1"), schema(f"trustmrv-{kind}-2")
        assert new["properties"]["format"] == {"const": f"trustmrv-{kind}/2"}
        header = copy.deepcopy(new["$defs"]["signedBatchHeader"])
        assert header["required"].pop() == "signature"
        del header["properties"]["signature"]
        assert header["properties"] == old["$defs"]["batchHeader"]["properties"]
        assert header["required"] == old["$defs"]["batchHeader"]["required"]
        same = {k: v for k, v in old["$defs"].items() if k != "batchHeader"}
        assert {k: v for k, v in new["$defs"].items() if k != "signedBatchHeader"} == same


@pytest.mark.parametrize("version", VERSIONS)
def test_schemas_follow_the_code_constants(version: int) -> None:
    proof = schema(f"trustmrv-proof-{version}")
    batch = schema(f"trustmrv-batch-{version}")
    defs = proof["$defs"]
    assert proof["properties"]["readings"]["maxItems"] == LIMITS.readings_per_bundle
    assert defs["singleProof"]["properties"]["path"]["maxItems"] == LIMITS.proof_path
    multi = defs["multiProof"]["properties"]
    assert multi["proof"]["maxItems"] == LIMITS.multiproof_nodes
    assert multi["proofFlags"]["maxItems"] == LIMITS.multiproof_nodes + LIMITS.readings_per_bundle
    assert batch["properties"]["leaves"]["maxItems"] == LIMITS.leaves_per_batch_file
    reading = defs["signedReading"]
    assert reading["properties"]["quantity"]["enum"] == list(QUANTITIES)
    assert reading["if"]["properties"]["quantity"]["enum"] == [
        code for code, q in QUANTITIES.items() if not q.signed
    ]
    assert str(LIMITS.bundle_bytes) in proof["description"]
    assert str(LIMITS.batch_file_bytes) in batch["description"]


# -- what our code writes validates ---------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_bundles_written_by_our_code_validate(version: int) -> None:
    docs = bundle_docs(version)
    assert {d["proof"]["type"] for d in docs} == {"single", "multi"}
    assert {d["sample"] for d in docs} == {True, False}
    assert {d["format"] for d in docs} == {f"trustmrv-proof/{version}"}
    assert any(d["anchor"] is not None for d in docs)
    for doc in docs:
        errors = [e.message for e in validator(f"trustmrv-proof-{version}").iter_errors(doc)]
        assert errors == []
        ProofBundle.from_json(doc)
        assert not validator(f"trustmrv-proof-{3 - version}").is_valid(doc)


@pytest.mark.parametrize("version", VERSIONS)
def test_batch_files_written_by_our_code_validate(version: int) -> None:
    for doc in batch_docs(version):
        assert doc["format"] == f"trustmrv-batch/{version}"
        assert [e.message for e in validator(f"trustmrv-batch-{version}").iter_errors(doc)] == []
        BatchFile.from_json(doc)
        assert not validator(f"trustmrv-batch-{3 - version}").is_valid(doc)


@pytest.mark.parametrize("path", [
    "demo-co/wuxi-plant/assembly/line-1/main-incomer",
    "示例集团/无锡工厂/装配车间/一号线/总表",
    "a/b/c/d/e",
    "Ünïcødé AG/Site 1/Hall A/Line 2/Meter 7",
    "x" * 100 + "/b/c/d/" + "y" * 148,
])
def test_valid_meter_paths_validate(path: str) -> None:
    validate_meter_path(path)
    assert validator("trustmrv-proof-1").evolve(
        schema=schema("trustmrv-proof-1")["$defs"]["meterPath"]).is_valid(path)


def test_forbidden_character_class_never_over_rejects() -> None:
    """Every character the schema's explicit list refuses, the parser refuses too."""
    forbidden = re.compile(schema("trustmrv-proof-1")["$defs"]["meterPath"]["not"]["pattern"])
    hits = 0
    for code in range(0x10000):
        ch = chr(code)
        if 0xD800 <= code <= 0xDFFF or not forbidden.search(ch):
            continue
        hits += 1
        category = unicodedata.category(ch)
        assert category in {"Cc", "Cf", "Co", "Cn", "Zl", "Zp"} or (
            category == "Zs" and ch != " "), f"U+{code:04X} is {category}"
    assert hits > 6000  # the private use area alone is 6400 characters


# -- mutations: both the schema and the parser reject ---------------------------------------------


def add_reading(doc: Doc) -> None:
    doc["readings"].append(copy.deepcopy(doc["readings"][0]))


ANCHOR_JSON = {"chainId": "31337", "anchorRegistry": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
               "deviceRegistry": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
               "transactionHash": "0x" + "ab" * 32, "blockNumber": "7"}

# Mutations of a chain-domain, single-proof bundle whose reading is energy.active.import:Wh.
BUNDLE_MUTATIONS: dict[str, Callable[[Doc], None]] = {
    "unknown top-level field": setv("comment", "hello"),
    "unknown reading field": setv("readings.0.unit", "Wh"),
    "unknown batch field": setv("batch.merkleRoot", "0x" + "00" * 32),
    "unknown domain field": setv("domain.salt", "0x" + "00" * 32),
    "unknown proof field": setv("proof.leaf", "0x" + "00" * 32),
    "unknown anchor field": setv("anchor", {**ANCHOR_JSON, "confirmations": "12"}),
    "missing format": delete("format"),
    "missing sample": delete("sample"),
    "missing anchor": delete("anchor"),
    "missing proof": delete("proof"),
    "missing reading salt": delete("readings.0.salt"),
    "missing reading meterPath": delete("readings.0.meterPath"),
    "missing batch leafCount": delete("batch.leafCount"),
    "missing anchor blockNumber": setv("anchor", {k: v for k, v in ANCHOR_JSON.items()
                                                  if k != "blockNumber"}),
    "salt 31 bytes": edit("readings.0.salt", lambda s: s[:-2]),
    "salt 33 bytes": edit("readings.0.salt", lambda s: s + "00"),
    "meter odd digits": edit("readings.0.meter", lambda s: s[:-1]),
    "signature 64 bytes": edit("readings.0.signature", lambda s: s[:-2]),
    "root 33 bytes": edit("batch.root", lambda s: s + "00"),
    "proof node 31 bytes": edit("proof.path.0", lambda s: s[:-2]),
    "device 19 bytes": edit("readings.0.device", lambda s: s[:-2]),
    "hex without 0x": edit("readings.0.salt", lambda s: s[2:] + "00"),
    "hex with 0X": edit("readings.0.salt", lambda s: "0X" + s[2:]),
    "hex with a non-hex digit": edit("readings.0.salt", lambda s: s[:-1] + "g"),
    "float value": setv("readings.0.value", 1204331870.5),
    "integer as a JSON number": setv("readings.0.seq", 41),
    "boolean as an integer": setv("readings.0.seq", True),
    "leading zero": setv("readings.0.seq", "041"),
    "plus sign": setv("readings.0.seq", "+41"),
    "minus zero": setv("readings.0.value", "-0"),
    "exponent": setv("readings.0.value", "1e3"),
    "whitespace around an integer": setv("readings.0.timestamp", " 1735689600"),
    "trailing line feed": setv("readings.0.timestamp", "1735689600\n"),
    "negative seq": setv("readings.0.seq", "-1"),
    "negative value of an unsigned quantity": setv("readings.0.value", "-5"),
    "integer longer than any in range": setv("readings.0.timestamp", "1" * 21),
    "leafCount zero": setv("batch.leafCount", "0"),
    "wrong format": setv("format", "trustmrv-proof/3"),
    "batch format on a bundle": setv("format", "trustmrv-batch/1"),
    "sample true on a chain domain": setv("sample", True),
    "sample as a string": setv("sample", "false"),
    "wrong domain name": setv("domain.name", "TrustMRV2"),
    "wrong domain version": setv("domain.version", "2"),
    "anchor chainId zero": setv("anchor", {**ANCHOR_JSON, "chainId": "0"}),
    "anchor as a string": setv("anchor", "none"),
    "unknown quantity": setv("readings.0.quantity", "energy.active.import:kWh"),
    "quantity as bytes32 hex": setv("readings.0.quantity", "0x" + "00" * 32),
    "meter path with four levels": setv("readings.0.meterPath", "demo-co/wuxi-plant/line-1/m"),
    "meter path with an empty level": setv("readings.0.meterPath", "a/b//d/e"),
    "meter path with a padded level": setv("readings.0.meterPath", "a/b/ c/d/e"),
    "meter path with a control character": setv("readings.0.meterPath", "a/b/c/d/e\x07"),
    "meter path with a bidi override": setv("readings.0.meterPath", "a/b/c/d/\u202ee"),
    "meter path with a zero-width space": setv("readings.0.meterPath", "a/b/c\u200b/d/e"),
    "meter path with a no-break space": setv("readings.0.meterPath", "a/b/c\u00a0c/d/e"),
    "meter path of 257 characters": setv("readings.0.meterPath", "a/b/c/d/" + "e" * 249),
    "meter path not a string": setv("readings.0.meterPath", ["a", "b", "c", "d", "e"]),
    "no readings": setv("readings", []),
    "readings not an array": setv("readings", {}),
    "wrong proof type": setv("proof.type", "merkle"),
    "proof without type": delete("proof.type"),
    "single proof for two readings": add_reading,
    "single proof with multi fields": setv("proof", {"type": "single", "proof": [],
                                                     "proofFlags": []}),
    "multi proof with a path": setv("proof", {"type": "multi", "path": []}),
    "multi proof flag not a boolean": setv("proof", {"type": "multi", "proof": [],
                                                     "proofFlags": [1]}),
    "single proof path too long": setv("proof.path", ["0x" + "11" * 32] * 65),
    "too many readings": edit("readings", lambda rs: rs * (LIMITS.readings_per_bundle + 1)),
    "empty object": lambda doc: doc.clear(),
}

BATCH_MUTATIONS: dict[str, Callable[[Doc], None]] = {
    "unknown top-level field": setv("readings", []),
    "unknown batch field": setv("batch.leafHash", "0x" + "00" * 32),
    "missing leaves": delete("leaves"),
    "missing domain": delete("domain"),
    "leaf 31 bytes": edit("leaves.0", lambda s: s[:-2]),
    "leaf as a number": setv("leaves.0", 12),
    "no leaves": setv("leaves", []),
    "float batchSeq": setv("batch.batchSeq", 3.0),
    "leading-zero batchSeq": setv("batch.batchSeq", "03"),
    "wrong format": setv("format", "trustmrv-proof/1"),
    "sample true on a chain domain": setv("sample", True),
    "bad anchor transaction hash": setv("anchor", {**ANCHOR_JSON, "transactionHash": "0x12"}),
    "device address too long": edit("batch.device", lambda s: s + "00"),
}


#: Mutations of the version 2 header signature (both schema and parser reject them).
SIGNED_HEADER_MUTATIONS: dict[str, Callable[[Doc], None]] = {
    "missing header signature": delete("batch.signature"),
    "header signature 64 bytes": edit("batch.signature", lambda s: s[:-2]),
    "header signature without 0x": edit("batch.signature", lambda s: s[2:] + "00"),
    "header signature as null": setv("batch.signature", None),
    "version 2 document labelled version 1": edit("format", lambda f: f[:-1] + "1"),
}


@cache
def base_bundle(version: int = 1) -> Doc:
    batch = _close(3, 0, 11, TEST_DOMAIN, version)
    doc = bundle_for_readings(batch, TEST_DOMAIN, [1]).to_json()
    doc["readings"][0]["quantity"] = "energy.active.import:Wh"  # unsigned, for the sign mutation
    doc["readings"][0]["value"] = "1204331870"
    return roundtrip(doc)


@cache
def base_batch_file(version: int = 1) -> Doc:
    return roundtrip(BatchFile.of(_close(4, 0, 12, TEST_DOMAIN, version), TEST_DOMAIN).to_json())


@pytest.mark.parametrize("version", VERSIONS)
def test_base_documents_are_valid(version: int) -> None:
    proof, batch = validator(f"trustmrv-proof-{version}"), validator(f"trustmrv-batch-{version}")
    assert proof.is_valid(base_bundle(version))
    ProofBundle.from_json(base_bundle(version))
    assert proof.is_valid({**base_bundle(version), "anchor": ANCHOR_JSON})
    ProofBundle.from_json({**base_bundle(version), "anchor": ANCHOR_JSON})
    assert batch.is_valid(base_batch_file(version))
    BatchFile.from_json(base_batch_file(version))


def _mutated(base: Doc, mutate: Callable[[Doc], None]) -> Doc:
    doc = copy.deepcopy(base)
    mutate(doc)
    return doc


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", list(BUNDLE_MUTATIONS))
def test_mutated_bundle_rejected_by_schema_and_parser(name: str, version: int) -> None:
    doc = _mutated(base_bundle(version), BUNDLE_MUTATIONS[name])
    assert not validator(f"trustmrv-proof-{version}").is_valid(doc), "schema accepted it"
    with pytest.raises(DecodeError):
        ProofBundle.from_json(doc)
    with pytest.raises(DecodeError):
        ProofBundle.loads(json.dumps(doc).encode("utf-8"))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", list(BATCH_MUTATIONS))
def test_mutated_batch_file_rejected_by_schema_and_parser(name: str, version: int) -> None:
    doc = _mutated(base_batch_file(version), BATCH_MUTATIONS[name])
    assert not validator(f"trustmrv-batch-{version}").is_valid(doc), "schema accepted it"
    with pytest.raises(DecodeError):
        BatchFile.from_json(doc)


@pytest.mark.parametrize("name", list(SIGNED_HEADER_MUTATIONS))
def test_mutated_header_signature_rejected_by_schema_and_parser(name: str) -> None:
    bundle = _mutated(base_bundle(2), SIGNED_HEADER_MUTATIONS[name])
    assert not validator("trustmrv-proof-2").is_valid(bundle), "schema accepted it"
    with pytest.raises(DecodeError):
        ProofBundle.from_json(bundle)
    batch_file = _mutated(base_batch_file(2), SIGNED_HEADER_MUTATIONS[name])
    assert not validator("trustmrv-batch-2").is_valid(batch_file), "schema accepted it"
    with pytest.raises(DecodeError):
        BatchFile.from_json(batch_file)


def test_sample_domain_requires_sample_true() -> None:
    batch = build_batch(TEST_KEY.address, 0, signed_readings(2, seed=3, domain=SAMPLE_DOMAIN))
    doc = roundtrip(bundle_for_readings(batch, SAMPLE_DOMAIN, [0]).to_json())
    assert doc["sample"] is True and validator("trustmrv-proof-1").is_valid(doc)
    doc["sample"] = False
    assert not validator("trustmrv-proof-1").is_valid(doc)
    with pytest.raises(DecodeError):
        ProofBundle.from_json(doc)
    # chainId 0 with a real contract address is not the sample domain
    other = roundtrip(bundle_for_readings(
        build_batch(TEST_KEY.address, 0, signed_readings(1, seed=4)),
        Domain(0, TEST_DOMAIN.verifying_contract), [0]).to_json())
    assert other["sample"] is False and validator("trustmrv-proof-1").is_valid(other)
    ProofBundle.from_json(other)


def test_duplicate_keys_are_rejected_by_the_parser() -> None:
    """Beyond JSON Schema, which only sees the parsed object: the parser reads the text."""
    text = json.dumps(base_bundle())
    doubled = text.replace('"format": "trustmrv-proof/1"',
                           '"format": "trustmrv-proof/1", "format": "trustmrv-proof/1"', 1)
    assert doubled != text
    with pytest.raises(DecodeError, match="duplicate key"):
        ProofBundle.loads(doubled.encode("utf-8"))


# -- documented gaps: the parser rejects, JSON Schema cannot express the rule ---------------------

GAPS: dict[str, Callable[[Doc], None]] = {
    "EIP-55 checksum": edit("readings.0.device", lambda s: s[:2] + s[2].swapcase() + s[3:]
                            if s[2].isalpha() else s[:3] + s[3].swapcase() + s[4:]),
    "uint64 overflow within 20 digits": setv("readings.0.seq", "18446744073709551616"),
    "leafCount overflow within 10 digits": setv("batch.leafCount", "4294967296"),
    "fromTimestamp after toTimestamp": edit("batch", lambda b: {
        **b, "fromTimestamp": str(int(b["toTimestamp"]) + 1)}),
    "meter path not NFC": setv("readings.0.meterPath", "a/b/c/d/e\u0301"),
    "meter path over 256 UTF-8 bytes": setv("readings.0.meterPath", "a/b/c/d/" + "é" * 200),
}


@pytest.mark.parametrize("name", list(GAPS))
def test_documented_gaps(name: str) -> None:
    """Each gap is named in the schema's description; if the schema learns to catch one, move
    it to BUNDLE_MUTATIONS and drop it from the description."""
    doc = _mutated(base_bundle(), GAPS[name])
    assert doc != base_bundle()
    with pytest.raises(DecodeError):
        ProofBundle.from_json(doc)
    assert validator("trustmrv-proof-1").is_valid(doc)


# -- version 3 batch files: the signed records beside the leaves -----------------------------------


@cache
def base_batch_file_v3() -> Doc:
    """A v3 batch file of 3 readings and the four record kinds (leaves 3 to 6)."""
    return roundtrip(BatchFile.of(sample_batch(3, seed=5, records=4), TEST_DOMAIN).to_json())


def test_version_3_schema_is_version_2_plus_records() -> None:
    v2, v3 = schema("trustmrv-batch-2"), schema("trustmrv-batch-3")
    Draft202012Validator.check_schema(v3)
    assert v3["properties"]["format"] == {"const": "trustmrv-batch/3"}
    assert v3["required"] == [*v2["required"], "records"]
    assert v3["properties"]["records"]["maxItems"] == LIMITS.records_per_batch_file
    assert {k: v for k, v in v3["properties"].items() if k not in ("format", "records")} == \
        {k: v for k, v in v2["properties"].items() if k != "format"}
    for name, definition in v2["$defs"].items():
        assert v3["$defs"][name] == definition, name
    assert v3["$defs"]["meterPath"] == schema("trustmrv-proof-2")["$defs"]["meterPath"]


@pytest.mark.parametrize("name", list(RECORD_TYPES))
def test_version_3_record_definitions_follow_the_struct_tables(name: str) -> None:
    definition = schema("trustmrv-batch-3")["$defs"][name[0].lower() + name[1:]]
    fields = [spec.name for spec in RECORD_TYPES[name].FIELDS]
    extra = ["path", "noteText", "signature"] if name == "MeterChange" else ["path", "signature"]
    assert definition["required"] == ["type", *fields, *extra]
    assert list(definition["properties"]) == ["type", *fields, *extra]
    if name == "Gap":
        assert definition["properties"]["errorClass"]["enum"] == list(ERROR_CLASSES)
        assert definition["properties"]["quantity"]["enum"] == list(QUANTITIES)


def test_version_3_files_written_by_our_code_validate() -> None:
    for count, records, domain, anchor in ((0, 1, SAMPLE_DOMAIN, None), (3, 4, TEST_DOMAIN, None),
                                           (20, 9, TEST_DOMAIN, ANCHOR)):
        batch = sample_batch(count, seed=count, records=records, domain=domain)
        doc = roundtrip(BatchFile.of(batch, domain, anchor).to_json())
        assert doc["format"] == "trustmrv-batch/3"
        assert [e.message for e in validator("trustmrv-batch-3").iter_errors(doc)] == []
        assert BatchFile.from_json(doc).records == BatchFile.of(batch, domain, anchor).records
        assert not validator("trustmrv-batch-2").is_valid(doc)
    assert not validator("trustmrv-batch-3").is_valid(base_batch_file(2))


V3_MUTATIONS: dict[str, Callable[[Doc], None]] = {
    "missing records": delete("records"),
    "empty records": setv("records", []),
    "records not an array": setv("records", {}),
    "labelled version 2": setv("format", "trustmrv-batch/2"),
    "unknown entry field": setv("records.0.position", "3"),
    "leafIndex as a number": setv("records.0.leafIndex", 3),
    "leafIndex with a leading zero": setv("records.0.leafIndex", "03"),
    "unknown record type": setv("records.0.record.type", "Reading"),
    "unknown record field": setv("records.0.record.value", "1"),
    "missing record salt": delete("records.0.record.salt"),
    "gap error class unknown": setv("records.0.record.errorClass", "flood"),
    "gap failedPolls zero": setv("records.0.record.failedPolls", "0"),
    "gap failedPolls as a number": setv("records.0.record.failedPolls", 2),
    "gap with a site path": setv("records.0.record.path", "demo-co/wuxi-plant"),
    "gap with a note": setv("records.0.record.noteText", ""),
    "gap quantity as hex": setv("records.0.record.quantity", "0x" + "00" * 32),
    "meter change without its note": delete("records.1.record.noteText"),
    "meter change of an instantaneous quantity": setv("records.1.record.quantity",
                                                      "power.active:W"),
    "meter change oldFinal negative": setv("records.1.record.oldFinal", "-1"),
    "summary scopeKind 3": setv("records.2.record.scopeKind", "3"),
    "summary source with a space": setv("records.2.record.source", "electricity grid"),
    "summary version 0": setv("records.2.record.methodologyVersion", "0"),
    "summary site path on a meter scope": setv("records.2.record.path", "demo-co/wuxi-plant"),
    "summary meter path on a site scope": setv("records.3.record.path",
                                               "demo-co/wuxi-plant/assembly/line-1/main-incomer"),
    "record signature 64 bytes": edit("records.0.record.signature", lambda s: s[:-2]),
    "record device too short": edit("records.0.record.device", lambda s: s[:-2]),
}


def test_base_version_3_file_is_valid() -> None:
    assert validator("trustmrv-batch-3").is_valid(base_batch_file_v3())
    BatchFile.from_json(base_batch_file_v3())


@pytest.mark.parametrize("name", list(V3_MUTATIONS))
def test_mutated_version_3_file_rejected_by_schema_and_parser(name: str) -> None:
    doc = _mutated(base_batch_file_v3(), V3_MUTATIONS[name])
    assert not validator("trustmrv-batch-3").is_valid(doc), "schema accepted it"
    with pytest.raises(DecodeError):
        BatchFile.from_json(doc)


V3_GAPS: dict[str, Callable[[Doc], None]] = {
    "leafIndex beyond the leaves": setv("records.0.leafIndex", "7"),
    "leafIndex not increasing": setv("records.1.leafIndex", "3"),
    "gap from after to": edit("records.0.record", lambda r: {
        **r, "fromTimestamp": str(int(r["toTimestamp"]) + 1)}),
    "summary period empty": edit("records.2.record", lambda r: {
        **r, "periodEnd": r["periodStart"]}),
    "summary bridged seconds without a bridged gap": setv("records.2.record.bridgedGapCount", "0"),
    "note over 4096 UTF-8 bytes": setv("records.1.record.noteText", "换" * 1400),
}


@pytest.mark.parametrize("name", list(V3_GAPS))
def test_documented_version_3_gaps(name: str) -> None:
    """Rules the version 3 schema's description names as the parser's alone."""
    doc = _mutated(base_batch_file_v3(), V3_GAPS[name])
    with pytest.raises(DecodeError):
        BatchFile.from_json(doc)
    assert validator("trustmrv-batch-3").is_valid(doc)
