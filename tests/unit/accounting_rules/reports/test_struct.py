"""The on-chain Report of a document and its struct hash, computed with an independent ABI
encoder (eth_abi); the equality with the contract's ``hashReport`` is pinned by
tests/integration/accounting/reports/test_report_struct_chain.py."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_abi.abi import encode as abi_encode
from report_factories import sample_report

from accounting_rules.codes import ZERO32
from accounting_rules.reports import document_hash
from accounting_rules.reports.struct import REPORT_TYPE, Report, report_hash, report_of
from mrv_core.errors import FormatError
from mrv_core.hashing import keccak256

TYPES = ["bytes32", "address", "bytes32", "uint64", "uint64", "bytes32", "address", "uint256",
         "uint256", "uint256", "bytes32", "bytes32", "bytes32"]


def test_report_of_a_document_takes_its_fields_as_the_spec_says() -> None:
    doc = sample_report()
    report = report_of(doc)
    assert doc.site is not None
    assert report.site == doc.site.id
    assert report.methodology_id == b"cn.machinery".ljust(32, b"\0")
    assert (report.scope1, report.scope2, report.total) == (
        doc.totals.scope1, doc.totals.scope2, doc.totals.total)
    assert (report.batches, report.document, report.supersedes) == (
        doc.batches.root, document_hash(doc), ZERO32)
    assert report_of(replace(doc, site=None)).site == ZERO32


def test_report_hash_is_keccak_of_typehash_and_abi_encoding() -> None:
    report = report_of(sample_report())
    values = list(report.as_abi())
    expected = keccak256(abi_encode(TYPES, [keccak256(REPORT_TYPE.encode()), *values]))
    assert report_hash(report) == expected == report_hash(sample_report())
    assert Report.from_abi(values) == report


def test_report_refuses_out_of_range_fields() -> None:
    report = report_of(sample_report())
    with pytest.raises(FormatError, match="period_end"):
        replace(report, period_end=2**64)
    with pytest.raises(FormatError, match="site"):
        replace(report, site=b"\0" * 31)
