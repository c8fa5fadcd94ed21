"""mrv_core.wire's signed-reading decoder: the direct path (for valid objects) accepts exactly
what the field-by-field path accepts, and gives the same reading."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from factories import TEST_DOMAIN, TEST_KEY, readings
from mrv_core.errors import DecodeError, FormatError
from mrv_core.wire import (
    _decode_signed_reading_checked,
    _decode_signed_reading_direct,
    decode_signed_reading,
    encode_signed_reading,
)

JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=80),
                        st.lists(st.integers(), max_size=2), st.sampled_from(
                            ["0x", "0x00", "0X" + "ab" * 32, "0x" + "ab" * 32, "-1", "01",
                             "18446744073709551616", "energy.active.import:Wh", "a/b/c"]))


@settings(max_examples=300, deadline=None)
@given(reading=readings(device=TEST_KEY.address), mutate=st.booleans(),
       field=st.sampled_from(["device", "meter", "meterPath", "seq", "timestamp", "quantity",
                              "value", "salt", "signature", "extra", "drop"]),
       value=JSON_VALUES)
def test_the_direct_path_accepts_exactly_what_the_checked_path_accepts(
        reading: Any, mutate: bool, field: str, value: object) -> None:
    obj: dict[str, object] = dict(encode_signed_reading(
        TEST_KEY.sign_reading(reading, TEST_DOMAIN, "demo-co/wuxi-plant/a/b/meter-1")))
    if mutate:
        if field == "drop":
            obj.pop("seq")
        else:
            obj[field] = value
    try:
        direct = _decode_signed_reading_direct(obj, "$")
    except (DecodeError, KeyError):
        direct = None
    try:
        checked = _decode_signed_reading_checked(obj, "$")
    except FormatError:
        checked = None
    assert direct == checked
    if checked is not None:
        assert decode_signed_reading(obj, "$") == checked
