"""Field checks shared by the report documents (``trustmrv-report/1``) and attestation
statements (``trustmrv-attestation/1``).

Each check raises :class:`mrv_core.errors.FormatError` whose ``where`` is the JSON field's name;
:func:`mrv_core.wire.field` turns it into the full JSON path when a document is decoded, so a
value built in Python and a value read from JSON are refused with the same words.
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

from mrv_core.codec import is_code
from mrv_core.errors import FormatError

__all__ = [
    "BIDI_CONTROLS",
    "INVISIBLE_LETTERS",
    "check_address",
    "check_bytes",
    "check_code",
    "check_entered_text",
    "check_int",
    "check_text",
    "format_rate",
    "parse_rate",
]

# Characters refused in free text: controls (but a line feed where lines are allowed), lone
# surrogates (no UTF-8 form, so no canonical bytes), private use, unassigned.
_FORBIDDEN = frozenset({"Cc", "Cs", "Co", "Cn"})
#: Default-ignorable code points outside category Cf that show as nothing (Unicode's
#: DerivedCoreProperties.txt, Default_Ignorable_Code_Point): the combining grapheme joiner
#: U+034F, the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0, and the Khmer inherent vowels
#: U+17B4 and U+17B5. (Variation selectors are default-ignorable too, but emoji need them.)
INVISIBLE_LETTERS = frozenset("\u034f\u115f\u1160\u3164\uffa0\u17b4\u17b5")
#: The bidirectional controls (Unicode UAX #9: embeddings and overrides U+202A..U+202E,
#: isolates U+2066..U+2069, the marks U+200E, U+200F and U+061C): they make text show in another
#: order than it is stored (``invoice<U+202E>fdp.exe`` shows as ``invoiceexe.pdf``).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                          "\u200e\u200f\u061c")
_RATE = re.compile(r"(0|[1-9][0-9]{0,77})/([1-9][0-9]{0,77})\Z", re.ASCII)


def check_int(value: object, name: str, low: int, high: int) -> int:
    """``value`` when it is an ``int`` (not a bool) in ``[low, high]``."""
    if type(value) is not int:
        raise FormatError(name, f"expected an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise FormatError(name, f"{value} outside [{low}, {high}]")
    return value


def check_bytes(value: object, name: str, size: int) -> bytes:
    """``value`` when it is ``bytes`` of exactly ``size``."""
    if type(value) is not bytes or len(value) != size:
        got = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise FormatError(name, f"expected {size} bytes, got {got}")
    return value


def check_address(value: object, name: str) -> bytes:
    """``value`` when it is a 20-byte address."""
    return check_bytes(value, name, 20)


def check_code(value: object, name: str) -> str:
    """``value`` when it is a code: 1-32 printable ASCII characters without spaces
    (:func:`mrv_core.codec.is_code`)."""
    if not is_code(value):
        raise FormatError(name, f"expected a code (1-32 printable ASCII characters, no spaces), "
                                f"got {value!r:.60}")
    assert isinstance(value, str)
    return value


def check_text(value: object, name: str, limit: int, *, empty: bool = False,
               lines: bool = False) -> str:
    """``value`` when it is a string of at most ``limit`` characters in Unicode NFC, without
    control characters (a line feed allowed when ``lines``), surrogates, private use or
    unassigned characters; empty only when ``empty``."""
    if not isinstance(value, str):
        raise FormatError(name, f"expected a string, got {type(value).__name__}")
    if len(value) > limit:
        raise FormatError(name, f"{len(value)} characters, limit {limit}")
    if not value and not empty:
        raise FormatError(name, "empty")
    for ch in value:
        if unicodedata.category(ch) in _FORBIDDEN and not (lines and ch == "\n"):
            raise FormatError(name, f"forbidden character U+{ord(ch):04X}")
    if unicodedata.normalize("NFC", value) != value:
        raise FormatError(name, "not in Unicode NFC")
    return value


def check_entered_text(value: object, name: str, limit: int, *, empty: bool = False,
                       lines: bool = False) -> str:
    """:func:`check_text`, and no format character (Unicode category Cf: the bidi controls of
    :data:`BIDI_CONTROLS`, zero-width spaces and joiners, the soft hyphen, U+FEFF...): the check
    of free text where a person enters it (an evidence file's name, an activity's description,
    a regulator's comments, an operator's meter-change note), at the ledger's routes and the
    ``mrv`` commands that send or sign it. The error's ``where`` is the field, its problem
    names the code point (``str(error)``: ``description: the format character U+202E ...``).

    Documents already made are read with :func:`check_text` alone: a report or statement
    whose hash is on chain stays readable as its format (``trustmrv-report/1``,
    ``trustmrv-attestation/1``) defines it."""
    text = check_text(value, name, limit, empty=empty, lines=lines)
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cf":
            kind = ("a bidi control, which reorders the text as shown" if ch in BIDI_CONTROLS
                    else "invisible when shown")
            raise FormatError(name, f"the format character U+{ord(ch):04X} "
                                    f"{unicodedata.name(ch, '(no name)')} ({kind}); expected "
                                    f"text without format characters (Unicode category Cf)")
        if category in ("Zl", "Zp") or ch in INVISIBLE_LETTERS:
            kind = ("a line or paragraph separator; a new line is U+000A"
                    if category in ("Zl", "Zp") else "invisible when shown")
            raise FormatError(name, f"the character U+{ord(ch):04X} "
                                    f"{unicodedata.name(ch, '(no name)')} ({kind}); expected "
                                    "text a reader sees as it is stored")
    return text


def parse_rate(text: object, name: str = "maxRate") -> Fraction:
    """A rate written ``"num/den"`` in lowest terms (``"0/1"`` for zero), as a Fraction."""
    if not isinstance(text, str) or (match := _RATE.match(text)) is None:
        raise FormatError(name, f"expected \"num/den\" with canonical integers, got {text!r:.90}")
    rate = Fraction(int(match.group(1)), int(match.group(2)))
    if format_rate(rate) != text:
        raise FormatError(name, f"not in lowest terms: {text!r}, expected {format_rate(rate)!r}")
    return rate


def format_rate(rate: Fraction) -> str:
    """The canonical ``"num/den"`` of a non-negative Fraction."""
    return f"{rate.numerator}/{rate.denominator}"
