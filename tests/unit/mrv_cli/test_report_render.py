"""``mrv report render``: writes the HTML and PDF of a report document (with a context file),
and refuses bad input with exit 2 and one line, writing nothing."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from pathlib import Path

import pytest
from render_support import REPORT_HASH, sample_context
from report_factories import sample_report

from accounting_rules.reports import ReportDocument, encode_report
from accounting_rules.reports.render_context import encode_context
from mrv_cli.main import main
from mrv_core.codec import format_hex


def _write_document(path: Path, doc: ReportDocument | None = None) -> Path:
    path.write_text(json.dumps(encode_report(doc or sample_report()), ensure_ascii=False))
    return path


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mrv: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_render_writes_the_html_and_the_pdf_with_the_context(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = _write_document(tmp_path / "report.json")
    context = tmp_path / "context.json"
    context.write_text(json.dumps(encode_context(sample_context()), ensure_ascii=False))
    html, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    assert main(["report", "render", str(document), "--html", str(html), "--pdf", str(pdf),
                 "--context", str(context)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {html} (" in out and f"wrote {pdf} (" in out
    page = html.read_text(encoding="utf-8")
    assert "排放报告 / Emission report" in page and format_hex(REPORT_HASH) in page
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert sorted(p.name for p in tmp_path.iterdir()) == [  # no temporary file left
        "context.json", "report.html", "report.json", "report.pdf"]


def test_render_replaces_an_existing_html_file_whole(tmp_path: Path) -> None:
    document = _write_document(tmp_path / "report.json")
    html = tmp_path / "report.html"
    html.write_text("old " * 100_000)
    assert main(["report", "render", str(document), "--html", str(html)]) == 0
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "old old" not in html.read_text(encoding="utf-8")


def test_render_without_an_output_is_refused(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    document = _write_document(tmp_path / "report.json")
    assert main(["report", "render", str(document)]) == 2
    assert "nothing to write" in _error_line(capsys)


def test_a_malformed_document_is_refused_naming_the_file_and_the_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    obj = encode_report(sample_report())
    obj["totals"]["total"] = 5  # a JSON number
    document = tmp_path / "report.json"
    document.write_text(json.dumps(obj))
    html = tmp_path / "report.html"
    assert main(["report", "render", str(document), "--html", str(html)]) == 2
    line = _error_line(capsys)
    assert f"document {document}" in line and "$" in line
    assert not html.exists()


def test_figures_that_are_not_the_methodologys_are_refused_and_nothing_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = sample_report()
    line = doc.lines[-1]
    wrong = dataclasses.replace(doc, lines=(*doc.lines[:-1],
                                            dataclasses.replace(line, grams=line.grams * 2)))
    document = _write_document(tmp_path / "report.json", wrong)
    html, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    assert main(["report", "render", str(document), "--html", str(html),
                 "--pdf", str(pdf)]) == 2
    assert "line 3 (fuel.natural_gas): the document says" in _error_line(capsys)
    assert not html.exists() and not pdf.exists()


def test_a_malformed_context_is_refused(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    document = _write_document(tmp_path / "report.json")
    context = tmp_path / "context.json"
    obj = encode_context(sample_context())
    obj["attestations"][0]["statement"]["avr"] = "not satisfactory"  # Qualified: with comments
    context.write_text(json.dumps(obj))
    assert main(["report", "render", str(document), "--html", str(tmp_path / "r.html"),
                 "--context", str(context)]) == 2
    line = _error_line(capsys)
    assert f"--context {context}" in line and "$.attestations[0].statement.avr" in line


@pytest.mark.parametrize("flags", [
    ["--html", "{tmp}/absent/r.html"],
    ["--pdf", "{tmp}/report.json/r.pdf"],
    ["--html", "{tmp}"],
    ["--html", "{tmp}/same", "--pdf", "{tmp}/same"],
])
def test_unusable_output_paths_are_refused_before_any_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str]) -> None:
    document = _write_document(tmp_path / "report.json")
    argv = [flag.format(tmp=tmp_path) for flag in flags]
    assert main(["report", "render", str(document), *argv]) == 2
    _error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_render_never_follows_a_symbolic_link_planted_at_the_temporary_name(
        tmp_path: Path) -> None:
    """Another user's link at the old predictable temporary name ``.report.html.tmp`` is left
    alone: the page goes into a fresh temporary file, the link's target keeps its bytes."""
    document = _write_document(tmp_path / "report.json")
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious config")
    (tmp_path / ".report.html.tmp").symlink_to(victim)
    html = tmp_path / "report.html"
    assert main(["report", "render", str(document), "--html", str(html)]) == 0
    assert victim.read_bytes() == b"precious config"
    assert not html.is_symlink() and html.read_text(encoding="utf-8").startswith("<!DOCTYPE")


def test_render_refuses_to_replace_a_fifo_and_leaves_it_a_fifo(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A special file at the output path (a FIFO here; a device node is the same case and
    needs root to make) is refused in one line, not replaced by a regular file."""
    document = _write_document(tmp_path / "report.json")
    fifo = tmp_path / "out.html"
    os.mkfifo(fifo)
    assert main(["report", "render", str(document), "--html", str(fifo)]) == 2
    line = _error_line(capsys)
    assert f"--html {fifo}: expected a regular file, got a FIFO: not replaced" in line
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.html", "report.json"]
