"""Property: for any counter history (wraps of a 16-bit register, a signed meter change, a missed
poll, anywhere), the report bundle of its sparse readings passes every offline step, and its
amount is the energy of the full history (``report_bundle_support.measured_line`` asserts it);
the same bundle with any one proven reading's value changed fails."""

from __future__ import annotations

import json
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st
from report_bundle_support import (
    PERIOD_END,
    PERIOD_START,
    ROLLOVER_METER,
    MeterHistory,
    Reference,
    close_batches,
    counter_reading,
    report_bundle,
    report_document,
)

from accounting_rules.reports.bundle import ReportBundle
from accounting_rules.reports.document import ChainRef, PlanLine
from accounting_rules.reports.verify import verify_report_bundle
from factories import TEST_KEY
from mrv_core.eip712 import Domain
from mrv_core.errors import VerificationError
from mrv_core.hashing import keccak256
from mrv_core.reading import meter_id
from mrv_core.records import Gap, MeterChange, note_hash

MODULUS = 2**16
STEP_S = 3 * 86_400
CHAIN = ChainRef(31337, *(keccak256(n)[:20] for n in (b"reports", b"anchors", b"methods")))
DOMAIN = Domain(CHAIN.chain_id, CHAIN.anchor_registry)
TIMES = list(range(PERIOD_START - 2 * STEP_S, PERIOD_END + 2 * STEP_S + 1, STEP_S))


@st.composite
def histories(draw: st.DrawFn) -> MeterHistory:
    """A 16-bit Wh register read every three days: increases of up to a quarter of its range
    (so it wraps now and then), perhaps a meter change and a missed poll at drawn slots."""
    plan = PlanLine(ROLLOVER_METER, "electricity.grid", "energy.active.import:Wh", MODULUS,
                    Fraction(MODULUS, STEP_S))
    history = MeterHistory(plan)
    slots = range(2, len(TIMES) - 2)
    change_at = draw(st.none() | st.sampled_from(slots))
    gap_at = draw(st.none() | st.sampled_from([s for s in slots if s != change_at]))
    meter = meter_id(ROLLOVER_METER)
    value, seq = draw(st.integers(0, MODULUS - 1)), 0
    for slot, t in enumerate(TIMES):
        step = draw(st.integers(0, MODULUS // 4))
        if slot == gap_at:
            history.records.append(TEST_KEY.sign_record(Gap(
                device=TEST_KEY.address, meter=meter, quantity=plan.quantity, next_seq=seq,
                from_timestamp=t, to_timestamp=t, failed_polls=1, error_class="timeout",
                salt=keccak256(b"gap")), DOMAIN, ROLLOVER_METER))
            value = (value + step) % MODULUS
            continue
        if slot == change_at:
            old_final = (value + step) % MODULUS
            new_initial = draw(st.integers(0, MODULUS - 1))
            history.records.append(TEST_KEY.sign_record(MeterChange(
                device=TEST_KEY.address, meter=meter, quantity=plan.quantity, next_seq=seq,
                timestamp=t - 1, old_final=old_final, new_initial=new_initial,
                note=note_hash(""), salt=keccak256(b"change")), DOMAIN, ROLLOVER_METER, ""))
            value, step = new_initial, 0
        value = (value + step) % MODULUS
        history.readings.append(counter_reading(TEST_KEY, DOMAIN, ROLLOVER_METER, seq, t, value))
        seq += 1
    return history


def _bundle(history: MeterHistory) -> ReportBundle:
    batches = close_batches(TEST_KEY, DOMAIN, [history])
    ref = Reference(keccak256(b"enterprise")[:20], CHAIN, keccak256(b"methodology")[:20])
    doc = report_document(ref, TEST_KEY.address, [history], batches)
    return report_bundle(doc, DOMAIN, [history], batches, [None] * len(batches))


@settings(max_examples=40, deadline=None)
@given(history=histories(), pick=st.integers(0, 10**6))
def test_the_sparse_bundle_of_any_history_verifies_and_a_changed_value_does_not(
        history: MeterHistory, pick: int) -> None:
    bundle = _bundle(history)
    verify_report_bundle(bundle)
    doc = json.loads(bundle.dumps())
    proven = [(b, r) for b, entry in enumerate(doc["batches"])
              for r in range(len(entry["readings"]))]
    b, r = proven[pick % len(proven)]
    reading = doc["batches"][b]["readings"][r]
    reading["value"] = str((int(reading["value"]) + 1) % MODULUS)
    try:
        verify_report_bundle(ReportBundle.from_json(doc))
    except VerificationError as exc:
        assert exc.step == "signature"
    else:
        raise AssertionError("a changed reading value passed verification")
