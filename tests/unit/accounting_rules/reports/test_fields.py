"""Free text a person enters (evidence names, activity descriptions, regulators' comments,
meter-change notes) is refused with a bidi control or another format character, naming the
field and the code point (review finding: U+202E in a name showed it reversed); documents
already made keep being read by the format's own rule."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounting_rules.reports.fields import (
    BIDI_CONTROLS,
    INVISIBLE_LETTERS,
    check_entered_text,
    check_text,
)
from mrv_core.errors import FormatError

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
        "\u2069", "\u200e", "\u200f", "\u061c"]


def test_the_bidi_controls_are_the_twelve_of_uax_9() -> None:
    assert frozenset(BIDI) == BIDI_CONTROLS
    assert all(unicodedata.category(ch) == "Cf" for ch in BIDI)


@pytest.mark.parametrize("control", BIDI, ids=[f"U+{ord(c):04X}" for c in BIDI])
def test_each_bidi_control_is_refused_naming_the_field_and_the_code_point(control: str) -> None:
    with pytest.raises(FormatError) as caught:
        check_entered_text(f"invoice{control}fdp.exe", "description", 100, lines=True)
    problem = caught.value.problem
    assert caught.value.where == "description"
    assert str(caught.value).startswith("description: the format character ")
    assert f"U+{ord(control):04X} {unicodedata.name(control)} (a bidi control" in problem
    assert check_text(f"invoice{control}fdp.exe", "description", 100) is not None


@pytest.mark.parametrize("hidden", ["\u200b", "\u200d", "\u00ad", "\ufeff", "\u2060"])
def test_other_format_characters_are_refused_as_invisible(hidden: str) -> None:
    with pytest.raises(FormatError, match=rf"name: the format character "
                                          rf"U\+{ord(hidden):04X} .*\(invisible when shown\)"):
        check_entered_text(f"a{hidden}b", "name", 100)


@pytest.mark.parametrize("hidden", ["\u2028", "\u2029", "\u034f", "\u3164", "\u115f", "\uffa0"])
def test_separators_and_invisible_letters_are_refused_naming_the_code_point(
        hidden: str) -> None:
    """Hostile review: U+2028 broke a comment's line though only U+000A may, and U+034F and the
    Hangul fillers passed while showing as nothing."""
    with pytest.raises(FormatError, match=rf"comments: the character U\+{ord(hidden):04X} "):
        check_entered_text(f"a{hidden}b", "comments", 100, lines=True)


def test_controls_stay_refused_and_plain_text_in_any_script_passes() -> None:
    with pytest.raises(FormatError, match="forbidden character U\\+0009"):
        check_entered_text("a\tb", "name", 100)
    text = "天然气发票 no. 123\nفاتورة الغاز\nСчёт"  # noqa: RUF001
    assert check_entered_text(text, "description", 100, lines=True) == text


@given(st.text(alphabet=st.characters(categories=("L", "M", "N", "P", "S", "Zs"),
                                     exclude_characters=INVISIBLE_LETTERS), max_size=40))
def test_text_without_format_or_control_characters_passes_as_check_text_says(
        text: str) -> None:
    try:
        check_text(text, "comments", 100, empty=True)
    except FormatError:
        with pytest.raises(FormatError):
            check_entered_text(text, "comments", 100, empty=True)
        return
    assert check_entered_text(text, "comments", 100, empty=True) == text
