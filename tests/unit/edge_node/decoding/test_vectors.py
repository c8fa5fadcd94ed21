"""The golden register vectors of tests/vectors/meters.json: every shipped profile, both word
orders, float and integer forms, rollover at the counter width, the vendors' "not available"
patterns and METERS.md's golden examples decode as stated; every decodable vector also encodes
back to its registers."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from edge_node.decoding import decode_point, decode_raw, encode_point
from edge_node.errors import ValueUnavailable
from edge_node.profiles import Point, WordOrder, list_profiles, load_profile

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[3] / "vectors" / "meters.json").read_text(encoding="utf-8")
)["vectors"]


def _point(vector: dict[str, Any]) -> Point:
    point = load_profile(vector["profile"]).point(vector["point"])
    if "word_order" in vector:
        point = dataclasses.replace(point, word_order=WordOrder(vector["word_order"]))
    return point


def _ids(vector: dict[str, Any]) -> str:
    return f"{vector['profile']}.{vector['point']}:{'/'.join(vector['registers'])}"


@pytest.mark.parametrize("vector", VECTORS, ids=_ids)
def test_golden_vector_decodes_to_its_value_or_is_unavailable(vector: dict[str, Any]) -> None:
    point = _point(vector)
    registers = [int(r, 16) for r in vector["registers"]]
    ratio = Fraction(vector.get("ratio", "1"))
    if vector.get("unavailable"):
        with pytest.raises(ValueUnavailable):
            decode_point(point, registers, ratio=ratio)
    else:
        assert decode_point(point, registers, ratio=ratio) == vector["value"]


@pytest.mark.parametrize("vector", [v for v in VECTORS if not v.get("unavailable")], ids=_ids)
def test_golden_vector_value_encodes_back_to_registers_that_decode_to_it(
        vector: dict[str, Any]) -> None:
    point = _point(vector)
    ratio = Fraction(vector.get("ratio", "1"))
    registers = encode_point(point, vector["value"], ratio=ratio, exact=False)
    assert decode_point(point, registers, ratio=ratio) == vector["value"]
    wire = tuple(int(r, 16) for r in vector["registers"])
    raw = decode_raw(point, wire)
    if not point.data_type.is_float and raw * point.scale * ratio == vector["value"]:
        # Decoded without rounding, an integer raw has one encoding: the vector's.
        assert registers == wire


def test_the_vectors_cover_every_profile_both_word_orders_rollover_and_unavailable() -> None:
    assert {v["profile"] for v in VECTORS} == set(list_profiles())
    swapped = {v["profile"] for v in VECTORS if "word_order" in v}
    assert swapped == set(list_profiles()), set(list_profiles()) - swapped
    assert sum("rollover" in v["note"] for v in VECTORS) >= 8
    assert {v["profile"] for v in VECTORS if v.get("unavailable")} >= {
        "abb.b2x", "eastron.sdm630", "generic", "schneider.pm5xxx"}
    assert any("METERS.md golden" in v["note"] for v in VECTORS if v["profile"] ==
               "carlo-gavazzi.em24")
