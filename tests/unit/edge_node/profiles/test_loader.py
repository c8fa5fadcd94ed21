"""Meter profile files: every shipped file loads, carries the facts of its sources
(/work/shared/METERS.md as summarised in the files), and a broken file is refused with its
file, key and problem named."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_node.errors import ProfileError
from edge_node.profiles import (
    DataType,
    Function,
    Ratio,
    WordOrder,
    list_profiles,
    load_profile,
    load_profile_file,
    parse_profile,
)
from edge_node.profiles.loader import check_scale, largest_raw
from mrv_core.quantities import QuantityKind, quantity_by_code

SHIPPED = ["abb.b2x", "acrel.adl400", "acrel.adl400-primary", "acrel.adw300",
           "carlo-gavazzi.em24", "chint.dtsu666", "eastron.sdm120", "eastron.sdm630", "generic",
           "schneider.pm5xxx"]

VALID = """
id = "test.meter"
manufacturer = "Test"
model = "T1"
max_registers_per_read = 10
[sources]
X1 = "a manual"
[[points]]
name = "energy_import"
quantity = "energy.active.import:Wh"
function = 3
address = 0
type = "uint32"
word_order = "high_first"
scale = "10"
counter_width = 32
source = "X1"
"""


def test_every_shipped_profile_is_listed_and_loads() -> None:
    assert list(list_profiles()) == SHIPPED
    for profile_id in SHIPPED:
        profile = load_profile(profile_id)
        assert profile.id == profile_id
        assert {"energy_import", "energy_export", "power_active"} <= {p.name for p in
                                                                      profile.points}


@pytest.mark.parametrize("profile_id", SHIPPED)
def test_every_point_is_consistent_with_its_quantity_and_sources(profile_id: str) -> None:
    profile = load_profile(profile_id)
    for point in profile.points:
        quantity = quantity_by_code(point.quantity)
        integer_counter = (quantity.kind is QuantityKind.CUMULATIVE
                           and not point.data_type.is_float)
        assert (point.counter_width is not None) == integer_counter, point.name
        assert all(key.strip() in profile.sources for key in point.source.split(","))
        assert point.end <= 65536 and point.scale > 0


def test_the_documented_register_facts_are_in_the_files() -> None:
    sdm630 = load_profile("eastron.sdm630").point("energy_import")
    assert (sdm630.function, sdm630.address, sdm630.data_type, sdm630.scale) == (
        Function.READ_INPUT_REGISTERS, 0x48, DataType.FLOAT32, Fraction(1000))
    assert load_profile("eastron.sdm120").point("power_active").address == 0x000C
    assert load_profile("eastron.sdm120").phases == 1
    em24 = load_profile("carlo-gavazzi.em24").point("energy_import")
    assert (em24.word_order, em24.counter_width, em24.scale) == (WordOrder.LOW_FIRST, 31,
                                                                Fraction(100))
    dtsu = load_profile("chint.dtsu666").point("power_active")
    assert (dtsu.address, dtsu.scale) == (0x2012, Fraction(1, 10))
    abb = load_profile("abb.b2x").point("energy_import")
    assert (abb.data_type, abb.scale, abb.not_available) == (DataType.UINT64, Fraction(10),
                                                             ((0xFFFF,) * 4,))
    acrel = load_profile("acrel.adl400")
    assert acrel.max_registers_per_read == 14
    assert [acrel.point(n).ratio for n in ("energy_import", "voltage_l1", "current_l1",
                                           "frequency")] == [Ratio.CT_PT, Ratio.PT, Ratio.CT,
                                                             Ratio.NONE]
    assert not any(p.ct_pt for p in load_profile("acrel.adl400-primary").points)
    schneider = load_profile("schneider.pm5xxx").point("energy_import")
    assert (schneider.address, schneider.data_type, schneider.confirmed) == (
        3203, DataType.INT64, False)
    # METERS.md: no Schneider document confirms the word order, so no point is confirmed.
    assert not any(p.confirmed for p in load_profile("schneider.pm5xxx").points)
    assert not load_profile("abb.b2x").point("power_active").confirmed
    assert load_profile("abb.b2x").point("energy_import").confirmed
    assert load_profile("eastron.sdm630").serial is not None
    assert not load_profile("eastron.sdm630").serial.confirmed  # type: ignore[union-attr]


def test_a_valid_file_parses_and_a_file_outside_the_package_loads(tmp_path: Path) -> None:
    profile = parse_profile(VALID, "t.toml")
    assert profile.point("energy_import").scale == 10
    path = tmp_path / "test.meter.toml"
    path.write_text(VALID, encoding="utf-8")
    assert load_profile_file(path) == profile


def _refused(text: str) -> ProfileError:
    with pytest.raises(ProfileError) as caught:
        parse_profile(text, "bad.toml", expected_id="test.meter")
    assert str(caught.value).startswith("bad.toml")
    return caught.value


@pytest.mark.parametrize(("old", "new", "key", "problem"), [
    ('model = "T1"', 'model = "T1"\ncolour = "red"', "colour", "unknown key"),
    ('scale = "10"', 'scale = "10"\nbogus = 1', "points[0].bogus", "unknown key"),
    ('quantity = "energy.active.import:Wh"', 'quantity = "energy.active.import:kWh"',
     "points[0].quantity", "unknown quantity code"),
    ('scale = "10"', "scale = 0.1", "points[0].scale", "exact positive decimal"),
    ('scale = "10"', 'scale = "0"', "points[0].scale", "exact positive decimal"),
    ('scale = "10"', 'scale = "1e3"', "points[0].scale", "exact positive decimal"),
    ("address = 0", "address = 65535", "points[0].address", "runs past register 65535"),
    ("address = 0", "address = -1", "points[0].address", "expected 0..65535"),
    ("counter_width = 32", "", "points[0].counter_width", "missing"),
    ("counter_width = 32", "counter_width = 33", "points[0].counter_width", "expected 1..32"),
    ('type = "uint32"', 'type = "float32"', "points[0].counter_width", "only integer"),
    ('type = "uint32"', 'type = "int32"', "points[0].counter_width", "expected 1..31"),
    ('word_order = "high_first"', "", "points[0].word_order", "missing"),
    ('word_order = "high_first"', 'word_order = "big"', "points[0].word_order", "one of"),
    ("function = 3", "function = 1", "points[0].function", "expected one of 3, 4"),
    ("function = 3", "function = true", "points[0].function", "expected int"),
    ('source = "X1"', 'source = "X1, X2"', "points[0].source", "'X2' is not a key"),
    ('id = "test.meter"', 'id = "other.meter"', "id", "expected 'test.meter'"),
    ('id = "test.meter"', 'id = "Test Meter"', "id", "dotted lowercase"),
    ("max_registers_per_read = 10", "max_registers_per_read = 126",
     "max_registers_per_read", "expected 1..125"),
    ('scale = "10"', 'scale = "10"\nnot_available = [[0xFFFF]]', "points[0].not_available[0]",
     "expected 2 register values"),
    ('scale = "10"', 'scale = "10"\nratio = "ct+pt"', "points[0].ratio", "one of"),
    ('manufacturer = "Test"', "", "manufacturer", "missing"),
    ('model = "T1"', 'model = "T1"\nphases = 2', "phases", "expected 1 or 3"),
    ('X1 = "a manual"', 'X1 = ""', "sources.X1", "must not be empty"),
    ("[[points]]", "[serial]\nbaudrate = 9600\nparity = \"X\"\nstopbits = 1\nunit_id = 1\n"
                   "confirmed = true\n[[points]]", "serial.parity", "one of N, E, O"),
])
def test_a_broken_key_is_refused_naming_file_key_and_problem(old: str, new: str, key: str,
                                                             problem: str) -> None:
    assert old in VALID
    error = _refused(VALID.replace(old, new, 1))
    assert error.key == key, str(error)
    assert problem in error.problem, str(error)


def test_duplicate_names_and_overlapping_registers_are_refused() -> None:
    second = VALID[VALID.index("[[points]]"):]
    error = _refused(VALID + second)
    assert (error.key, "already names points[0]" in error.problem) == ("points[1].name", True)
    overlapping = second.replace('name = "energy_import"', 'name = "other"').replace(
        "address = 0", "address = 1")
    error = _refused(VALID + overlapping)
    assert error.key == "points[1].address" and "overlap energy_import" in error.problem


def test_bad_toml_and_an_unknown_shipped_id_are_refused(tmp_path: Path) -> None:
    assert "not valid TOML" in str(_refused("id = "))
    with pytest.raises(ProfileError, match=r"known: abb\.b2x"):
        load_profile("nosuch.meter")
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile_file(tmp_path / "missing.toml")
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(ProfileError, match=r"not a regular file \(a FIFO\)"):
        load_profile_file(fifo)  # refused unread: nothing blocks
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"id = \"\xff\"")
    with pytest.raises(ProfileError, match="not UTF-8"):
        load_profile_file(binary)


def test_a_profile_file_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "test.meter.toml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode("utf-8"))
    assert load_profile_file(path) == parse_profile(VALID, "t.toml")


def test_a_scale_pushing_the_largest_raw_value_past_int256_is_refused_stating_the_bound() -> None:
    # uint32: the largest raw value is 2**32 - 1; "1" + 75 zeros times it is past 2**255 - 1.
    error = _refused(VALID.replace('scale = "10"', f'scale = "1{"0" * 75}"', 1))
    assert error.key == "points[0].scale", str(error)
    assert "the largest raw value 4294967295 x scale must be at most 2**255 - 1" \
        in error.problem, str(error)
    assert "scale <= 1.348e+67" in error.problem, str(error)


@given(st.sampled_from([d for d in DataType if d is not DataType.FLOAT64]),
       st.integers(min_value=-3, max_value=3))
def test_the_largest_accepted_scale_keeps_every_raw_value_inside_int256(
        data_type: DataType, offset: int) -> None:
    largest = largest_raw(data_type)
    assert largest is not None
    scale = Fraction(2**255 - 1 + offset, largest)
    if largest * scale <= 2**255 - 1:
        check_scale(scale, data_type)
    else:
        with pytest.raises(ValueError, match=r"must be at most 2\*\*255 - 1"):
            check_scale(scale, data_type)


def test_a_float64_point_has_no_scale_bound_at_load() -> None:
    # Its finite range passes int256 at any usable scale: values past it fail per sample.
    assert largest_raw(DataType.FLOAT64) is None
    check_scale(Fraction(10**80), DataType.FLOAT64)
