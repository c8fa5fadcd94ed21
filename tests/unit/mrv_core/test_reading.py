import dataclasses
import random
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
