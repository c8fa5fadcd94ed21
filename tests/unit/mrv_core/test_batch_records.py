"""Batches over readings and records, and version 3 batch files: the tree covers both, reading
proofs work unchanged in a mixed tree, and every record field is covered by the verifier."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import (
    OTHER_KEY,
    TEST_DOMAIN,
    TEST_KEY,
    addresses,
    bytes32,
    codes,
    sample_batch,
    signed_readings,
    signed_records,
)
from mrv_cli.main import main
from mrv_core import (
    STEPS,
    BatchFile,
    FormatError,
    InvalidReading,
    VerificationError,
    build_batch,
    bundle_for_readings,
    verify_batch,
    verify_bundle,
    verify_file,
)
from mrv_core.bundle import BATCH_FORMAT, BATCH_FORMAT_V1, BATCH_FORMAT_V3
from mrv_core.codec import format_address
from mrv_core.eip712 import leaf_hash
from mrv_core.merkle import MerkleTree
from mrv_core.quantities import QUANTITIES, QuantityKind
from mrv_core.records import ERROR_CLASSES, RECORD_TYPES, record_leaf

MIXED = sample_batch(9, seed=3, records=4)


def test_the_tree_covers_readings_then_records() -> None:
    leaves = [leaf_hash(r.reading) for r in MIXED.readings] + \
        [record_leaf(r.record) for r in MIXED.records]
    assert MIXED.tree.leaves == tuple(leaves)
    assert MIXED.header.leaf_count == 13
    assert MIXED.header.root == MerkleTree(leaves).root


def test_the_time_span_covers_every_record() -> None:
    stamps = [r.reading.timestamp for r in MIXED.readings]
    stamps += [t for r in MIXED.records for t in r.record.timespan()]
    assert (MIXED.header.from_timestamp, MIXED.header.to_timestamp) == (min(stamps), max(stamps))
    only_records = sample_batch(0, records=3)
    spans = [r.record.timespan() for r in only_records.records]
    assert only_records.header.from_timestamp == min(s for s, _ in spans)
    assert only_records.header.to_timestamp == max(e for _, e in spans)
    assert only_records.header.leaf_count == 3


def test_a_batch_refuses_other_devices_records_and_emptiness() -> None:
    foreign = signed_records(1, key=OTHER_KEY)
    with pytest.raises(InvalidReading, match="Gap of device"):
        build_batch(TEST_KEY.address, 0, signed_readings(2), foreign)
    with pytest.raises(InvalidReading, match="at least one"):
        build_batch(TEST_KEY.address, 0, [], [])


@pytest.mark.parametrize("positions", [[0], [8], [4], [0, 8], [1, 2, 3, 7], list(range(9))])
def test_reading_proofs_verify_in_a_mixed_tree(positions: list[int]) -> None:
    bundle = bundle_for_readings(MIXED, TEST_DOMAIN, positions)
    verified = verify_bundle(bundle)
    assert verified.bundle.batch.leaf_count == 13


def test_version_3_round_trip_and_verification(tmp_path: Path) -> None:
    batch_file = BatchFile.of(MIXED, TEST_DOMAIN)
    assert batch_file.format == BATCH_FORMAT_V3
    assert [index for index, _ in batch_file.records] == [9, 10, 11, 12]
    path = tmp_path / "batch.json"
    batch_file.write(path)
    assert BatchFile.read(path) == batch_file
    verified = verify_file(path)
    assert verified.header_signed and isinstance(verified.batch_file, BatchFile)  # type: ignore[union-attr]


def test_batches_without_records_keep_their_version(tmp_path: Path) -> None:
    plain = sample_batch(4)
    assert BatchFile.of(plain, TEST_DOMAIN).format == BATCH_FORMAT
    unsigned = dataclasses.replace(plain, header_signature=None)
    assert BatchFile.of(unsigned, TEST_DOMAIN).format == BATCH_FORMAT_V1
    with pytest.raises(FormatError, match="version 3"):
        BatchFile.of(dataclasses.replace(MIXED, header_signature=None), TEST_DOMAIN)


def _step(doc: dict[str, Any], tmp_path: Path) -> str:
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(VerificationError) as excinfo:
        verify_file(path)
    return excinfo.value.step


_CUMULATIVE = [c for c, q in QUANTITIES.items() if q.kind is QuantityKind.CUMULATIVE]


def _other_value(kind: str, name: str, data: st.DataObject) -> Any:
    """A value that still parses for a record field of wire ``name``."""
    if name == "path":
        return data.draw(st.sampled_from(["demo-co/wuxi-plant/assembly/line-2/meter-9",
                                          "demo-co/wuxi-plant"]))
    if name == "noteText":
        return data.draw(st.text(max_size=20))
    if name == "signature":
        return "0x" + data.draw(st.binary(min_size=65, max_size=65)).hex()
    if name == "device":
        return "0x" + data.draw(addresses).hex()
    if name == "errorClass":
        return data.draw(st.sampled_from(ERROR_CLASSES))
    if name == "quantity":
        return data.draw(st.sampled_from(_CUMULATIVE))
    if name == "scopeKind":
        return data.draw(st.sampled_from(["1", "2"]))
    if kind == "bytes32":
        return "0x" + data.draw(bytes32).hex()
    if kind == "code":
        return data.draw(codes)
    return str(data.draw(st.integers(0, 2**32 - 1)))


#: The step each tampered field should fail at; ``format`` when the new value breaks a rule the
#: parser checks (a cross-field rule, a path of the wrong kind).
EXPECTED = {"path": {"meter"}, "noteText": {"meter"}, "note": {"meter"}, "meter": {"meter"},
            "scopeId": {"meter"},
            "signature": {"signature"}, "device": {"batch", "signature"},
            "leafIndex": {"root"}}


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 3), data=st.data())
def test_tampering_any_record_field_fails_at_a_named_step(tmp_path: Path, which: int,
                                                          data: st.DataObject) -> None:
    doc = BatchFile.of(MIXED, TEST_DOMAIN).to_json()
    entry = doc["records"][which]
    record = entry["record"]
    specs = {spec.name: spec.kind for spec in RECORD_TYPES[record["type"]].FIELDS}
    names = [*specs, "path", "signature", "leafIndex"] + (["noteText"] if "noteText" in record
                                                         else [])
    name = data.draw(st.sampled_from(names), label="field")
    if name == "leafIndex":
        new = str(data.draw(st.integers(0, 8), label="leafIndex"))  # a reading's leaf
        entry["leafIndex"] = new
        if which:  # keep indices increasing: move this entry to the front
            doc["records"] = [entry] + [e for i, e in enumerate(doc["records"]) if i != which]
    else:
        new = _other_value(specs.get(name, ""), name, data)
        if str(new).lower() == str(record[name]).lower():
            return
        record[name] = new
    step = _step(doc, tmp_path)
    assert step in STEPS
    assert step in EXPECTED.get(name, {"signature", "batch"}) | {"format"}, (name, step)


def test_a_record_outside_the_header_span_fails_at_batch() -> None:
    batch_file = BatchFile.of(MIXED, TEST_DOMAIN)
    header = dataclasses.replace(MIXED.header, to_timestamp=MIXED.header.from_timestamp)
    narrowed = dataclasses.replace(batch_file, batch=header,
                                   header_signature=TEST_KEY.sign_batch(header, TEST_DOMAIN))
    with pytest.raises(VerificationError) as excinfo:
        verify_batch(narrowed)
    assert excinfo.value.step == "batch"


def test_mrv_bundle_verify_checks_version_3_files(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.json"
    BatchFile.of(MIXED, TEST_DOMAIN).write(good)
    assert main(["bundle", "verify", "--json", str(good)]) == 0
    line = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (line["ok"], line["format"], line["leafCount"]) == (True, "trustmrv-batch/3", 13)
    doc = json.loads(good.read_text(encoding="utf-8"))
    doc["records"][2]["record"]["emissions"] = str(int(doc["records"][2]["record"]["emissions"])
                                                   + 1)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["bundle", "verify", str(bad)]) == 1
    assert "signature" in capsys.readouterr().out


def test_mrv_bundle_typed_data_prints_each_records_typed_data(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "batch.json"
    BatchFile.of(MIXED, TEST_DOMAIN).write(path)
    assert main(["bundle", "typed-data", str(path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [r["leafIndex"] for r in printed["records"]] == [9, 10, 11, 12]
    for entry, item in zip(printed["records"], MIXED.records, strict=True):
        signable = encode_typed_data(full_message=entry["typedData"])
        assert "0x" + _hash_eip191_message(signable).hex() == entry["digest"]
        assert Account.recover_message(signable, signature=entry["signature"]) == \
            format_address(item.record.device)
