"""Strict text encodings of wire values: hex bytes, addresses and decimal integers.

Parsers accept exactly one spelling where one is possible and raise a typed error naming the
field otherwise. Writers produce the canonical spelling: lowercase ``0x`` hex for bytes, EIP-55
checksummed addresses, base-10 strings for integers (JSON numbers lose precision beyond 2^53, and
no float may ever touch committed data).
"""

from __future__ import annotations

import re
from functools import lru_cache

from .errors import InvalidAddress, InvalidCode, InvalidHex, InvalidInteger
from .hashing import keccak256

__all__ = [
    "INT256_MAX",
    "INT256_MIN",
    "UINT32_MAX",
    "UINT64_MAX",
    "UINT256_MAX",
    "encode_code",
    "format_address",
    "format_hex",
    "format_int",
    "is_code",
    "parse_address",
    "parse_hex",
    "parse_int",
]

UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1
UINT256_MAX = 2**256 - 1
INT256_MIN = -(2**255)
INT256_MAX = 2**255 - 1

_CODE_RE = re.compile(r"[!-~]{1,32}\Z", re.ASCII)
_HEX_RE = re.compile(r"0x([0-9a-fA-F]*)\Z")
_INT_RE = re.compile(r"(0|-?[1-9][0-9]*)\Z")
# 2^256 has 78 digits; anything longer is rejected before int() does quadratic work.
_MAX_INT_DIGITS = 80


def parse_hex(text: object, length: int | None = None, *, field: str = "value") -> bytes:
    """Decode ``0x``-prefixed hex into bytes, optionally of exactly ``length`` bytes."""
    if not isinstance(text, str):
        raise InvalidHex(f"{field}: expected a 0x-prefixed hex string, got {type(text).__name__}")
    match = _HEX_RE.match(text)
    if match is None:
        raise InvalidHex(f"{field}: not 0x-prefixed hex: {text[:80]!r}")
    digits = match.group(1)
    if len(digits) % 2:
        raise InvalidHex(f"{field}: odd number of hex digits ({len(digits)})")
    data = bytes.fromhex(digits)
    if length is not None and len(data) != length:
        raise InvalidHex(f"{field}: expected {length} bytes, got {len(data)}")
    return data


def format_hex(data: bytes) -> str:
    """Encode bytes as lowercase ``0x`` hex."""
    return "0x" + data.hex()


def parse_address(text: object, *, field: str = "address") -> bytes:
    """Decode an Ethereum address into its 20 bytes.

    All-lowercase and all-uppercase hex are accepted as they carry no checksum; mixed case must be
    a valid EIP-55 checksum, so a mistyped address is caught instead of silently used.
    """
    try:
        raw = parse_hex(text, 20, field=field)
    except InvalidHex as exc:
        raise InvalidAddress(str(exc)) from None
    assert isinstance(text, str)
    digits = text[2:]
    if digits != digits.lower() and digits != digits.upper() and format_address(raw) != text:
        raise InvalidAddress(f"{field}: EIP-55 checksum mismatch: {text}")
    return raw


@lru_cache(maxsize=4096)
def format_address(raw: bytes) -> str:
    """Encode 20 address bytes with the EIP-55 mixed-case checksum (cached: addresses are few)."""
    if len(raw) != 20:
        raise InvalidAddress(f"address must be 20 bytes, got {len(raw)}")
    digits = raw.hex()
    hashed = keccak256(digits.encode("ascii")).hex()
    return "0x" + "".join(
        ch.upper() if ch.isalpha() and int(hashed[i], 16) >= 8 else ch
        for i, ch in enumerate(digits)
    )


def parse_int(text: object, low: int, high: int, *, field: str = "value") -> int:
    """Decode a canonical base-10 integer string within ``[low, high]``.

    Canonical means no sign on zero or positives, no leading zeros, no whitespace, no ``_``.
    """
    if not isinstance(text, str):
        raise InvalidInteger(field, f"expected a base-10 integer string, got {type(text).__name__}")
    if len(text) > _MAX_INT_DIGITS or _INT_RE.match(text) is None:
        raise InvalidInteger(field, f"not a canonical base-10 integer: {text[:90]!r}")
    value = int(text)
    if not low <= value <= high:
        raise InvalidInteger(field, f"{value} outside [{low}, {high}]")
    return value


def format_int(value: int) -> str:
    """Encode an integer as its canonical base-10 string."""
    return str(value)


def is_code(text: object) -> bool:
    """Whether ``text`` is an ASCII code (methodology ids, emission sources, error classes): 1 to
    32 printable ASCII characters without spaces (``!`` to ``~``), so right-padding it with zero
    bytes to ``bytes32`` is unambiguous and it reads the same in a block explorer."""
    return isinstance(text, str) and _CODE_RE.match(text) is not None


def encode_code(text: str) -> bytes:
    """The ``bytes32`` of a code, Solidity's ``bytes32("electricity.grid")``: its ASCII
    right-padded with zero bytes (:class:`InvalidCode`, a ``ValueError``, for anything
    :func:`is_code` refuses)."""
    if not is_code(text):
        raise InvalidCode(f"not a code (1-32 printable ASCII characters, no spaces): {text!r:.60}")
    return text.encode("ascii").ljust(32, b"\x00")
