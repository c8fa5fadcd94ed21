import dataclasses
import random
import re
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from factories import TEST_KEY, make_reading
from mrv_core import InvalidMeterPath, InvalidReading, Reading, SignedReading, UnknownQuantity
from mrv_core.codec import INT256_MAX, INT256_MIN, UINT64_MAX
from mrv_core.hashing import keccak256
from mrv_core.reading import level_scripts, meter_id, new_salts, validate_meter_path

VALID, PATH = make_reading(random.Random(1))


def with_(**changes: object) -> Reading:
    return dataclasses.replace(VALID, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("field,value", [
    ("device", bytes(19)), ("device", bytes(21)), ("device", "0x" + "00" * 20),
    ("meter", bytes(31)), ("salt", bytes(33)), ("salt", bytearray(32)),
    ("seq", -1), ("seq", UINT64_MAX + 1), ("seq", 1.0), ("seq", True),
    ("timestamp", -1), ("timestamp", UINT64_MAX + 1),
    ("value", INT256_MAX + 1), ("value", INT256_MIN - 1), ("value", 1.5),
])
def test_out_of_range_fields_are_rejected(field: str, value: object) -> None:
    with pytest.raises(InvalidReading, match=field):
        with_(**{field: value})


def test_extremes_are_accepted() -> None:
    with_(seq=UINT64_MAX, timestamp=UINT64_MAX, quantity="power.active:W", value=INT256_MIN)
    with_(seq=0, timestamp=0, value=INT256_MAX)


def test_unknown_quantity_is_rejected() -> None:
    with pytest.raises(UnknownQuantity, match="known:"):
        with_(quantity="energy.active.import:kWh")


def test_cumulative_quantity_cannot_be_negative() -> None:
    with pytest.raises(InvalidReading, match="negative"):
        with_(quantity="energy.active.import:Wh", value=-1)
    assert with_(quantity="power.active:W", value=-1).value == -1


def test_reading_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        VALID.value = 5  # type: ignore[misc]


def test_meter_id_is_keccak_of_utf8_path() -> None:
    path = "示例集团/无锡工厂/装配车间/一号线/总表"
    assert meter_id(path) == keccak256(path.encode("utf-8"))


@pytest.mark.parametrize("path", [
    "a/b/c/d", "a/b/c/d/e/f", "a//c/d/e", "a/b/c/d/ e", "a/b/c/d/e ", "a/b/c\n/d/e",
    "a/b/c/d/e\u200b", "a/b/c/d/e\u202e", "a/b/c/d/e\u00a0", "a/b/c/d/" + "x" * 260,
])
def test_bad_meter_paths_are_rejected(path: str) -> None:
    with pytest.raises(InvalidMeterPath):
        validate_meter_path(path)


def test_meter_path_must_be_nfc() -> None:
    decomposed = "a/b/c/d/Cafe\u0301"  # NFD form of "Café"
    with pytest.raises(InvalidMeterPath, match="NFC"):
        validate_meter_path(decomposed)
    assert validate_meter_path("a/b/c/d/Caf\u00e9") == "a/b/c/d/Caf\u00e9"


def test_signed_reading_checks_shapes() -> None:
    with pytest.raises(InvalidReading, match="signature"):
        SignedReading(VALID, bytes(64), PATH)
    with pytest.raises(InvalidMeterPath):
        SignedReading(VALID, bytes(65), "not/a/path")


def test_repr_shows_fields_readably() -> None:
    text = repr(with_(device=TEST_KEY.address))
    assert "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf" in text


def test_new_salts_gives_count_distinct_32_byte_salts() -> None:
    salts = new_salts(1000)
    assert len(salts) == 1000 and all(type(s) is bytes and len(s) == 32 for s in salts)
    assert len(set(salts)) == 1000
    assert new_salts(0) == []


# -- one script per level (look-alike letters) -------------------------------------------------

LATIN = st.text(st.characters(codec="ascii", categories=("Lu", "Ll")), min_size=1, max_size=12)
CYRILLIC_OR_GREEK = st.one_of(st.characters(min_codepoint=0x0430, max_codepoint=0x044F),
                              st.characters(min_codepoint=0x03B1, max_codepoint=0x03C9))
SINGLE_SCRIPT = st.one_of(
    LATIN,
    st.text(st.characters(min_codepoint=0x0430, max_codepoint=0x044F), min_size=1, max_size=12),
    st.text(st.characters(min_codepoint=0x03B1, max_codepoint=0x03C9), min_size=1, max_size=12),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=8))
COMMON = st.text(st.sampled_from("0123456789-_. "), max_size=3)


def _path(level: str) -> str:
    return f"acme/plant-1/hall/{level}/m"


@given(level=SINGLE_SCRIPT, digits=COMMON)
@example(level="\u0430\u0441\u043c\u0435", digits="").via("all Cyrillic: one script")
@example(level="\u7535\u8868", digits="3").via("Chinese with a digit")
def test_a_level_in_one_script_with_digits_and_punctuation_is_accepted(level: str,
                                                                        digits: str) -> None:
    path = _path((level + digits).strip())
    assert validate_meter_path(path) == path


@given(latin=LATIN.filter(lambda text: len(text) >= 2), intruder=CYRILLIC_OR_GREEK,
       at=st.integers(0, 12))
@example(latin="acme", intruder="\u0430", at=0).via("Cyrillic a for Latin a")
@example(latin="Meter", intruder="\u03bf", at=4).via("Greek omicron for Latin o")
def test_a_cyrillic_or_greek_letter_among_latin_ones_is_refused_naming_it(
        latin: str, intruder: str, at: int) -> None:
    level = latin[:at] + intruder + latin[at:]
    with pytest.raises(InvalidMeterPath, match=f"mixes the scripts .*U\\+{ord(intruder):04X}"):
        validate_meter_path(_path(level))


@given(han=st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1,
                   max_size=6),
       other=st.one_of(LATIN, st.text(st.characters(min_codepoint=0x3041, max_codepoint=0x3096),
                                      min_size=1, max_size=4)))
@example(han="\u4e00\u53f7\u7ebf", other="A").via("一号线A")
def test_han_with_latin_or_kana_is_accepted_as_east_asian_text(han: str, other: str) -> None:
    assert validate_meter_path(_path(han + other)) == _path(han + other)


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=20))
def test_level_scripts_counts_only_letters(text: str) -> None:
    letters = [c for c in text if unicodedata.category(c).startswith("L")]
    assert (level_scripts(text) == frozenset()) == (letters == [])
    assert len(level_scripts(text)) <= len(letters)


# -- rule 5's extension: NFKC-stable, no overlaying marks ---------------------------------------

_REFUSED_ANYWAY = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})


def _allowed_in_context(ch: str) -> bool:
    """Not refused by the older rules (categories, NFC) after a Latin letter."""
    return (unicodedata.category(ch) not in _REFUSED_ANYWAY
            and unicodedata.normalize("NFC", "a" + ch) == "a" + ch)


#: Every character (planes 0-1) that NFKC changes and the older rules let through.
COMPATIBILITY = [ch for ch in map(chr, range(0x20000))
                 if _allowed_in_context(ch) and unicodedata.normalize("NFKC", ch) != ch]
#: Every combining mark of canonical combining class 1 (Overlay) the older rules let through.
OVERLAYS = [ch for ch in map(chr, range(0x20000)) if unicodedata.category(ch) == "Mn"
            and unicodedata.combining(ch) == 1 and _allowed_in_context(ch)
            and unicodedata.normalize("NFKC", ch) == ch]


def test_the_compatibility_and_overlay_sets_hold_the_reviewed_look_alikes() -> None:
    assert {"\uff2d", "\U0001d40c", "\ufb01", "\u2160"} <= set(COMPATIBILITY)
    assert {chr(c) for c in range(0x0334, 0x0339)} <= set(OVERLAYS)


@given(latin=LATIN, odd=st.sampled_from(COMPATIBILITY), at=st.integers(0, 12))
@example(latin="M1", odd="\uff2d", at=0).via("fullwidth M")
@example(latin="1", odd="\U0001d40c", at=0).via("mathematical bold M")
@example(latin="re", odd="\ufb01", at=0).via("fi ligature")
@example(latin="M", odd="\u2160", at=1).via("Roman numeral one")
def test_a_compatibility_character_is_refused_naming_it(latin: str, odd: str, at: int) -> None:
    level = latin[:at] + odd + latin[at:]
    name = unicodedata.name(odd, "(no name)")
    with pytest.raises(InvalidMeterPath, match=f"compatibility character U\\+{ord(odd):04X} "
                                               f"{re.escape(name)}, which Unicode NFKC"):
        validate_meter_path(_path(level))


@given(latin=LATIN, mark=st.sampled_from(OVERLAYS))
@example(latin="M1", mark="\u0337").via("M1 with a short solidus overlay")
def test_an_overlaying_combining_mark_is_refused_naming_it(latin: str, mark: str) -> None:
    with pytest.raises(InvalidMeterPath, match=f"overlaying combining mark "
                                               f"U\\+{ord(mark):04X}"):
        validate_meter_path(_path(latin + mark))


@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12))
def test_every_accepted_path_is_nfkc_stable_and_has_no_overlay(level: str) -> None:
    try:
        path = validate_meter_path(_path(level))
    except InvalidMeterPath:
        return
    assert unicodedata.normalize("NFKC", path) == path
    assert not any(unicodedata.combining(ch) == 1 for ch in path)


def test_a_whole_level_in_another_script_stays_allowed_a_known_limit() -> None:
    # Cyrillic U+041C + 1 and Latin M1 look alike, but each is one script: NFKC cannot tell
    # them apart (docs/protocol.md 2.1, rule 5: an operator reviews the configuration).
    assert validate_meter_path(_path("\u041c1")) == _path("\u041c1")
    assert validate_meter_path(_path("M1")) == _path("M1")


def test_a_path_prefix_is_one_to_five_levels_under_the_meter_path_rules() -> None:
    from mrv_core.reading import validate_path_prefix

    for prefix in ("demo-co", "demo-co/wuxi-plant", "demo-co/wuxi-plant/a/l1/m1",
                   "示例集团/无锡工厂"):
        assert validate_path_prefix(prefix) == prefix
    for bad in ("", "demo-co/", "a/b/c/d/e/f", " demo-co", "demo-co//x", 7):
        with pytest.raises(InvalidMeterPath):
            validate_path_prefix(bad)
