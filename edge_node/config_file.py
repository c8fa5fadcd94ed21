"""Reading the edge node's TOML configuration with errors that name the file, line and key.

The file is parsed with :mod:`tomllib` and validated by strict pydantic models
(:mod:`edge_node.config`): no coercion (``"60"`` is not a number, ``1`` is not ``true``), no
unknown keys. TOML parsers keep no positions, so a validation error is located afterwards by
walking the file's table headers (``[chain]``, ``[[meters]]``, ``[meters.exception.power]``)
and key lines: ``edge.toml:41: meters[2].unit_id: Input should be less than or equal to 247``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from mrv_core.errors import ConfigError
from mrv_core.files import UnreadableFile, read_regular_file

__all__ = ["MAX_CONFIG_BYTES", "describe_location", "document_location", "locate", "read_toml",
           "toml_text", "validate"]

#: A configuration file larger than this is refused unread (a node has hundreds of meters, not
#: millions).
MAX_CONFIG_BYTES = 4 * 1024 * 1024

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\.\"' ]+?)\s*=")

Location = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


def toml_text(raw: bytes) -> str:
    """A TOML file's text: UTF-8 with one leading byte order mark dropped (Windows Notepad
    writes ``EF BB BF`` first; TOML 1.0 does not allow it, so tomllib would refuse line 1).
    Every TOML file the node reads (its configuration, meter profiles) is decoded here.
    Raises :class:`UnicodeDecodeError`."""
    return raw.decode("utf-8-sig")


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed document and its text. Raises :class:`ConfigError` naming the file (and the
    line, for a syntax error)."""
    try:
        raw = read_regular_file(path, MAX_CONFIG_BYTES)
    except UnreadableFile as exc:
        raise ConfigError(f"configuration {exc}") from None
    try:
        text = toml_text(raw)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def validate(model: type[M], document: dict[str, Any], text: str, path: Path) -> M:
    """Validate ``document`` against ``model``; on failure raise :class:`ConfigError` listing
    each problem as ``FILE:LINE: key.path: message`` (at most ten)."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:10]:
            location = document_location(document, tuple(error["loc"]))
            line = locate(text, location)
            where = f"{path}:{line}" if line else str(path)
            problems.append(f"{where}: {describe_location(location)}: {error['msg']}")
        more = exc.error_count() - len(problems)
        if more > 0:
            problems.append(f"... and {more} more")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems)) from None


def document_location(document: object, location: Location) -> Location:
    """``location`` without the parts that are not in the document: pydantic adds the tag of a
    discriminated union (``connections[0].tcp.port``), which the file does not have."""
    kept: list[str | int] = []
    node = document
    for index, part in enumerate(location):
        last = index == len(location) - 1
        child = _child(node, part)
        if child is not _MISSING:
            node = child
        elif not last:
            continue  # a union tag or a validator's own label: not a key of the file
        kept.append(part)
    return tuple(kept)


_MISSING = object()


def _child(node: object, part: str | int) -> object:
    if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
        return node[part]
    if isinstance(part, str) and isinstance(node, dict) and part in node:
        return node[part]
    return _MISSING


def describe_location(location: Sequence[str | int]) -> str:
    """``("meters", 2, "unit_id")`` as ``meters[2].unit_id``."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


def locate(text: str, location: Sequence[str | int]) -> int | None:
    """The 1-based line of the key at ``location``, or of the deepest table that holds it when
    the key itself is absent (a missing required key); ``None`` when nothing matches."""
    best: tuple[int, int] | None = None  # (matched length, line)
    table: list[str | int] = []
    counts: dict[tuple[str | int, ...], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            names = _split_key(header.group(2))
            table = _table_path(names, header.group(1) == "[[", table, counts)
            best = _better(best, _common(table, location), number, len(table))
            continue
        key = _KEY.match(line)
        if key:
            path = [*table, *_split_key(key.group(1))]
            best = _better(best, _common(path, location), number, len(path))
    return best[1] if best else None


def _split_key(key: str) -> list[str]:
    return [part.strip().strip("\"'") for part in key.split(".")]


def _table_path(names: list[str], array: bool, current: list[str | int],
                counts: dict[tuple[str | int, ...], int]) -> list[str | int]:
    # A header names its path from the root; array-of-tables segments carry the index of the
    # element most recently opened ([[meters]] then [meters.exception] is inside that element).
    path: list[str | int] = []
    for depth, name in enumerate(names):
        path.append(name)
        prefix = tuple(path)
        last = depth == len(names) - 1
        if last and array:
            counts[prefix] = counts.get(prefix, -1) + 1
            path.append(counts[prefix])
        elif prefix in counts:
            path.append(counts[prefix])
    return path


def _common(path: Sequence[str | int], location: Sequence[str | int]) -> int:
    """How many leading parts ``path`` and ``location`` share, or -1 when ``path`` goes past
    ``location`` or leaves it."""
    if len(path) > len(location) or list(location[:len(path)]) != list(path):
        return -1
    return len(path)


def _better(best: tuple[int, int] | None, matched: int, line: int,
            length: int) -> tuple[int, int] | None:
    if matched < 0 or matched != length:
        return best
    if best is None or matched > best[0]:
        return (matched, line)
    return best
