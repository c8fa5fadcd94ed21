"""docs/gas.md cannot go stale: it must be byte for byte what ``scripts/gas_report.py`` measures
today from real transactions on the embedded chain.

After a deliberate change (contracts, compiler settings, the scenario):
``.venv/bin/python scripts/gas_report.py``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from factories import load_script

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "gas.md"
SCRIPT = ROOT / "scripts" / "gas_report.py"
REGENERATE = "run: .venv/bin/python scripts/gas_report.py"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script("gas_report")


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_committed_report_is_current() -> None:
    """The script's own --check, in a process of its own: a fresh scenario on a new chain."""
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"{result.stderr}{result.stdout}\n{REGENERATE}"
    assert "docs/gas.md is current" in result.stdout


def test_check_fails_on_a_stale_or_missing_report(script: ModuleType, doc: str,
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(script, "generate", lambda: doc)  # no chain: main's logic only
    stale = tmp_path / "gas.md"
    stale.write_text(doc.replace("| 1 | 1 | 56,106 |", "| 1 | 1 | 55,000 |"), encoding="utf-8")
    assert stale.read_text(encoding="utf-8") != doc
    assert script.main(["--check", "--out", str(stale)]) == 1
    err = capsys.readouterr().err
    assert "is stale: 2 line(s) differ" in err
    assert "-| 1 | 1 | 55,000 |" in err and "+| 1 | 1 | 56,106 |" in err
    assert "scripts/gas_report.py" in err

    assert script.main(["--check", "--out", str(tmp_path / "missing.md")]) == 1
    assert "does not exist" in capsys.readouterr().err

    assert script.main(["--out", str(stale)]) == 0  # regenerate
    assert stale.read_text(encoding="utf-8") == doc
    assert script.main(["--check", "--out", str(stale)]) == 0


def test_the_report_states_budget_settings_and_placeholder(script: ModuleType, doc: str) -> None:
    assert f"at most {script.ANCHOR_BUDGET:,} gas" in doc
    assert re.search(r"\| margin \(budget - largest\) \| [\d,]+ \([\d.]+ % of the budget\) \|",
                     doc)
    assert "solc 0.8.30+commit.73712a01, evmVersion paris, optimizer enabled with 200 runs" in doc
    assert "PLACEHOLDER factor table" in doc
    assert all(citation.startswith("PLACEHOLDER")
               for *_, citation in script.PLACEHOLDER_FACTORS)


def test_the_report_holds_nothing_run_specific(doc: str) -> None:
    """No addresses, transaction hashes, dates or times: only what is the same in every run."""
    assert re.search(r"0x[0-9a-fA-F]{8,}", doc) is None
    assert re.search(r"\b(19|20)\d\d-\d\d-\d\d\b|\b\d\d:\d\d\b", doc) is None
