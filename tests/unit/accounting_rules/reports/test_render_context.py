"""The render context's JSON form (``trustmrv-report-context/1``): it round-trips, and it is
read as strictly as the report document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from render_support import sample_context
from report_factories import addresses, texts

from accounting_rules.reports.render_context import (
    AnchorRef,
    AttestationRef,
    RenderContext,
    TxRef,
    VerifyHints,
    decode_context,
    encode_context,
    loads_context,
)
from accounting_rules.reports.statement import AttestationStatement, Verdict, statement_hash
from mrv_core.codec import UINT64_MAX
from mrv_core.errors import FormatError

hashes = st.binary(min_size=32, max_size=32)
txs = st.builds(TxRef, st.none() | hashes, st.integers(0, UINT64_MAX))
statements = st.builds(AttestationStatement, hashes, addresses, st.just(Verdict.REJECTED),
                       st.just(("DATA_GAP", "MATERIAL_MISSTATEMENT")), texts,
                       st.integers(0, UINT64_MAX))


@st.composite
def attestations(draw: st.DrawFn) -> AttestationRef:
    """A registry record with its statement, or a bare one (statement not known)."""
    if draw(st.booleans()):
        s = draw(statements)
        return AttestationRef(s.regulator, s.verdict, draw(st.integers(0, UINT64_MAX)),
                              statement_hash(s), s, draw(st.none() | txs))
    return AttestationRef(draw(addresses), draw(st.sampled_from(list(Verdict))),
                          draw(st.integers(0, UINT64_MAX)), draw(hashes), None,
                          draw(st.none() | txs))


@st.composite
def contexts(draw: st.DrawFn) -> RenderContext:
    anchors = {(a.device, a.batch_seq): a for a in draw(st.lists(st.builds(
        AnchorRef, addresses, st.integers(0, UINT64_MAX), txs), max_size=4))}
    return RenderContext(
        submission=draw(st.none() | txs), superseded_by=draw(st.none() | hashes),
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
    (lambda o: o.update(reportHash="0x" + "00" * 32), "unknown field(s): reportHash"),
    (lambda o: o["submission"].update(block=12), "$.submission.block"),
    (lambda o: o["submission"].pop("txHash"), "missing field(s): txHash"),
    (lambda o: o["submission"].update(block="012"), "$.submission.block"),
    (lambda o: o.update(supersededBy="0x" + "AB" * 32), "$.supersededBy"),
    (lambda o: o["anchors"][0].update(device=o["anchors"][0]["device"].lower()),
     "$.anchors[0].device"),
    (lambda o: o["attestations"][0]["statement"].update(avr="satisfactory"),
     "$.attestations[0].statement.avr"),
    (lambda o: o["attestations"][0]["statement"].update(verdict="None"),
     "$.attestations[0].statement.verdict"),
    (lambda o: o["attestations"][0].update(verdict="accepted"), "$.attestations[0].verdict"),
    (lambda o: o["attestations"][0]["statement"].update(comments="changed"),
     "$.attestations[0].statement: hashes to"),
    (lambda o: o["attestations"][0].update(statementHash="0x" + "11" * 32),
     "the registry holds 0x1111"),
    (lambda o: (o["attestations"][0]["statement"].update(verdict="Accepted", avr="satisfactory",
                                                         reasons=[]),
                o["attestations"][0].update(statementHash="0x" + "00" * 32)),
     "$.attestations[0].statement: hashes to"),
    (lambda o: o["attestations"][0]["statement"].update(reasons=["NOT_A_CODE"]),
     "$.attestations[0].statement.reasons[0]"),
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
        loads_context(b'{"format": "trustmrv-report-context/1", "supersededBy": 1.5}')


def test_a_statement_of_another_regulator_or_verdict_than_the_registry_holds_is_refused(
        ) -> None:
    s = AttestationStatement(bytes(32), bytes(20), Verdict.ACCEPTED, (), "", 0)
    with pytest.raises(FormatError, match="the registry holds"):
        AttestationRef(bytes.fromhex("11" * 20), Verdict.ACCEPTED, 0, statement_hash(s), s, None)
    with pytest.raises(FormatError, match=r"Accepted, the registry holds .* Rejected"):
        AttestationRef(bytes(20), Verdict.REJECTED, 0, statement_hash(s), s, None)
