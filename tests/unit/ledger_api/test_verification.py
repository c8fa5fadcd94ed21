"""A bundle's verdict step by step (ledger_api.verification): passed up to the failure, the
failed step with its detail, the rest not run; without a chain never valid."""

from __future__ import annotations

import json

from factories import TEST_DOMAIN, sample_batch
from ledger_api.verification import ALL_STEPS, bundle_verdict
from mrv_core.bundle import bundle_for_readings


def statuses(document: bytes) -> dict[str, str]:
    verdict = bundle_verdict(document, None)
    assert not verdict.valid
    assert [s.step for s in verdict.steps] == list(ALL_STEPS)
    return {s.step: s.status for s in verdict.steps}


def test_an_intact_bundle_passes_every_offline_step_and_fails_chain_without_a_chain() -> None:
    document = bundle_for_readings(sample_batch(4), TEST_DOMAIN, [1]).dumps()
    result = statuses(document)
    offline = list(ALL_STEPS)[:list(ALL_STEPS).index("chain")]
    assert all(result[step] == "passed" for step in offline)
    assert result["chain"] == "failed"
    assert {result[s] for s in ("anchor", "device", "inclusion")} == {"not_run"}


def test_a_changed_value_fails_at_the_signature_and_nothing_after_runs() -> None:
    doc = json.loads(bundle_for_readings(sample_batch(4), TEST_DOMAIN, [2]).dumps())
    doc["readings"][0]["value"] = str(int(doc["readings"][0]["value"]) + 1)
    result = statuses(json.dumps(doc).encode())
    assert result["signature"] == "failed" and result["meter"] == "passed"
    assert result["proof"] == result["root"] == result["chain"] == "not_run"


def test_garbage_fails_the_format_step() -> None:
    verdict = bundle_verdict(b"\xff{not json", None)
    assert verdict.steps[0].step == "format" and verdict.steps[0].status == "failed"
    assert all(s.status == "not_run" for s in verdict.steps[1:])
