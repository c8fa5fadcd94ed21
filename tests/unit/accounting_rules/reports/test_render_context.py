"""The render context's JSON form (``trustmrv-report-context/1``): it round-trips, and it is
read as strictly as the report document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from render_support import sample_context
from report_factories import addresses

from accounting_rules.reports.render_context import (
    AVR_KINDS,
    AnchorRef,
    AttestationRef,
    RenderContext,
    TxRef,
    VerifyHints,
    decode_context,
    encode_context,
    loads_context,
)
from mrv_core.codec import UINT64_MAX
from mrv_core.errors import FormatError

hashes = st.binary(min_size=32, max_size=32)
txs = st.builds(TxRef, hashes, st.integers(0, UINT64_MAX))
texts = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn")), max_size=30)


@st.composite
def attestations(draw: st.DrawFn) -> AttestationRef:
    verdict = draw(st.sampled_from(sorted(AVR_KINDS)))
    return AttestationRef(draw(addresses), verdict, AVR_KINDS[verdict], draw(hashes),
                          tuple(draw(st.lists(st.sampled_from(["PLAN_OK", "GAPS", "X.1"]),
                                              max_size=3))),
                          draw(texts), draw(st.none() | txs))


@st.composite
def contexts(draw: st.DrawFn) -> RenderContext:
    anchors = {(a.device, a.batch_seq): a for a in draw(st.lists(st.builds(
        AnchorRef, addresses, st.integers(0, UINT64_MAX), txs), max_size=4))}
    return RenderContext(
        report_hash=draw(st.none() | hashes), submission=draw(st.none() | txs),
        superseded_by=draw(st.none() | hashes),
        attestations=tuple(draw(st.lists(attestations(), max_size=3))),
        anchors=tuple(anchors.values()),
        verify=draw(st.none() | st.builds(VerifyHints, texts.filter(bool),
                                          texts.filter(bool), texts.filter(bool))))


@settings(max_examples=40)
@given(contexts())
def test_a_context_round_trips_through_its_json(context: RenderContext) -> None:
    encoded = encode_context(context)
    assert decode_context(encoded) == context
    data = json.dumps(encoded, ensure_ascii=False).encode()
    assert loads_context(data) == context


def _sample() -> dict[str, Any]:
    return encode_context(sample_context())


@pytest.mark.parametrize(("change", "where"), [
    (lambda o: o.update(format="trustmrv-report-context/2"), "$.format"),
    (lambda o: o.update(extra="x"), "unknown field(s): extra"),
    (lambda o: o.pop("anchors"), "missing field(s): anchors"),
    (lambda o: o["submission"].update(block=12), "$.submission.block"),
    (lambda o: o["submission"].update(block="012"), "$.submission.block"),
    (lambda o: o.update(reportHash="0x" + "AB" * 32), "$.reportHash"),
    (lambda o: o["anchors"][0].update(device=o["anchors"][0]["device"].lower()),
     "$.anchors[0].device"),
    (lambda o: o["attestations"][0].update(avr="not satisfactory"), "$.attestations[0]"),
    (lambda o: o["attestations"][0].update(verdict="None"), "$.attestations[0].verdict"),
    (lambda o: o["anchors"].append(dict(o["anchors"][0])), "listed twice"),
])
def test_a_malformed_context_is_refused_at_its_path(change: Any, where: str) -> None:
    obj = _sample()
    change(obj)
    with pytest.raises(FormatError) as caught:
        decode_context(obj)
    assert where in str(caught.value)


def test_a_context_file_with_duplicate_keys_or_numbers_is_refused() -> None:
    with pytest.raises(FormatError, match="duplicate"):
        loads_context(b'{"format": "a", "format": "b"}')
    with pytest.raises(FormatError):
        loads_context(b'{"format": "trustmrv-report-context/1", "reportHash": 1.5}')
