"""The report document ``trustmrv-report/1``: round trips, canonical form, hash, strict decoding
(the JSON path of the first problem named), limits, the batches root against an independent ABI
encoder, and the JSON Schema in docs/schemas agreeing with the parser."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from doc_mutations import Doc, delete, duplicate, setv, swap
from eth_abi.abi import encode as abi_encode
from hypothesis import example, given, settings
from jsonschema import Draft202012Validator
from report_factories import SAMPLE_PERIOD, reports, sample_report

from accounting_rules import compute, load_methodology
from accounting_rules.codes import ZERO32
from accounting_rules.reports import (
    LIMITS,
    Batches,
    BatchRef,
    ManualLine,
    ReportDocument,
    activities,
    batch_leaf,
    batches_root,
    canonical_bytes,
    decode_report,
    document_hash,
    encode_report,
    loads_report,
    scope_sums,
)
from mrv_core.errors import FormatError
from mrv_core.hashing import keccak256
from mrv_core.merkle import MerkleTree

SCHEMA = Path(__file__).resolve().parents[4] / "docs" / "schemas" / "trustmrv-report-1.schema.json"


@cache
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def through_text(obj: Doc) -> Doc:
    loaded: Doc = json.loads(json.dumps(obj))
    return loaded


# -- round trips and canonical form ---------------------------------------------------------------


@settings(max_examples=15)
@given(reports())
@example(sample_report())
def test_decode_of_encode_is_the_document_and_encode_of_decode_the_object(
        doc: ReportDocument) -> None:
    obj = through_text(encode_report(doc))
    assert decode_report(obj) == doc
    assert encode_report(decode_report(obj)) == obj
    assert loads_report(canonical_bytes(doc)) == doc


@settings(max_examples=15)
@given(reports())
def test_canonical_bytes_are_sorted_compact_utf8_without_numbers(doc: ReportDocument) -> None:
    data = canonical_bytes(doc)
    obj = json.loads(data)
    assert data == json.dumps(obj, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False).encode("utf-8")
    stack: list[Any] = [obj]
    while stack:
        value = stack.pop()
        assert not isinstance(value, int | float), value  # bools are ints: none either
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    assert document_hash(doc) == keccak256(data)


@settings(max_examples=10)
@given(reports())
def test_every_written_document_validates_against_the_schema(doc: ReportDocument) -> None:
    assert [e.message for e in validator().iter_errors(through_text(encode_report(doc)))] == []


def test_sample_keeps_chinese_text_as_utf8_and_its_figures_are_the_calculators() -> None:
    doc = sample_report()
    assert "示例集团/无锡工厂".encode() in canonical_bytes(doc)
    assert b"\\u" not in canonical_bytes(doc)
    result = compute(load_methodology("cn.machinery", 1), SAMPLE_PERIOD.start, SAMPLE_PERIOD.end,
                     activities(doc))
    assert [line.grams for line in doc.lines] == [e.grams for e in result.emissions]
    assert scope_sums(doc.lines) == doc.totals
    assert (doc.totals.scope1, doc.totals.scope2, doc.totals.total) == (
        result.scope1, result.scope2, result.total)
    assert activities(doc)[-1].evidence == doc.manual[0].evidence
    assert all(a.evidence == ZERO32 for a in activities(doc)[:-1])


def test_document_hash_changes_with_any_field() -> None:
    doc = sample_report()
    changed = [sample_report(supersedes=b"\x01" * 32), sample_report(created_at=1793500001),
               sample_report(description="天然气发票 no. 124"),
               replace(doc, totals=replace(doc.totals, total=doc.totals.total + 1))]
    hashes = {document_hash(d) for d in [doc, *changed]}
    assert len(hashes) == 5


# -- batches root ---------------------------------------------------------------------------------


def test_batch_leaf_is_double_keccak_of_the_abi_encoding() -> None:
    item = BatchRef(bytes.fromhex("3c44cdddb6a900fa2b585dd299e03d12fa4293bc"), 2**64 - 1,
                    bytes(range(32)))
    encoded = abi_encode(["address", "uint64", "bytes32"], [
        "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc", 2**64 - 1, bytes(range(32))])
    assert batch_leaf(item) == keccak256(keccak256(encoded))


def test_batches_root_is_zero_for_none_and_the_sorted_tree_root_otherwise() -> None:
    assert batches_root(()) == ZERO32
    items = [BatchRef(bytes([i]) * 20, i, keccak256(bytes([i]))) for i in (3, 1, 2)]
    assert batches_root(items) == MerkleTree(sorted(batch_leaf(i) for i in items),
                                             sort_leaves=False).root
    assert Batches.of(items + items[:1]).items == tuple(sorted(items, key=lambda b: b.batch_seq))
    assert Batches.of(items).root == batches_root(items)


# -- strict decoding: mutations of the sample -----------------------------------------------------


#: name -> (mutation, the JSON path the parser names, whether the schema also rejects it).
MUTATIONS: dict[str, tuple[Callable[[Doc], None], str, bool]] = {
    "wrong format": (setv("format", "trustmrv-report/2"), "$.format", True),
    "unknown top-level field": (setv("comment", "x"), "$", True),
    "missing createdAt": (delete("createdAt"), "$", True),
    "unknown line field": (setv("lines.0.note", "x"), "$.lines[0]", True),
    "unknown line kind": (setv("lines.0.kind", "estimated"), "$.lines[0].kind", True),
    "amount as a JSON number": (setv("lines.0.amount", 98765432), "$.lines[0].amount", True),
    "amount with a leading zero": (setv("lines.0.amount", "098765432"), "$.lines[0].amount",
                                   True),
    "negative grams": (setv("lines.2.grams", "-1"), "$.lines[2].grams", True),
    "amount beyond uint256": (setv("lines.0.amount", str(2**256)), "$.lines[0].amount", False),
    "scope 3": (setv("lines.0.scope", "3"), "$.lines[0].scope", True),
    "lowercase address": (setv("enterprise", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"),
                          "$.enterprise", False),
    "uppercase hex": (setv("supersedes", "0x" + "AB" * 32), "$.supersedes", True),
    "short hash": (setv("supersedes", "0x" + "ab" * 31), "$.supersedes", True),
    "meter not the path's id": (setv("lines.0.meter", "0x" + "11" * 32), "$.lines[0].meter",
                                False),
    "site id not the path's id": (setv("site.id", "0x" + "11" * 32), "$.site.id", False),
    "site path with three levels": (setv("site.path", "a/b/c"), "$.site.path", True),
    "empty period": (setv("period.end", "1790784000"), "$.period.end", False),
    "manual line before measured": (swap("lines", 1, 2), "$.lines", False),
    "measured lines out of order": (swap("lines", 0, 1), "$.lines", False),
    "measured line repeated": (duplicate("lines", 0), "$.lines", False),
    "plan out of order": (swap("plan", 0, 1), "$.plan", False),
    "batches out of order": (swap("batches.items", 0, 2), "$.batches.items", False),
    "batch repeated": (duplicate("batches.items", 1), "$.batches.items", False),
    "zero evidence": (setv("lines.2.evidence", "0x" + "00" * 32), "$.lines[2].evidence", False),
    "unknown media type": (setv("lines.2.mediaType", "image/gif"), "$.lines[2].mediaType", True),
    "control character in a description": (setv("lines.2.description", "a\x07b"),
                                           "$.lines[2].description", True),
    "description too long": (setv("lines.2.description", "x" * 1001),
                             "$.lines[2].description", True),
    "empty evidence name": (setv("lines.2.evidenceName", ""), "$.lines[2].evidenceName", True),
    "unknown quantity": (setv("lines.0.quantity", "energy:kWh"), "$.lines[0].quantity", True),
    "rate not in lowest terms": (setv("plan.0.maxRate", "2/2"), "$.plan[0].maxRate", False),
    "rate as a decimal": (setv("plan.0.maxRate", "1.5"), "$.plan[0].maxRate", True),
    "modulus 1": (setv("plan.0.counterModulus", "1"), "$.plan[0].counterModulus", False),
    "reading value as a number": (setv("lines.1.startReading.value", 1000),
                                  "$.lines[1].startReading.value", True),
    "methodology version 0": (setv("methodology.version", "0"), "$.methodology.version", True),
    "source with a space": (setv("lines.0.source", "electricity grid"), "$.lines[0].source",
                            True),
    "lines not an array": (setv("lines", {}), "$.lines", True),
    "too many lines": (lambda d: d["lines"].extend([d["lines"][2]] * LIMITS.lines),
                       "$.lines", True),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_mutated_document_is_refused_at_the_named_path(name: str) -> None:
    mutate, path, schema_rejects = MUTATIONS[name]
    doc = through_text(encode_report(sample_report()))
    assert validator().is_valid(doc)
    mutate(doc)
    with pytest.raises(FormatError) as caught:
        decode_report(doc)
    assert caught.value.where == path, str(caught.value)
    assert validator().is_valid(doc) is not schema_rejects


def test_loads_refuses_duplicate_keys_oversize_documents_and_long_strings() -> None:
    data = canonical_bytes(sample_report())
    with pytest.raises(FormatError, match="duplicate key 'createdAt'"):
        loads_report(data[:-1] + b',"createdAt":"1"}')
    with pytest.raises(FormatError, match="limit 16777216"):
        loads_report(data + b" " * LIMITS.document_bytes)
    with pytest.raises(FormatError, match="limit 1000"):
        loads_report(canonical_bytes(sample_report()).replace(
            b'"2026-10"', b'"' + b"x" * 1001 + b'"'))


def test_constructor_refuses_what_the_decoder_refuses() -> None:
    line = sample_report().manual[0]
    with pytest.raises(FormatError, match="evidence"):
        replace(line, evidence=ZERO32)
    with pytest.raises(FormatError, match="scope"):
        replace(line, scope=3)
    with pytest.raises(FormatError, match="amount"):
        replace(line, amount=-1)
    with pytest.raises(FormatError, match="lines"):
        replace(sample_report(), lines=tuple(reversed(sample_report().lines)))
    assert isinstance(line, ManualLine)
