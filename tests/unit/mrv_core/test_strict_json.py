"""Strict JSON (mrv_core.strict_json): the nesting bound holds whichever way string literals are
found, and a hostile document is a FormatError, never a crash."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mrv_core.errors import FormatError
from mrv_core.strict_json import _STRINGS, _outside_strings, loads_strict

#: Texts of JSON's structural characters, quotes and backslashes, in any order.
_JSONISH = st.text(alphabet='[]{}",:a\\ ', max_size=60)


@given(_JSONISH.filter(lambda t: "\\" not in t and t.count('"') % 2 == 0))
@example('["]", ["[", "]"], "}"]')
def test_without_backslashes_the_split_removes_exactly_the_string_literals(text: str) -> None:
    assert _outside_strings(text) == _STRINGS.sub("", text)


@given(st.recursive(st.none() | st.text(alphabet='[]{}"\\a', max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(alphabet='[]{}"\\a', max_size=4), inner,
                                      max_size=3), max_leaves=12))
def test_the_depth_bound_accepts_exactly_the_documents_nested_within_it(document: object) -> None:
    text = json.dumps(document)

    def depth(value: object) -> int:
        children = value.values() if isinstance(value, dict) else \
            value if isinstance(value, list) else ()
        return 1 + max(map(depth, children), default=0) if isinstance(value, dict | list) \
            else 0

    limit = 3
    if depth(document) <= limit:
        assert loads_strict(text.encode(), max_bytes=10_000, max_depth=limit) == document
    else:
        with pytest.raises(FormatError, match=f"nested deeper than {limit}"):
            loads_strict(text.encode(), max_bytes=10_000, max_depth=limit)


@pytest.mark.parametrize("text", [
    '"' + "[" * 100_000,  # the brackets sit in a string that never ends
    '["' + '"' + "[" * 100_000,  # a closed string, then an unterminated one
    '["]"' + "[" * 100_000 + "]" * 100_000 + "]",  # string brackets must not hide depth
    '["\\"]' + "[" * 100_000,  # an escaped quote is no string end
], ids=["unterminated", "closed-then-unterminated", "bracket-in-string", "escaped-quote"])
def test_hostile_nesting_is_a_format_error_not_a_crash(text: str) -> None:
    with pytest.raises(FormatError):
        loads_strict(text.encode(), max_bytes=1_000_000)


def test_an_integer_past_the_digit_limit_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="not JSON this decoder takes"):
        loads_strict(b'{"format": ' + b"9" * 5000 + b"}", max_bytes=1_000_000)
