"""The report's PDF, checked with Debian's poppler-utils (``make test`` installs them): the first
page rendered to PNG by ``pdftoppm`` is A4, not blank, and has ink where the title is and none
in the top margin; ``pdffonts`` lists an embedded CJK font; ``pdftotext`` reads the Chinese
title and the exact total back."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from render_support import sample_context
from report_factories import sample_report

from accounting_rules.reports import ManualLine
from accounting_rules.reports.render import render_html, render_pdf
from mrv_core.codec import format_hex

DPI = 50
MM = DPI / 25.4  # pixels per millimetre
#: CJK fonts the stylesheet names (fonts-wqy-microhei from make setup, or Noto/Source Han).
CJK_FONT = re.compile(r"WenQuanYi|Noto-?Sans-?CJK|Noto-?Serif-?CJK|SourceHan", re.IGNORECASE)


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    path.write_bytes(render_pdf(render_html(sample_report(), sample_context())))
    return path


@pytest.fixture(scope="module")
def first_page(pdf: Path) -> Image.Image:
    prefix = pdf.with_name("page")
    _run("pdftoppm", "-r", str(DPI), "-f", "1", "-l", "1", "-gray", "-png", "-singlefile",
         str(pdf), str(prefix))
    return Image.open(prefix.with_suffix(".png")).convert("L")


def _dark(image: Image.Image, left_mm: float, top_mm: float, right_mm: float,
          bottom_mm: float) -> float:
    """The share of dark pixels (below mid-grey) in a box given in millimetres."""
    box = image.crop((round(left_mm * MM), round(top_mm * MM), round(right_mm * MM),
                      round(bottom_mm * MM)))
    counts = box.histogram()  # 256 grey levels
    return sum(counts[:128]) / sum(counts)


def test_the_pdf_is_a_pdf_of_several_a4_pages(pdf: Path) -> None:
    assert pdf.read_bytes().startswith(b"%PDF-")
    info = _run("pdfinfo", str(pdf)).stdout
    assert re.search(r"Page size:\s+595\.\d* x 841\.\d* pts \(A4\)", info), info
    pages = int(re.search(r"Pages:\s+(\d+)", info)[1])  # type: ignore[index]
    assert 2 <= pages <= 10


def test_the_first_page_is_a4_and_not_blank(first_page: Image.Image) -> None:
    width, height = first_page.size
    assert abs(width - 210 * MM) <= 1.5 and abs(height - 297 * MM) <= 1.5, first_page.size
    assert 0.01 < _dark(first_page, 0, 0, 210, 297) < 0.5


def test_the_title_has_ink_where_it_belongs_and_the_top_margin_none(
        first_page: Image.Image) -> None:
    # @page margins: 16 mm top, 14 mm left; the 20 pt title sits on the first line
    assert _dark(first_page, 14, 16, 100, 25) > 0.05  # 排放报告 / Emission report
    assert _dark(first_page, 0, 0, 210, 14) == 0  # nothing above the title
    assert _dark(first_page, 140, 16, 196, 23) == 0  # the title line ends before this


def test_a_cjk_font_is_embedded(pdf: Path) -> None:
    rows = _run("pdffonts", str(pdf)).stdout.splitlines()[2:]
    embedded = [row.split()[0] for row in rows if CJK_FONT.search(row.split()[0])
                and row.split()[-5] == "yes"]  # columns: ... emb sub uni object ID
    assert embedded, "\n".join(rows)


def test_the_chinese_title_and_the_exact_total_read_back_as_text(pdf: Path) -> None:
    text = _run("pdftotext", "-layout", str(pdf), "-").stdout
    doc = sample_report()
    assert "排放报告 / Emission report" in text
    assert "手工录入 / manual" in text and "计量 / measured" in text
    total = doc.totals.total
    assert f"{total // 10**6}.{total % 10**6:06d}" in text and f"{total:,}" in text


def test_the_same_report_gives_the_same_pdf_bytes(pdf: Path) -> None:
    """No creation time or random id in the PDF: a rendering can be archived and compared by
    its hash."""
    assert render_pdf(render_html(sample_report(), sample_context())) == pdf.read_bytes()


def test_a_parameter_override_reads_back_with_its_default_value_and_evidence(
        tmp_path: Path) -> None:
    doc = sample_report(overrides=(("fuel.natural_gas#OF", 0),))
    path = tmp_path / "override.pdf"
    path.write_bytes(render_pdf(render_html(doc)))
    text = _run("pdftotext", "-raw", str(path), "-").stdout
    table = text[text.index("Parameter overrides / 参数替代值"):]
    table = " ".join(table[:table.index("方法学与排放因子")].split())
    assert "fuel.natural_gas · OF" in table and "by fuel.natural_gas#OF" in table
    assert "9,900 1e-4 (comb.natural_gas.OF)" in table and "0 1e-4" in table
    evidence = doc.lines[-1]
    assert isinstance(evidence, ManualLine)
    assert format_hex(evidence.evidence) in table.replace(" ", "")
