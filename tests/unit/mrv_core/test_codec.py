import pytest
from hypothesis import given
from hypothesis import strategies as st

from mrv_core.codec import (
    INT256_MAX,
    INT256_MIN,
    format_address,
    format_hex,
    parse_address,
    parse_hex,
    parse_int,
)
from mrv_core.errors import InvalidAddress, InvalidHex, InvalidInteger


@given(st.binary(max_size=80))
def test_hex_round_trip(data: bytes) -> None:
    assert parse_hex(format_hex(data)) == data


@pytest.mark.parametrize("text", ["", "0x0", "0xgg", "00ff", "0X00", " 0x00", "0x00 ", 1, None])
def test_bad_hex_is_rejected(text: object) -> None:
    with pytest.raises(InvalidHex):
        parse_hex(text)


def test_hex_length_is_exact() -> None:
    with pytest.raises(InvalidHex, match="expected 32 bytes, got 31"):
        parse_hex("0x" + "00" * 31, 32, field="salt")


def test_eip55_known_answer() -> None:
    # The EIP-55 specification's own examples.
    for expected in ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                     "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                     "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"):
        assert format_address(parse_address(expected.lower())) == expected


def test_address_checksum_is_enforced_for_mixed_case() -> None:
    good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    assert parse_address(good.upper().replace("0X", "0x")) == parse_address(good)
    with pytest.raises(InvalidAddress, match="checksum"):
        parse_address("0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")


@pytest.mark.parametrize("text", ["01", "+1", "-0", "1.0", "1e3", " 1", "1_000", "", "0x10", "--1"])
def test_non_canonical_integers_are_rejected(text: str) -> None:
    with pytest.raises(InvalidInteger):
        parse_int(text, INT256_MIN, INT256_MAX)


def test_integers_are_range_checked_and_not_json_numbers() -> None:
    assert parse_int("-5", -10, 10) == -5
    with pytest.raises(InvalidInteger, match="outside"):
        parse_int("11", -10, 10)
    with pytest.raises(InvalidInteger, match="string"):
        parse_int(5, -10, 10)
    with pytest.raises(InvalidInteger):
        parse_int("9" * 5000, 0, 10)  # refused before int() does any work


@given(st.integers(min_value=INT256_MIN, max_value=INT256_MAX))
def test_int_round_trip(value: int) -> None:
    assert parse_int(str(value), INT256_MIN, INT256_MAX) == value
