"""Manual activity data: the evidence files a report takes and the integer unit of a source.

An evidence file (an invoice, a photo of a purchase ledger) is a PDF, PNG or JPEG of at most
:data:`MAX_EVIDENCE_BYTES`; its kind is read from its first bytes (:func:`media_type_of`), never
taken from a file name or a header alone, and a file taken in is checked to be what its first
bytes say (:func:`check_evidence_file`). A report commits to ``keccak256`` of its bytes
(:func:`evidence_hash`). An amount entered by hand is converted exactly into its source's
integer unit (:func:`source_unit`, then :func:`accounting_rules.units.to_amount`).
"""

from __future__ import annotations

import io
import re
from functools import cache
from typing import Final

from PIL import Image, UnidentifiedImageError

from mrv_core.hashing import keccak256

from ..errors import InvalidEvidenceFile, ReportError, UnknownSource
from ..registry import load_methodology, methodologies
from ..units import to_amount
from .document import MEDIA_TYPES

__all__ = ["MAX_EVIDENCE_BYTES", "MAX_EVIDENCE_PIXELS", "check_evidence_file", "evidence_hash",
           "manual_amount", "media_type_of", "source_unit"]

#: The largest evidence file a ledger stores: 16 MiB (a scanned multi-page invoice).
MAX_EVIDENCE_BYTES: Final = 16 * 1024 * 1024

#: Magic bytes of each media type (PDF 1.7, ISO 32000-1 section 7.5.2; PNG, RFC 2083 section
#: 3.1; JPEG, ITU T.81 Annex B: SOI then a marker).
_MAGIC: Final = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
assert tuple(media for _, media in _MAGIC) == MEDIA_TYPES


def media_type_of(content: bytes) -> str:
    """The media type of an evidence file by its magic bytes; :class:`ReportError` for an empty
    file, one past :data:`MAX_EVIDENCE_BYTES` or one that is no PDF, PNG or JPEG."""
    if not content:
        raise ReportError("an evidence file is empty")
    if len(content) > MAX_EVIDENCE_BYTES:
        raise ReportError(f"an evidence file is {len(content)} bytes, limit "
                          f"{MAX_EVIDENCE_BYTES}")
    for magic, media_type in _MAGIC:
        if content.startswith(magic):
            return media_type
    raise ReportError(f"an evidence file is a PDF, PNG or JPEG; these bytes start with "
                      f"{content[:8].hex()}")


#: The most pixels an evidence image may have (width x height): a 600 dpi scan of an A4 page is
#: 35 MP, a phone's photo 12 MP. The decompression-bomb bound: a 16 MiB PNG of one colour can
#: declare billions of pixels, and decoding 40 MP holds at most 160 MB (RGBA).
MAX_EVIDENCE_PIXELS: Final = 40_000_000
#: Pillow's format name of each image media type.
_PIL_FORMAT: Final = {"image/png": "PNG", "image/jpeg": "JPEG"}
#: The PDF header (ISO 32000-1 section 7.5.2, and 32000-2 for 2.0), then an end of line or a
#: space; a PDF's trailer (section 7.5.5): ``startxref``, the cross-reference offset, ``%%EOF``.
_PDF_HEADER: Final = re.compile(rb"%PDF-(1\.[0-7]|2\.0)[\r\n\t ]")
_PDF_TRAILER: Final = re.compile(rb"startxref[\r\n\t ]+([0-9]{1,20})[\r\n\t ]+%%EOF")
_PDF_TAIL: Final = 1024


def check_evidence_file(content: bytes) -> str:
    """The media type of an evidence file taken in (:func:`media_type_of`), once its bytes are
    checked to be one: a PNG or JPEG is opened by Pillow, its pixels bounded by
    :data:`MAX_EVIDENCE_PIXELS`, its structure verified (``Image.verify``: chunk CRCs of a PNG)
    and then decoded whole (a JPEG at 1/8 scale: every entropy-coded segment is still read); a
    PDF has its header ``%PDF-1.x`` (or ``2.0``), ``%%EOF`` in its last KiB and, before it, a
    ``startxref`` whose offset lies inside the file before that keyword. The PDF check is the
    file structure only, not a PDF parser: no object, stream or cross-reference table is read,
    so a PDF whose body is corrupt passes (the evidence is kept as given; its reader is a
    person). :class:`InvalidEvidenceFile` naming what was expected and found; the errors of
    :func:`media_type_of` for what is no PDF, PNG or JPEG at all."""
    media_type = media_type_of(content)
    if media_type == "application/pdf":
        _check_pdf(content)
    else:
        _check_image(content, media_type)
    return media_type


def _check_pdf(content: bytes) -> None:
    header = _PDF_HEADER.match(content)
    if header is None:
        raise InvalidEvidenceFile("application/pdf", "the header %PDF-1.0 to %PDF-1.7 or "
                                  "%PDF-2.0 and an end of line", repr(content[:10]))
    tail_start = max(0, len(content) - _PDF_TAIL)
    tail = content[tail_start:]
    if b"%%EOF" not in tail:
        raise InvalidEvidenceFile("application/pdf", f"%%EOF in the last {_PDF_TAIL} bytes",
                                  f"none in the last {len(tail)} of {len(content)} bytes")
    trailers = list(_PDF_TRAILER.finditer(tail))
    if not trailers:
        raise InvalidEvidenceFile("application/pdf", "'startxref', an offset and %%EOF at the "
                                  "end of the file", f"{tail[-40:]!r} at the end")
    offset, keyword = int(trailers[-1].group(1)), tail_start + trailers[-1].start()
    if not header.end() <= offset < keyword:
        raise InvalidEvidenceFile("application/pdf", f"a startxref offset inside the file, in "
                                  f"[{header.end()}, {keyword})", str(offset))


def _check_image(content: bytes, media_type: str) -> None:
    name = _PIL_FORMAT[media_type]
    try:
        with Image.open(io.BytesIO(content), formats=(name,)) as image:
            width, height = image.size
            if width * height > MAX_EVIDENCE_PIXELS:
                raise InvalidEvidenceFile(media_type, f"at most {MAX_EVIDENCE_PIXELS:,} pixels",
                                          f"{width} x {height} = {width * height:,}")
            image.verify()
        with Image.open(io.BytesIO(content), formats=(name,)) as image:
            if name == "JPEG":
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()
    except InvalidEvidenceFile:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidEvidenceFile(media_type, f"at most {MAX_EVIDENCE_PIXELS:,} pixels",
                                  "more than Pillow's decompression-bomb limit") from None
    except UnidentifiedImageError:
        raise InvalidEvidenceFile(media_type, f"an image Pillow decodes as {name}",
                                  f"bytes Pillow does not identify as {name}") from None
    except Exception as exc:  # Pillow's decoders raise many kinds on hostile bytes: all refuse
        raise InvalidEvidenceFile(media_type, f"an image Pillow decodes as {name}",
                                  f"{type(exc).__name__}: {str(exc)[:120]}") from None


def evidence_hash(content: bytes) -> bytes:
    """keccak256 of an evidence file's bytes: what a manual line's ``evidence`` holds."""
    return keccak256(content)


@cache
def _units() -> dict[str, str]:
    """Source code -> its integer unit, over every shipped methodology version."""
    units: dict[str, str] = {}
    for methodology_id, version in methodologies():
        for spec in load_methodology(methodology_id, version).sources:
            if units.setdefault(spec.source, spec.unit) != spec.unit:
                raise ReportError(f"source {spec.source} is in {units[spec.source]} and "
                                  f"{spec.unit} in different methodologies")
    return units


def source_unit(source: str) -> str:
    """The integer unit of ``source`` in the shipped methodologies (every version that has it
    agrees); :class:`UnknownSource` when none has it."""
    unit = _units().get(source)
    if unit is None:
        raise UnknownSource(source)
    return unit


def manual_amount(source: str, quantity: str | int) -> int:
    """``quantity`` (``"10000 Nm3"``, or an integer already in the unit) in ``source``'s integer
    unit, exactly (:class:`~accounting_rules.errors.UnitError` otherwise)."""
    return to_amount(quantity, source_unit(source))
