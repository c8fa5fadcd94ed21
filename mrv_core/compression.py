"""gzip for wire documents, with the decompressed size bounded before it is reached.

A few kilobytes of gzip can expand to gigabytes (a "gzip bomb"), so :func:`gunzip_bounded`
never produces more than ``limit`` + 1 bytes: it stops decompressing as soon as the bound is
passed. It accepts exactly one gzip member (RFC 1952) and nothing after it: trailing bytes,
a second member or a truncated stream are :class:`FormatError` at ``$``, like every other
refusal of a document's bytes.
"""

from __future__ import annotations

import gzip
import zlib

from .errors import DocumentTooLarge, FormatError

__all__ = ["gunzip_bounded", "gzip_document"]

#: zlib's window bits for the gzip container only (a raw deflate or zlib stream is refused).
_GZIP_ONLY = 16 + zlib.MAX_WBITS


def gzip_document(data: bytes) -> bytes:
    """``data`` as one gzip member, reproducibly (no file name, modification time 0)."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def gunzip_bounded(data: bytes, limit: int) -> bytes:
    """The decompressed bytes of the single gzip member ``data``, at most ``limit`` bytes.

    Raises :class:`DocumentTooLarge` when ``data`` would decompress to more than ``limit``
    bytes (found after decompressing at most ``limit`` + 1 bytes), and :class:`FormatError`
    (location ``$``) when it is not gzip, is truncated or has bytes after its member."""
    inflater = zlib.decompressobj(_GZIP_ONLY)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise FormatError("$", f"not a gzip stream: {exc}") from None
    if len(out) > limit:
        raise DocumentTooLarge("$", f"decompresses to more than {limit} bytes, the limit")
    if not inflater.eof:
        raise FormatError("$", "gzip stream is truncated (no end of member)")
    if inflater.unused_data or inflater.unconsumed_tail:
        extra = len(inflater.unused_data) + len(inflater.unconsumed_tail)
        raise FormatError("$", f"{extra} bytes after the gzip member (trailing garbage or a "
                               "second member)")
    return out
