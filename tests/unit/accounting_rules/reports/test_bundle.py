"""The report bundle format ``trustmrv-report-bundle/1``: round trip, strict decoding with the
JSON path named, limits, the multiproof order, and garbage that never raises anything but a
FormatError (which names where)."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest
from doc_mutations import Doc, delete, setv, swap
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from report_bundle_support import offline_scenario

from accounting_rules.reports.bundle import FORMAT, LIMITS, ReportBundle, is_report_bundle
from factories import TEST_KEY
from mrv_core.errors import FormatError


@pytest.fixture(scope="module")
def bundle() -> ReportBundle:
    return offline_scenario(TEST_KEY)[0]


@pytest.fixture
def doc(bundle: ReportBundle) -> Doc:
    return json.loads(bundle.dumps())


def test_a_bundle_round_trips_through_its_bytes(bundle: ReportBundle) -> None:
    again = ReportBundle.loads(bundle.dumps())
    assert again == bundle
    assert again.dumps() == bundle.dumps()
    assert is_report_bundle(json.loads(bundle.dumps()))


def test_each_batch_lists_its_items_in_ascending_leaf_order(bundle: ReportBundle) -> None:
    from mrv_core.eip712 import leaf_hash
    from mrv_core.records import record_leaf

    for batch in bundle.batches:
        readings = [leaf_hash(r.reading) for r in batch.readings]
        records = [record_leaf(r.record) for r in batch.records]
        assert readings == sorted(readings) and records == sorted(records)
    assert [b.key for b in bundle.batches] == sorted(b.key for b in bundle.batches)


def test_the_scenario_proves_rollover_change_and_gap(bundle: ReportBundle) -> None:
    kinds = {type(item.record).__name__ for b in bundle.batches for item in b.records}
    assert kinds == {"Gap", "MeterChange"}
    lines = bundle.report.measured
    assert sorted((m.rollovers, m.meter_changes, m.gap_records) for m in lines) == [
        (0, 1, 1), (1, 0, 0)]


@pytest.mark.parametrize(("mutate", "where"), [
    (setv("format", "trustmrv-report-bundle/2"), "$.format"),
    (setv("extra", 1), "$"),
    (delete("domain"), "$"),
    (setv("reportHash", "0x" + "ab" * 31), "$.reportHash"),
    (setv("report.totals.total", "01"), "$.report.totals.total"),
    (setv("batches.0.batch.leafCount", "x"), "$.batches[0].batch.leafCount"),
    (delete("batches.0.batch.signature"), "$.batches[0].batch"),
    (setv("batches.0.readings.0.seq", "-1"), "$.batches[0].readings[0].seq"),
    (setv("batches.0.proof", {"type": "single", "path": []}), "$.batches[0].proof"),
    (setv("batches.0.proof.type", "merkle"), "$.batches[0].proof.type"),
    (setv("batches.0.anchor", {"chainId": "1"}), "$.batches[0].anchor"),
    (setv("batches.0.readings", []), "$.batches[0]"),
    (swap("batches", 0, 1), "$.batches[1]"),
    (setv("summaries", []), "$.summaries"),
])
def test_a_malformed_bundle_is_refused_naming_the_place(doc: Doc, mutate: Any,
                                                         where: str) -> None:
    if where == "$.batches[0]" and doc["batches"][0]["records"]:
        doc["batches"][0]["records"] = []
    mutate(doc)
    with pytest.raises(FormatError) as raised:
        ReportBundle.from_json(doc)
    assert raised.value.where.startswith(where), raised.value


def test_a_batch_may_carry_a_proof_only_as_a_multiproof(doc: Doc) -> None:
    one = next(b for b in doc["batches"] if len(b["readings"]) + len(b["records"]) == 1)
    one["proof"] = {"type": "single", "path": []}
    with pytest.raises(FormatError, match="one multiproof"):
        ReportBundle.from_json(doc)


def test_a_document_over_the_byte_limit_is_refused_before_parsing() -> None:
    data = b'{"format": "' + FORMAT.encode() + b'", "pad": "' + b"x" * LIMITS.bundle_bytes + b'"}'
    with pytest.raises(FormatError, match="limit"):
        ReportBundle.loads(data)


def test_duplicate_keys_are_refused(bundle: ReportBundle) -> None:
    data = bundle.dumps().replace(b'{"format":', b'{"format":"x","format":', 1)
    with pytest.raises(FormatError, match="duplicate"):
        ReportBundle.loads(data)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8)
                     | st.sampled_from(["0x", "0x" + "00" * 32, "1", "-1", "01", "true"]),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), value=_JSON)
def test_garbage_anywhere_raises_only_format_errors(bundle: ReportBundle, data: st.DataObject,
                                                    value: Any) -> None:
    doc = json.loads(bundle.dumps())
    paths = _paths(doc)
    path = data.draw(st.sampled_from(paths[1:]))
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with contextlib.suppress(FormatError):  # what garbage may raise, naming where
        ReportBundle.from_json(doc)


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=200))
@example(raw=b'{"format":"trustmrv-report-bundle/1"}')
@example(raw=b"[" * 100)
@example(raw=b'{"format":"trustmrv-report-bundle/1","batches":1e999}')
def test_random_bytes_raise_only_format_errors(raw: bytes) -> None:
    with pytest.raises(FormatError):
        ReportBundle.loads(raw)


def test_a_copy_with_every_batch_moved_is_refused(doc: Doc) -> None:
    twice = copy.deepcopy(doc)
    twice["batches"].append(twice["batches"][0])
    with pytest.raises(FormatError, match="sorted"):
        ReportBundle.from_json(twice)
