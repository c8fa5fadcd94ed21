import dataclasses
import random

import pytest

from factories import TEST_KEY, make_reading
from mrv_core import InvalidMeterPath, InvalidReading, Reading, SignedReading, UnknownQuantity
from mrv_core.codec import INT256_MAX, INT256_MIN, UINT64_MAX
from mrv_core.hashing import keccak256
from mrv_core.reading import meter_id, new_salts, validate_meter_path

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
