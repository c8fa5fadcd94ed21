"""``mrv demo --out DIR`` replaces only an earlier demo's directory (review finding: any
directory holding a ``demo.json`` was deleted): ``demo.json`` must be the demo's own summary
(its ``format``) and the directory must hold nothing a demo does not write; a user's directory
with a stray ``demo.json`` and files of its own survives, refused with exit 2 naming why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrv_cli.demo import make_plan
from mrv_cli.demo.context import DEMO_FORMAT, DemoContext
from mrv_cli.demo.run import DEMO_ENTRIES, prepare_out
from mrv_cli.main import main
from mrv_core.errors import ConfigError


def _earlier_demo(out: Path, *, legacy: bool = False) -> None:
    """A directory as a demo leaves it: its summary and an entry of each kind it writes."""
    plan = make_plan(out=out, rpc=None, days=1, interval_min=15, speed=3600,
                     chain_now=1_790_000_000)
    summary = DemoContext(plan=plan).to_json()
    if legacy:  # written before demo.json had a format
        del summary["format"]
    out.mkdir()
    (out / "demo.json").write_text(json.dumps(summary, indent=2))
    for name in ("keys", "logs", "nodes", "bundles", "evidence", "report", "tampered"):
        (out / name).mkdir()
        (out / name / "a.json").write_text("{}")
    for name in ("deployment.json", "clock.json", "ledger.sqlite", "ledger.sqlite-wal",
                 "go-api", ".clock.json.x1y2.tmp"):
        (out / name).write_text("")


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("legacy", [False, True], ids=["format", "before-format"])
def test_an_earlier_demos_directory_is_replaced_by_an_empty_one(tmp_path: Path,
                                                                legacy: bool) -> None:
    out = tmp_path / "demo"
    _earlier_demo(out, legacy=legacy)
    prepare_out(out)
    assert out.is_dir() and list(out.iterdir()) == []


def test_the_summary_a_demo_writes_names_its_format_and_reads_back(tmp_path: Path) -> None:
    plan = make_plan(out=tmp_path, rpc=None, days=1, interval_min=15, speed=3600,
                     chain_now=1_790_000_000)
    path = DemoContext(plan=plan).save()
    assert json.loads(path.read_text())["format"] == DEMO_FORMAT == "trustmrv-demo/1"
    assert DemoContext.load(path).plan == plan
    assert path.name in DEMO_ENTRIES


@pytest.mark.parametrize(("summary", "words"), [
    ('{"todo": ["buy milk"]}', "no format field and not a summary an earlier demo wrote"),
    ('{"format": "my-notes/2"}', "format 'my-notes/2'; expected the summary"),
    ("[1, 2]", "a JSON list, not an object"),
    ("not json at all", "not JSON"),
], ids=["other-object", "other-format", "array", "text"])
def test_a_users_directory_with_a_stray_demo_json_survives(tmp_path: Path, summary: str,
                                                           words: str) -> None:
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "demo.json").write_text(summary)
    (out / "chapter-1.tex").write_text("\\section{Introduction}")
    (out / "figures").mkdir()
    (out / "figures" / "plot.png").write_bytes(b"\x89PNG")
    before = _tree(out)
    with pytest.raises(ConfigError) as caught:
        prepare_out(out)
    assert str(caught.value).startswith(f"{out / 'demo.json'}: {words}"), caught.value
    assert f"{out} is left as it is" in str(caught.value)
    assert _tree(out) == before


def test_a_demos_summary_beside_files_a_demo_does_not_write_is_not_replaced(
        tmp_path: Path) -> None:
    out = tmp_path / "demo"
    _earlier_demo(out)
    (out / "chapter-1.tex").write_text("mine")
    (out / ".git").mkdir()
    before = _tree(out)
    with pytest.raises(ConfigError, match=r"holds \.git, chapter-1\.tex, which `mrv demo` "
                                          r"does not write: left as it is"):
        prepare_out(out)
    assert _tree(out) == before


def test_mrv_demo_refuses_a_hostile_out_with_exit_2_and_leaves_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / "demo.json").write_text('{"mine": true}')
    (out / "notes.txt").write_text("keep me")
    assert main(["demo", "--out", str(out), "--days", "1"]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'demo.json'}: no format field" in err and "Traceback" not in err, err
    assert (out / "notes.txt").read_text() == "keep me" and (out / "demo.json").is_file()
