"""docs/schemas/trustmrv-report-bundle-1.schema.json is what scripts/report_bundle_schema.py
writes, accepts the bundles the code writes, and rejects what the parser rejects."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from doc_mutations import Doc, delete, setv
from jsonschema import Draft202012Validator
from report_bundle_support import offline_scenario

from accounting_rules.reports.bundle import ReportBundle
from factories import TEST_KEY, load_script
from mrv_core.bundle import AnchorRef
from mrv_core.errors import FormatError

SCHEMA = Path(__file__).resolve().parents[4] / "docs" / "schemas" / \
    "trustmrv-report-bundle-1.schema.json"


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@pytest.fixture(scope="module")
def bundle() -> ReportBundle:
    return offline_scenario(TEST_KEY)[0]


def test_the_committed_schema_is_what_the_script_writes() -> None:
    assert load_script("report_bundle_schema").main(["--check"]) == 0


def test_bundles_the_code_writes_validate(validator: Draft202012Validator,
                                         bundle: ReportBundle) -> None:
    anchor = AnchorRef(bundle.domain.chain_id, bundle.domain.verifying_contract, b"\x22" * 20,
                       b"\x33" * 32, 7)
    anchored = replace(bundle, batches=(replace(bundle.batches[0], anchor=anchor),
                                        *bundle.batches[1:]))
    for document in (bundle, anchored):
        errors = [e.message for e in validator.iter_errors(json.loads(document.dumps()))]
        assert errors == []


@pytest.mark.parametrize("mutate", [
    setv("extra", True),
    delete("reportHash"),
    setv("format", "trustmrv-report-bundle/2"),
    setv("summaries", []),
    setv("batches.0.proof", {"type": "single", "path": []}),
    setv("batches.0.unknown", 1),
    setv("batches.0.readings.0.seq", "01"),
    setv("batches.0.batch.root", "0x12"),
    setv("report.totals.total", "1.5"),
    delete("report.lines.0.amount"),
], ids=lambda m: getattr(m, "__qualname__", "mutation"))
def test_schema_and_parser_both_reject(validator: Draft202012Validator, bundle: ReportBundle,
                                       mutate: Any) -> None:
    doc: Doc = json.loads(bundle.dumps())
    mutate(doc)
    assert not validator.is_valid(doc)
    with pytest.raises(FormatError):
        ReportBundle.from_json(doc)
