"""Evidence files taken in are what their first bytes say (review finding: a 3-byte JPEG was
stored): a PNG or JPEG Pillow decodes within the pixel bound, a PDF with its header, its
``%%EOF`` at the end and a ``startxref`` inside the file; each refusal names what was expected
and what was found."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image
from report_factories import evidence_pdf

from accounting_rules.errors import InvalidEvidenceFile, ReportError
from accounting_rules.reports.manual import MAX_EVIDENCE_PIXELS, check_evidence_file


def _image(kind: str, size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, kind)
    return out.getvalue()


PNG, JPEG, PDF = _image("PNG"), _image("JPEG"), evidence_pdf("invoice 123")


def test_whole_png_jpeg_and_pdf_files_are_taken_by_their_kind() -> None:
    assert check_evidence_file(PNG) == "image/png"
    assert check_evidence_file(JPEG) == "image/jpeg"
    assert check_evidence_file(PDF) == "application/pdf"
    assert check_evidence_file(PDF.replace(b"%PDF-1.7", b"%PDF-2.0")) == "application/pdf"


@pytest.mark.parametrize(("content", "expected", "actual"), [
    (b"\xff\xd8\xff", "an image Pillow decodes as JPEG", "does not identify as JPEG"),
    (JPEG[:len(JPEG) // 2], "an image Pillow decodes as JPEG", "OSError"),
    (PNG[:-30], "an image Pillow decodes as PNG", "got "),
    (PNG[:40] + bytes([PNG[40] ^ 0xFF]) + PNG[41:], "an image Pillow decodes as PNG", "got "),
], ids=["three-byte-jpeg", "truncated-jpeg", "truncated-png", "png-bad-crc"])
def test_an_image_pillow_cannot_decode_is_refused(content: bytes, expected: str,
                                                  actual: str) -> None:
    with pytest.raises(InvalidEvidenceFile) as caught:
        check_evidence_file(content)
    assert caught.value.expected == expected and actual in str(caught.value)
    assert isinstance(caught.value, ReportError)


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width x height`` and whose data is one empty row."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b""))


def test_an_image_past_the_pixel_bound_is_refused_before_it_is_decoded() -> None:
    assert 8_000 * 6_000 > MAX_EVIDENCE_PIXELS
    with pytest.raises(InvalidEvidenceFile, match=r"expected at most 40,000,000 pixels, got "
                                                  r"8000 x 6000 = 48,000,000"):
        check_evidence_file(_png_declaring(8_000, 6_000))
    with pytest.raises(InvalidEvidenceFile, match="pixels"):  # Pillow's own bomb error
        check_evidence_file(_png_declaring(100_000, 100_000))


@pytest.mark.parametrize(("content", "expected"), [
    (b"%PDF-1.7\n", "%%EOF in the last 1024 bytes"),
    (PDF + b"\x00" * 2_000, "%%EOF in the last 1024 bytes"),
    (PDF.replace(b"startxref", b"startxrex"), "'startxref', an offset and %%EOF"),
    (PDF.replace(b"startxref\n124\n", b"startxref\n99999\n"), "a startxref offset inside"),
    (PDF.replace(b"startxref\n124\n", b"startxref\n3\n"), "a startxref offset inside"),
    (PDF.replace(b"%PDF-1.7", b"%PDF-9.9"), "the header %PDF-1.0 to %PDF-1.7"),
], ids=["header-only", "eof-not-at-end", "no-startxref", "offset-past-end",
        "offset-in-header", "unknown-version"])
def test_a_pdf_without_its_file_structure_is_refused(content: bytes, expected: str) -> None:
    with pytest.raises(InvalidEvidenceFile) as caught:
        check_evidence_file(content)
    assert caught.value.expected.startswith(expected), caught.value
    assert caught.value.media_type == "application/pdf" and "got " in str(caught.value)


def test_what_is_no_pdf_png_or_jpeg_at_all_keeps_its_refusal() -> None:
    with pytest.raises(ReportError, match="these bytes start with 47494638"):
        check_evidence_file(b"GIF89a" + b"\x00" * 20)
