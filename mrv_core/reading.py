"""The reading: one signed measurement, exactly the EIP-712 struct fixed by the protocol.

``Reading(address device, bytes32 meter, uint64 seq, uint64 timestamp, bytes32 quantity,
int256 value, bytes32 salt)``

A :class:`Reading` checks every field in its constructor, so an instance that exists is a valid
struct: the device is 20 bytes, the meter id and salt 32, ``seq`` and ``timestamp`` fit ``uint64``,
``value`` fits ``int256`` (and is non-negative for cumulative quantities), and the quantity code is
registered. The meter's human-readable path travels beside the reading (:class:`SignedReading`);
its keccak256 is the ``meter`` field.
"""

from __future__ import annotations

import os
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from .codec import INT256_MAX, INT256_MIN, UINT64_MAX, format_address
from .errors import InvalidMeterPath, InvalidReading
from .hashing import keccak256
from .quantities import QUANTITIES, quantity_by_code

__all__ = [
    "METER_PATH_LEVELS",
    "METER_PATH_MAX_BYTES",
    "SITE_PATH_LEVELS",
    "Reading",
    "SignedReading",
    "level_scripts",
    "meter_id",
    "new_salt",
    "new_salts",
    "site_id",
    "validate_meter_path",
    "validate_site_path",
]

#: ISA-95 style levels of a meter path: ``enterprise/site/area/line/meter``.
METER_PATH_LEVELS = ("enterprise", "site", "area", "line", "meter")
#: A site path is the first two levels: ``enterprise/site``.
SITE_PATH_LEVELS = METER_PATH_LEVELS[:2]
METER_PATH_MAX_BYTES = 256

# Unicode categories refused anywhere in a path: controls, format characters (zero-width joiners,
# bidi overrides), separators other than the plain space, surrogates, private use, unassigned.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def validate_meter_path(path: object) -> str:
    """Return ``path`` when it is a valid meter path, else raise :class:`InvalidMeterPath`.

    Results are cached (a device has a handful of meters; errors are never cached).

    Rules: a string in Unicode NFC (no silent normalisation: the hash must be reproducible from
    the text as given), at most 256 UTF-8 bytes, exactly five ``/``-separated levels, each
    non-empty, without surrounding whitespace and without control, format or non-space
    separator characters, and each written in one script (:func:`level_scripts`; Han may go
    with Latin and the Japanese, Chinese or Korean phonetic scripts, as in Unicode TR39's
    highly restrictive level): Latin mixed with Cyrillic or Greek look-alikes is refused
    (docs/protocol.md 2.1). Rule 5's extension: the path is NFKC-stable (no fullwidth,
    mathematical, ligature or other compatibility character) and has no overlaying combining
    mark (combining class 1, U+0334..U+0338...); the error names the first such character.
    A whole level in a look-alike script (Cyrillic U+041C then ``1``) stays valid: a known
    limit.
    """
    if not isinstance(path, str):
        raise InvalidMeterPath(f"meter path must be a string, got {type(path).__name__}")
    return _validate_path(path, METER_PATH_LEVELS, "meter")


def validate_site_path(path: object) -> str:
    """Return ``path`` when it is a valid site path (``enterprise/site``, the first two levels of
    a meter path, under the same character rules), else raise :class:`InvalidMeterPath`."""
    if not isinstance(path, str):
        raise InvalidMeterPath(f"site path must be a string, got {type(path).__name__}")
    return _validate_path(path, SITE_PATH_LEVELS, "site")


def validate_path_prefix(prefix: object) -> str:
    """Return ``prefix`` when it is the first one to five levels of a meter path (an ISA-95
    node: ``enterprise``, ``enterprise/site``... or a whole meter path) under the rules of
    :func:`validate_meter_path`, else raise :class:`InvalidMeterPath`."""
    if not isinstance(prefix, str):
        raise InvalidMeterPath(f"path prefix must be a string, got {type(prefix).__name__}")
    levels = prefix.count("/") + 1
    if levels > len(METER_PATH_LEVELS):
        raise InvalidMeterPath(f"path prefix: expected at most {len(METER_PATH_LEVELS)} levels, "
                               f"got {levels}")
    return _validate_path(prefix, METER_PATH_LEVELS[:levels], "path prefix")


@lru_cache(maxsize=4096)
def _validate_path(path: str, names: tuple[str, ...], what: str) -> str:
    size = len(path.encode("utf-8", errors="surrogatepass"))
    if size > METER_PATH_MAX_BYTES:
        raise InvalidMeterPath(f"{what} path is {size} bytes, limit {METER_PATH_MAX_BYTES}")
    if unicodedata.normalize("NFC", path) != path:
        raise InvalidMeterPath(f"{what} path is not in Unicode NFC: {path!r}")
    for ch in path:
        category = unicodedata.category(ch)
        if category in _FORBIDDEN_CATEGORIES or (category == "Zs" and ch != " "):
            raise InvalidMeterPath(f"{what} path has forbidden character U+{ord(ch):04X}: "
                                   f"{path!r}")
    _check_compatibility(path, what)
    levels = path.split("/")
    if len(levels) != len(names):
        expected = "/".join(names)
        raise InvalidMeterPath(f"{what} path needs {len(names)} levels ({expected}), "
                               f"got {len(levels)}: {path!r}")
    for name, level in zip(names, levels, strict=True):
        if not level or level != level.strip():
            raise InvalidMeterPath(f"{what} path level '{name}' is empty or padded: {path!r}")
        scripts = level_scripts(level)
        if len(scripts) > 1 and not any(scripts <= allowed for allowed in _SCRIPT_MIXES):
            letters = [(ch, _script(ch)) for ch in level if unicodedata.category(ch)[0] == "L"]
            main = Counter(script for _, script in letters).most_common(1)[0][0]
            odd = next(ch for ch, script in letters if script != main)
            raise InvalidMeterPath(
                f"{what} path level '{name}' mixes the scripts {', '.join(sorted(scripts))} "
                f"(U+{ord(odd):04X} {unicodedata.name(odd, '?')} among {main} letters); "
                f"expected one script per level, Latin never with Cyrillic or Greek look-alikes: "
                f"{path!r}")
    return path


def _check_compatibility(path: str, what: str) -> None:
    """Rule 5's extension (docs/protocol.md 2.1): the path is NFKC-stable, so no compatibility
    look-alike (fullwidth M U+FF2D, mathematical bold M U+1D40C, the ligature fi U+FB01, the
    Roman numeral one U+2160) gives a second spelling of a plain path; and no combining mark
    of canonical combining class 1, Overlay (U+0334..U+0338 and the other overlays), strikes
    through a letter. Raises :class:`InvalidMeterPath` naming the first such character."""
    if unicodedata.normalize("NFKC", path) != path:
        odd = next((ch for ch in path if unicodedata.normalize("NFKC", ch) != ch), path[0])
        raise InvalidMeterPath(
            f"{what} path has the compatibility character {_char_name(odd)}, which Unicode "
            f"NFKC turns into {unicodedata.normalize('NFKC', odd)!r}; expected a path NFKC "
            f"leaves unchanged (write the plain character): {path!r}")
    for ch in path:
        if unicodedata.combining(ch) == 1 and unicodedata.category(ch) == "Mn":
            raise InvalidMeterPath(f"{what} path has the overlaying combining mark "
                                   f"{_char_name(ch)}; expected no mark drawn through a "
                                   f"character: {path!r}")


def _char_name(ch: str) -> str:
    """``U+FF2D FULLWIDTH LATIN CAPITAL LETTER M``."""
    return f"U+{ord(ch):04X} {unicodedata.name(ch, '(no name)')}"


#: Name words that give a letter's script (the first of a character's first three name words
#: found here; unicodedata has no Script property). Other letters take their name's first word
#: (``ARABIC``, ``THAI``, ``MATHEMATICAL``...) as their script.
_SCRIPT_WORDS = {"LATIN": "Latin", "CYRILLIC": "Cyrillic", "GREEK": "Greek",
                 "COPTIC": "Coptic", "CJK": "Han", "HIRAGANA": "Hiragana",
                 "KATAKANA": "Katakana", "BOPOMOFO": "Bopomofo", "HANGUL": "Hangul"}
#: Script sets a level may combine, from Unicode TR39's "highly restrictive" level: East Asian
#: writing mixes Han with its own phonetic scripts and with Latin; Latin never mixes with
#: Cyrillic or Greek, whose look-alike letters would give two paths one appearance.
_SCRIPT_MIXES = (frozenset({"Latin", "Han", "Hiragana", "Katakana"}),
                 frozenset({"Latin", "Han", "Bopomofo"}),
                 frozenset({"Latin", "Han", "Hangul"}))


def level_scripts(level: str) -> frozenset[str]:
    """The scripts of the letters (Unicode categories L*) in one path level, by the character
    names (``LATIN SMALL LETTER A`` is Latin, ``CYRILLIC SMALL LETTER A`` Cyrillic). Digits,
    punctuation, spaces and combining marks belong to no script here (TR39's Common and
    Inherited)."""
    return frozenset(_script(ch) for ch in level if unicodedata.category(ch)[0] == "L")


def _script(letter: str) -> str:
    words = unicodedata.name(letter, "UNNAMED").replace("-", " ").split()
    return next((_SCRIPT_WORDS[w] for w in words[:3] if w in _SCRIPT_WORDS), words[0].title())


@lru_cache(maxsize=16_384)
def meter_id(path: str) -> bytes:
    """The ``meter`` field for a path: keccak256 of its UTF-8 bytes (cached: a ledger checks
    thousands of readings of the same few hundred meters per request)."""
    return keccak256(validate_meter_path(path).encode("utf-8"))


def site_id(path: str) -> bytes:
    """The id of a site (``enterprise/site``): keccak256 of its UTF-8 bytes, like a meter id."""
    return keccak256(validate_site_path(path).encode("utf-8"))


def new_salt() -> bytes:
    """32 bytes from the OS CSPRNG: one fresh salt per reading."""
    return os.urandom(32)


def new_salts(count: int) -> list[bytes]:
    """``count`` salts as :func:`new_salt` makes them, from one read of the OS CSPRNG (a
    signer's batch of readings: one system call instead of ``count``)."""
    pool = os.urandom(32 * count)
    return [pool[i:i + 32] for i in range(0, 32 * count, 32)]


def _require_bytes(name: str, value: object, size: int) -> None:
    if type(value) is not bytes or len(value) != size:
        raise InvalidReading(f"{name} must be {size} bytes, got {_describe(value)}")


def _require_int(name: str, value: object, low: int, high: int) -> None:
    if type(value) is not int:
        raise InvalidReading(f"{name} must be an int, got {type(value).__name__}")
    if not low <= value <= high:
        raise InvalidReading(f"{name} = {value} outside [{low}, {high}]")


def _describe(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return f"{len(value)} bytes"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class Reading:
    """One measurement as signed by a device. All fields are the struct's, in struct order."""

    device: bytes  # 20-byte address of the signing device
    meter: bytes  # keccak256 of the meter path
    seq: int  # per (device, meter), 0, 1, 2, ... without gaps
    timestamp: int  # Unix seconds, UTC, of the measurement
    quantity: str  # registered quantity code (bytes32 on the wire of the struct)
    value: int  # integer in the quantity's unit
    salt: bytes  # 32 random bytes

    def __post_init__(self) -> None:
        _require_bytes("device", self.device, 20)
        _require_bytes("meter", self.meter, 32)
        _require_int("seq", self.seq, 0, UINT64_MAX)
        _require_int("timestamp", self.timestamp, 0, UINT64_MAX)
        _require_int("value", self.value, INT256_MIN, INT256_MAX)
        _require_bytes("salt", self.salt, 32)
        quantity = QUANTITIES.get(self.quantity) if type(self.quantity) is str else None
        if quantity is None:
            quantity_by_code(str(self.quantity))  # raises UnknownQuantity with the known list
        elif self.value < 0 and not quantity.signed:
            raise InvalidReading(f"value {self.value} is negative for unsigned {self.quantity}")

    def __repr__(self) -> str:
        return (f"Reading(device={format_address(self.device)}, meter=0x{self.meter.hex()}, "
                f"seq={self.seq}, timestamp={self.timestamp}, quantity={self.quantity!r}, "
                f"value={self.value}, salt=0x{self.salt.hex()})")


@dataclass(frozen=True, slots=True)
class SignedReading:
    """A reading, its device signature (65 bytes r||s||v) and the meter path behind its id.

    Construction checks shapes only; :func:`mrv_core.verify.verify_signed_reading` checks that
    the path hashes to ``reading.meter`` and that the signature recovers ``reading.device``.
    """

    reading: Reading
    signature: bytes
    meter_path: str

    def __post_init__(self) -> None:
        _require_bytes("signature", self.signature, 65)
        validate_meter_path(self.meter_path)
        # Whether the path hashes to ``reading.meter`` and the signature recovers ``device`` are
        # verification steps (``mrv_core.verify``), reported by name, not construction errors.
