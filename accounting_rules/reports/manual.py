"""Manual activity data: the evidence files a report takes and the integer unit of a source.

An evidence file (an invoice, a photo of a purchase ledger) is a PDF, PNG or JPEG of at most
:data:`MAX_EVIDENCE_BYTES`; its kind is read from its first bytes (:func:`media_type_of`), never
taken from a file name or a header alone, and a report commits to ``keccak256`` of its bytes
(:func:`evidence_hash`). An amount entered by hand is converted exactly into its source's
integer unit (:func:`source_unit`, then :func:`accounting_rules.units.to_amount`).
"""

from __future__ import annotations

from functools import cache
from typing import Final

from mrv_core.hashing import keccak256

from ..errors import ReportError, UnknownSource
from ..registry import load_methodology, methodologies
from ..units import to_amount
from .document import MEDIA_TYPES

__all__ = ["MAX_EVIDENCE_BYTES", "evidence_hash", "manual_amount", "media_type_of",
           "source_unit"]

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
