"""ASCII codes as ``bytes32``: source, parameter, unit, key and methodology identifiers.

On chain every code is Solidity's ``bytes32("electricity.grid")``: the ASCII text right-padded with
zero bytes. A code here is 1 to 32 printable ASCII characters without spaces (``!`` to ``~``),
so padding is unambiguous and the text reads the same in a block explorer.
"""

from __future__ import annotations

import re

__all__ = ["ZERO32", "decode_code", "encode_code", "is_code", "show_code"]

#: ``bytes32(0)``: the empty code (no target) and the empty evidence hash.
ZERO32 = bytes(32)

_CODE = re.compile(r"[!-~]{1,32}\Z", re.ASCII)


def is_code(text: object) -> bool:
    """Whether ``text`` is a valid code: 1 to 32 printable ASCII characters, no spaces."""
    return isinstance(text, str) and _CODE.match(text) is not None


def encode_code(text: str) -> bytes:
    """The 32 bytes of a code (``ValueError`` for anything :func:`is_code` refuses)."""
    if not is_code(text):
        raise ValueError(f"not a code (1-32 printable ASCII characters, no spaces): {text!r:.60}")
    return text.encode("ascii").ljust(32, b"\x00")


def decode_code(raw: bytes) -> str | None:
    """The code held by 32 bytes, or ``None`` when they hold none (zero, non-ASCII, inner NUL)."""
    if len(raw) != 32:
        return None
    try:
        text = raw.rstrip(b"\x00").decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if is_code(text) else None


def show_code(raw: bytes) -> str:
    """``raw`` for a message: its code text where it holds one, else ``0x`` hex."""
    text = decode_code(raw)
    return repr(text) if text is not None else "0x" + raw.hex()
