"""Read planning: every point is read by exactly one block, blocks respect the read limit,
the function code and the allowed hole, and a block's answer slices into each point's
registers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_node.decoding import ReadBlock, plan_reads
from edge_node.errors import RegisterError
from edge_node.profiles import Function, Point, list_profiles, load_profile
from mrv_core.errors import ConfigError

POINTS = [p for pid in list_profiles() for p in load_profile(pid).points]


@given(st.lists(st.sampled_from(POINTS), min_size=1, max_size=12),
       st.integers(4, 125), st.integers(0, 20))
def test_every_point_is_in_exactly_one_block_within_limit_and_gap(
        points: list[Point], limit: int, gap: int) -> None:
    blocks = plan_reads(points, limit, max_gap=gap)
    read = [p for b in blocks for p in b.points]
    assert len(read) == len(set(read)) and set(read) == set(points)
    for block in blocks:
        assert 1 <= block.count <= limit
        ends = [block.address]
        for point in block.points:
            assert point.function == block.function
            assert block.address <= point.address and point.end <= block.address + block.count
            assert point.address - max(ends) <= gap  # no hole wider than allowed
            ends.append(point.end)


def test_a_profile_is_read_in_few_requests_and_sliced_per_point() -> None:
    profile = load_profile("eastron.sdm630")
    blocks = plan_reads(profile.points, profile.max_registers_per_read, max_gap=16)
    assert [(b.function, b.address, b.count) for b in blocks] == [
        (Function.READ_INPUT_REGISTERS, 0x00, 8), (Function.READ_INPUT_REGISTERS, 0x34, 24)]
    answer = list(range(100, 124))
    energy = profile.point("energy_import")  # 0x48 = 0x34 + 20
    assert blocks[1].registers_of(energy, answer) == (120, 121)
    assert answer == list(range(100, 124))
    with pytest.raises(RegisterError, match="expected 24 registers, got 23"):
        blocks[1].registers_of(energy, answer[:-1])
    with pytest.raises(ValueError, match="not read by block"):
        blocks[0].registers_of(energy, list(range(8)))


def test_contiguous_points_merge_and_holes_split_without_a_gap_allowance() -> None:
    generic = load_profile("generic")
    assert plan_reads(generic.points, 125) == (
        ReadBlock(Function.READ_HOLDING_REGISTERS, 0, 9, generic.points),)
    assert [b.count for b in plan_reads(generic.points, 4)] == [4, 4, 1]
    acrel = load_profile("acrel.adl400")
    assert len(plan_reads(acrel.points, 14)) == 6  # every point apart: holes everywhere


def test_impossible_plans_are_refused() -> None:
    abb = load_profile("abb.b2x").points
    with pytest.raises(ConfigError, match="needs 4 registers"):
        plan_reads(abb, 2)
    with pytest.raises(ConfigError, match=r"1\.\.125"):
        plan_reads(abb, 126)
    with pytest.raises(ConfigError, match=">= 0"):
        plan_reads(abb, 125, max_gap=-1)
