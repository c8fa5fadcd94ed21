"""The signer's Sample checks its fields when made, so signing never meets a malformed one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.edge_node.support import ENERGY, METER

from edge_node.signing import Sample
from mrv_core.errors import InvalidReading


def sample(registers: tuple[object, ...]) -> Sample:
    return Sample(meter_path=METER, point="import_energy", quantity=ENERGY, timestamp=0,
                  value=1, raw_registers=registers)  # type: ignore[arg-type]


@given(st.lists(st.integers(0, 0xFFFF), max_size=8).map(tuple))
def test_any_16_bit_registers_are_taken_as_given(registers: tuple[int, ...]) -> None:
    assert sample(registers).raw_registers == registers


@pytest.mark.parametrize("bad", [(1, 65536), (-1,), (1.0,), (True,), ("1",), (1, None)])
def test_a_register_outside_16_bits_or_not_an_int_is_refused(bad: tuple[object, ...]) -> None:
    with pytest.raises(InvalidReading, match=r"raw registers must be ints in \[0, 65535\]"):
        sample(bad)
