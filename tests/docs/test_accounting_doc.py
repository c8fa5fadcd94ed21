"""docs/accounting.md cannot go stale: its section 3.2 (every methodology, source and factor with
its value, unit, citation and verification) is generated from the shipped data files.

After a deliberate change to a data file:
``.venv/bin/python scripts/accounting_doc.py --update docs/accounting.md``.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from accounting_rules import load_methodology, methodologies
from factories import load_script

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "accounting.md"
SCRIPT = ROOT / "scripts" / "accounting_doc.py"
REGENERATE = "run: .venv/bin/python scripts/accounting_doc.py --update docs/accounting.md"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script("accounting_doc")


def test_the_generated_section_is_current(script: ModuleType) -> None:
    document = DOC.read_text(encoding="utf-8")
    assert script.splice(document, script.render()) == document, REGENERATE
    assert script.main(["--check", str(DOC)]) == 0


def test_every_methodology_and_factor_is_listed() -> None:
    document = DOC.read_text(encoding="utf-8")
    for mid, version in methodologies():
        m = load_methodology(mid, version)
        assert f"### `{mid}` v{version}" in document
        assert m.spec_hash.hex() in document
        for row in m.factors:
            assert f"`{row.key}`" in document and row.published in document


def test_a_stale_document_is_detected(script: ModuleType, tmp_path: Path) -> None:
    stale = tmp_path / "accounting.md"
    stale.write_text(DOC.read_text(encoding="utf-8").replace("536_600", "536_000"),
                     encoding="utf-8")
    assert script.main(["--check", str(stale)]) == 1
    assert script.main(["--update", str(stale)]) == 0
    assert script.main(["--check", str(stale)]) == 0
