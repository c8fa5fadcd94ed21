"""The Python report hash equals the ReportRegistry's ``hashReport`` (by ``eth_call`` on the
embedded chain), for the sample document and for random Reports over every field's range; the
type hash and the EIP-712 digest agree too."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from report_chain import ReportChain
from report_factories import sample_report

from accounting_rules.reports.struct import (
    REPORT_TYPEHASH,
    Report,
    report_digest,
    report_hash,
    report_of,
)
from mrv_core.codec import parse_address
from mrv_core.eip712 import Domain

words = st.binary(min_size=32, max_size=32)
addresses = st.binary(min_size=20, max_size=20)
u64 = st.integers(0, 2**64 - 1)
u256 = st.integers(0, 2**256 - 1)
reports = st.builds(Report, addresses, words, u64, u64, words, addresses, u256, u256, u256,
                    words, words, words)


def test_sample_report_hash_and_digest_equal_the_contracts(report_chain: ReportChain) -> None:
    functions = report_chain.system.reports.functions
    report = report_of(sample_report())
    assert functions.REPORT_TYPEHASH().call() == REPORT_TYPEHASH
    on_chain = functions.hashReport(report.as_abi()).call()
    assert on_chain == report_hash(report)
    domain = Domain(report_chain.chain.chain_id,
                    parse_address(report_chain.system.reports.address))
    assert functions.reportDigest(on_chain).call() == report_digest(on_chain, domain)


@settings(max_examples=15, deadline=None)
@given(reports)
def test_random_report_hash_equals_the_contracts(report_chain: ReportChain,
                                                 report: Report) -> None:
    assert report_chain.system.reports.functions.hashReport(report.as_abi()).call() == \
        report_hash(report)
