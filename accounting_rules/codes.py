"""ASCII codes as ``bytes32``: source, parameter, unit, key and methodology identifiers.

On chain every code is Solidity's ``bytes32("electricity.grid")``: the ASCII text right-padded with
zero bytes. A code here is 1 to 32 printable ASCII characters without spaces (``!`` to ``~``),
so padding is unambiguous and the text reads the same in a block explorer. The rule and the
encoder live in :mod:`mrv_core.codec` (signed records carry codes too); they are re-exported here.
"""

from __future__ import annotations

from mrv_core.codec import encode_code, is_code

__all__ = ["ZERO32", "decode_code", "encode_code", "is_code", "show_code"]

#: ``bytes32(0)``: the empty code (no target) and the empty evidence hash.
ZERO32 = bytes(32)


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
