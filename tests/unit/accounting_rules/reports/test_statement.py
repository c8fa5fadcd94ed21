"""The attestation statement ``trustmrv-attestation/1``: round trips, the fixed verdict -> EU AVR
mapping, the closed list of reason codes, canonical bytes and hash, strict decoding."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from doc_mutations import Doc, delete, setv
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from accounting_rules.reports.statement import (
    AVR,
    REASON_CODES,
    AttestationStatement,
    Verdict,
    decode_statement,
    encode_statement,
    loads_statement,
    statement_bytes,
    statement_hash,
)
from mrv_core.errors import FormatError
from mrv_core.hashing import keccak256

REGULATOR = bytes.fromhex("15d34aaf54267db7d7c367839aaf71a00a2c6a65")
SAMPLE = AttestationStatement(b"\x42" * 32, REGULATOR, Verdict.QUALIFIED,
                              ("DATA_GAP", "IMPROVEMENT_RECOMMENDED"),
                              "两处数据缺口已按计数器差值补齐。\nGaps bridged.", 1794000000)

statements = st.builds(
    AttestationStatement, st.binary(min_size=32, max_size=32), st.binary(min_size=20, max_size=20),
    st.just(Verdict.ACCEPTED),
    st.lists(st.sampled_from(sorted(REASON_CODES)), unique=True).map(lambda r: tuple(sorted(r))),
    st.text(st.sampled_from("ab 中\n"), max_size=30), st.integers(0, 2**64 - 1),
) | st.builds(
    AttestationStatement, st.binary(min_size=32, max_size=32), st.binary(min_size=20, max_size=20),
    st.sampled_from([Verdict.QUALIFIED, Verdict.REJECTED]),
    st.lists(st.sampled_from(sorted(REASON_CODES)), unique=True, min_size=1).map(
        lambda r: tuple(sorted(r))),
    st.text(st.sampled_from("ab 中\n"), max_size=30), st.integers(0, 2**64 - 1))


@settings(max_examples=30)
@given(statements)
def test_statement_round_trips_and_hashes_its_canonical_bytes(
        statement: AttestationStatement) -> None:
    obj = json.loads(json.dumps(encode_statement(statement)))
    assert decode_statement(obj) == statement
    assert encode_statement(decode_statement(obj)) == obj
    assert loads_statement(statement_bytes(statement)) == statement
    assert statement_hash(statement) == keccak256(statement_bytes(statement))
    assert json.loads(statement_bytes(statement))["avr"] == AVR[statement.verdict]


def test_verdicts_are_the_registrys_and_map_to_the_avr_opinions() -> None:
    assert [(v.label, int(v)) for v in Verdict] == [("Accepted", 1), ("Rejected", 2),
                                                    ("Qualified", 3)]
    assert {v.label: AVR[v] for v in Verdict} == {
        "Accepted": "satisfactory", "Qualified": "satisfactory with comments",
        "Rejected": "not satisfactory"}
    assert Verdict.parse("qualified") is Verdict.QUALIFIED
    with pytest.raises(FormatError, match="Accepted, Qualified or Rejected"):
        Verdict.parse("None")


def test_sample_bytes_are_sorted_compact_and_keep_chinese_as_utf8() -> None:
    data = statement_bytes(SAMPLE)
    assert data.startswith(b'{"avr":"satisfactory with comments","comments":"\xe4\xb8\xa4')
    assert b'"format":"trustmrv-attestation/1"' in data
    assert b'"reasons":["DATA_GAP","IMPROVEMENT_RECOMMENDED"]' in data


MUTATIONS: dict[str, tuple[object, str]] = {
    "avr not the verdict's": (setv("avr", "satisfactory"), "$.avr"),
    "unknown avr": (setv("avr", "fine"), "$.avr"),
    "verdict None": (setv("verdict", "None"), "$.verdict"),
    "verdict lowercase": (setv("verdict", "qualified"), "$.verdict"),
    "reason outside the list": (setv("reasons", ["DATA_GAP", "LOOKS_ODD"]), "$.reasons[1]"),
    "reasons unsorted": (setv("reasons", ["IMPROVEMENT_RECOMMENDED", "DATA_GAP"]), "$.reasons"),
    "reason repeated": (setv("reasons", ["DATA_GAP", "DATA_GAP"]), "$.reasons"),
    "qualified without reasons": (setv("reasons", []), "$.reasons"),
    "report 31 bytes": (setv("report", "0x" + "42" * 31), "$.report"),
    "missing comments": (delete("comments"), "$"),
    "unknown field": (setv("signature", "0x"), "$"),
    "comments too long": (setv("comments", "x" * 4001), "$.comments"),
    "createdAt as a number": (setv("createdAt", 1794000000), "$.createdAt"),
    "wrong format": (setv("format", "trustmrv-attestation/2"), "$.format"),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_mutated_statement_is_refused_at_the_named_path(name: str) -> None:
    mutate, path = MUTATIONS[name]
    doc: Doc = json.loads(statement_bytes(SAMPLE))
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(FormatError) as caught:
        decode_statement(doc)
    assert caught.value.where == path, str(caught.value)


def test_constructor_refuses_unsorted_reasons_and_a_rejection_without_one() -> None:
    with pytest.raises(FormatError, match="sorted and unique"):
        replace(SAMPLE, reasons=("IMPROVEMENT_RECOMMENDED", "DATA_GAP"))
    with pytest.raises(FormatError, match="Rejected verdict gives at least one reason"):
        replace(SAMPLE, verdict=Verdict.REJECTED, reasons=())
    assert replace(SAMPLE, verdict=Verdict.ACCEPTED, reasons=()).avr == "satisfactory"


SCHEMA = Path(__file__).resolve().parents[4] / "docs" / "schemas" / \
    "trustmrv-attestation-1.schema.json"


@settings(max_examples=20)
@given(statements)
def test_every_written_statement_validates_against_the_schema(
        statement: AttestationStatement) -> None:
    validator = Draft202012Validator(json.loads(SCHEMA.read_text("utf-8")))
    assert list(validator.iter_errors(json.loads(statement_bytes(statement)))) == []


@pytest.mark.parametrize("name", [n for n in MUTATIONS if n not in (
    "reasons unsorted", "reason repeated")])
def test_the_schema_refuses_the_mutations_the_parser_refuses(name: str) -> None:
    """(Order and uniqueness of reasons are the parser's alone, as the schema's description
    says.)"""
    schema = json.loads(SCHEMA.read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    doc: Doc = json.loads(statement_bytes(SAMPLE))
    assert Draft202012Validator(schema).is_valid(doc)
    MUTATIONS[name][0](doc)  # type: ignore[operator]
    assert not Draft202012Validator(schema).is_valid(doc)
