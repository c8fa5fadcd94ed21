"""Strict JSON reading for wire documents: size-limited, no duplicate keys, no floats, no NaN.

Python's ``json`` accepts things a verifier must not: the last of two duplicate keys silently
wins (so two parties can read different values from one document), ``NaN`` and ``Infinity``
pass, and numbers become floats. This module refuses all of those.

It also bounds nesting depth *before* parsing. The C decoder recurses once per level and trusts
the interpreter's recursion limit, which py_ecc and py-evm (imported with eth-account and
eth-tester) raise to 100,000: at that limit a few hundred kilobytes of ``[[[[...`` overflow the C
stack and kill the process. Counting brackets outside strings first keeps a hostile document a
clean :class:`FormatError` whatever else the process has imported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from typing import Any

from .errors import FormatError

__all__ = ["MAX_DEPTH", "expect_object", "loads_strict"]

#: Deepest nesting of arrays and objects accepted; TrustMRV documents need fewer than 6 levels.
MAX_DEPTH = 32
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # unrolled: a third faster on bundles
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")  # one pass removes exactly one level


def _outside_strings(text: str) -> str:
    """``text`` without its string literals, as far as a JSON decoder reading it from the start
    would find them.

    Without a backslash, every ``"`` opens or closes a string, so the text between the quotes
    of odd rank is string content: a split does it (2.5 times faster than the regex on a
    10,000-reading uplink document). An odd last quote makes the rest string content; the
    decoder stops there too (an unterminated string), so no bracket it could nest on is lost.
    With a backslash, an escaped quote must not count: the regex :data:`_STRINGS` does."""
    if "\\" not in text:
        return "".join(text.split('"')[::2])
    return _STRINGS.sub("", text)


def _check_depth(text: str, max_depth: int) -> None:
    """Raise if arrays/objects nest deeper than ``max_depth`` (brackets inside strings aside).

    Peels innermost ``[]``/``{}`` pairs one level per pass, in C-speed string operations.
    """
    brackets = _NOT_BRACKETS.sub("", _outside_strings(text))
    for _ in range(max_depth):
        if not brackets:
            return
        peeled = _INNERMOST.sub("", brackets)
        if peeled == brackets:  # never for valid JSON; refused before the decoder recurses
            raise FormatError("$", "not JSON: unbalanced brackets")
        brackets = peeled
    if brackets:
        raise FormatError("$", f"nested deeper than {max_depth} levels")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise FormatError("$", f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject(kind: str) -> Callable[[str], Any]:
    def reject(text: str) -> Any:
        raise FormatError("$", f"{kind} {text!r} not allowed: integers travel as strings")

    return reject


def loads_strict(data: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH,
                 max_string: int | None = None) -> Any:
    """Parse UTF-8 JSON of at most ``max_bytes`` bytes, strictly.

    ``max_depth`` bounds the nesting of arrays and objects (checked before parsing);
    ``max_string``, when given, bounds every string value and object key, in characters
    (checked after parsing, the error naming the JSON path of the first one too long)."""
    if len(data) > max_bytes:
        raise FormatError("$", f"document is {len(data)} bytes, limit {max_bytes}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError("$", f"not UTF-8 at byte {exc.start}") from None
    _check_depth(text, max_depth)
    try:
        parsed = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_reject("float"),
            parse_constant=_reject("constant"),
        )
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} col {exc.colno}"
        raise FormatError("$", f"not JSON: {exc.msg} at {where}") from None
    except FormatError:
        raise
    except ValueError as exc:  # an integer past Python's digit limit (int_max_str_digits)
        raise FormatError("$", f"not JSON this decoder takes: {str(exc)[:120]}") from None
    if max_string is not None:
        _check_strings(parsed, max_string)
    return parsed


def _check_strings(document: Any, limit: int) -> None:
    """Raise at the JSON path of a string value or key longer than ``limit``. A container's
    place is kept as (parent place, key) and spelled out as a path only for the error."""
    stack: list[tuple[Any, Any]] = [(document, None)]
    while stack:
        container, place = stack.pop()
        items = (container.items() if isinstance(container, dict)
                 else enumerate(container) if isinstance(container, list) else ())
        for key, value in items:
            if isinstance(key, str) and len(key) > limit:
                raise FormatError(_path(place), f"key of {len(key)} characters, limit {limit}")
            if isinstance(value, str):
                if len(value) > limit:
                    raise FormatError(_path((place, key)),
                                      f"string of {len(value)} characters, limit {limit}")
            elif isinstance(value, dict | list):
                stack.append((value, (place, key)))
    if isinstance(document, str) and len(document) > limit:
        raise FormatError("$", f"string of {len(document)} characters, limit {limit}")


def _path(place: Any) -> str:
    """``$.a[3].b`` of a place built by :func:`_check_strings`."""
    keys = []
    while place is not None:
        place, key = place
        keys.append(f".{key}" if isinstance(key, str) else f"[{key}]")
    return "$" + "".join(reversed(keys))


def expect_object(
    value: object, where: str, required: Collection[str], optional: Collection[str] = ()
) -> dict[str, Any]:
    """``value`` as a JSON object with exactly the ``required`` keys plus any of ``optional``."""
    if not isinstance(value, dict):
        raise FormatError(where, f"expected an object, got {_json_type(value)}")
    missing = [key for key in required if key not in value]
    if missing:
        raise FormatError(where, f"missing field(s): {', '.join(missing)}")
    unknown = sorted(set(value) - set(required) - set(optional))
    if unknown:
        raise FormatError(where, f"unknown field(s): {', '.join(unknown)}")
    return value


def _json_type(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            type(None): "null"}.get(type(value), type(value).__name__)
