"""``mrv bundle verify`` of a report bundle (``mrv_cli.flows``), offline: the plan's meters are
listed for comparison with the approved monitoring plan, each parameter override is a note with
the default beside it, what step ``completeness`` could not check is a WARNING line, and a
report that drops a meter the device's summaries name fails at ``completeness``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_bundle_support import (
    CHANGED_METER,
    PERIOD_END,
    PERIOD_START,
    ROLLOVER_METER,
    SITE,
    add_override,
    forge,
    offline_scenario,
    signed_summary,
    with_summaries,
)

from accounting_rules.reports.bundle import ReportBundle
from factories import TEST_KEY
from mrv_cli.flows import PLAN_PATHS_SHOWN, plan_text
from mrv_cli.main import main
from mrv_core.codec import format_hex
from mrv_core.hashing import keccak256

EVIDENCE = keccak256(b"%PDF-1.4 any file")


def _verify(bundle: ReportBundle, path: Path, capsys: pytest.CaptureFixture[str],
            *flags: str) -> tuple[int, str]:
    bundle.write(path)
    code = main(["bundle", "verify", *flags, str(path)])
    return code, capsys.readouterr().out


def test_an_override_is_a_note_with_its_default_and_no_summaries_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = forge(offline_scenario(TEST_KEY)[0],
                   add_override("fuel.natural_gas#OF", 0, EVIDENCE), rehash=True)
    code, out = _verify(bundle, tmp_path / "report.json", capsys)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith(f"OK    {tmp_path / 'report.json'}: report ")
    assert lines[1] == (f"      plan: 2 meter(s) under {SITE}/assembly/: line-1/main-meter, "
                        "line-2/press-meter")
    assert (f"      note: parameter override fuel.natural_gas#OF (line 4, manual id 8): "
            f"fuel.natural_gas OF = 0 1e-4, methodology default 9,900 1e-4 "
            f"(comb.natural_gas.OF); evidence keccak256 {format_hex(EVIDENCE)} "
            "(lab-report.pdf)") in lines
    (warning,) = [line for line in lines if "WARNING" in line]
    assert warning.startswith("      WARNING: completeness against the devices' signed "
                              "summaries not checked: the bundle carries no EmissionSummary")
    assert lines.index(warning) < len(lines) - 1  # the per-file lines, then the summary line

    code, out = _verify(bundle, tmp_path / "report.json", capsys, "--json")
    fields = json.loads(out)
    assert fields["plan"] == [ROLLOVER_METER, CHANGED_METER]
    assert fields["summarizedMeters"] == [] and len(fields["warnings"]) == 1
    assert fields["overrides"] == [{
        "line": 4, "id": 8, "source": "fuel.natural_gas#OF", "target": "fuel.natural_gas",
        "parameter": "OF", "unit": "1e-4", "value": 0,
        "default": {"key": "comb.natural_gas.OF", "value": 9900, "decimals": 0},
        "evidence": format_hex(EVIDENCE)}]


def test_a_report_dropping_a_summarized_meter_fails_at_completeness(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The device's monthly summary of a meter the report's plan and lines leave out (the
    report otherwise honest, as a builder would make it for the meter kept)."""
    honest, _, batches = offline_scenario(TEST_KEY)
    summary = signed_summary(TEST_KEY, honest.domain, f"{SITE}/assembly/line-3/paint-meter",
                             PERIOD_START, PERIOD_END, 1_000)
    code, out = _verify(with_summaries(honest, TEST_KEY, batches, [summary]),
                        tmp_path / "dropped.json", capsys)
    assert code == 1
    assert (f"FAIL  {tmp_path / 'dropped.json'}: step 'completeness' failed: "
            f"{SITE}/assembly/line-3/paint-meter: device ") in out
    assert "the report's plan of 2 meter(s) does not list it" in out


def test_theplan_text_is_one_line_however_many_meters() -> None:
    assert plan_text([]) == "0 meters"
    assert plan_text(["a/b/m1"]) == "1 meter(s) under a/b/: m1"
    assert plan_text(["a/b/x/m", "a/c/m"]) == "2 meter(s) under a/: b/x/m, c/m"
    assert plan_text(["a/m", "b/m"]) == "2 meter(s): a/m, b/m"
    many = [f"s/site/m{i:04d}" for i in range(PLAN_PATHS_SHOWN + 7)]
    text = plan_text(many)
    assert text.startswith(f"{PLAN_PATHS_SHOWN + 7} meter(s) under s/site/: m0000, m0001")
    assert text.endswith(f"m{PLAN_PATHS_SHOWN - 1:04d}, ... and 7 more (--json lists every "
                         "path)")


def test_an_evidence_name_with_a_bidi_control_prints_escaped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hostile review: a document the ledger's new text check never saw (older, or forged) put
    its evidence name's U+202E raw on the verifier's terminal, reordering the line."""
    def rename(doc: dict[str, object]) -> None:
        for line in doc["report"]["lines"]:  # type: ignore[index]
            if line.get("evidenceName") == "lab-report.pdf":
                line["evidenceName"] = "invoice\u202efdp.exe"

    bundle = forge(forge(offline_scenario(TEST_KEY)[0],
                         add_override("fuel.natural_gas#OF", 0, EVIDENCE), rehash=True),
                   rename, rehash=True)
    code, out = _verify(bundle, tmp_path / "report.json", capsys)
    assert code == 0, out
    assert "\u202e" not in out
    assert "evidence keccak256 " + format_hex(EVIDENCE) + " ('invoice\\u202efdp.exe')" in out
