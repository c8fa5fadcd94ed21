"""What the simulator puts in a point's registers, without a server: values decode back,
values beyond a register's range show the vendor's "no value" or the register's limit, and the
counter faults move the registers as documented."""

from __future__ import annotations

from edge_node.decoding import decode_raw
from edge_node.profiles import load_profile
from edge_node.simulator import MeterSimulator, MeterSpec, SimClock, parse_fault


def _sim(profile: str, **spec: int) -> MeterSimulator:
    return MeterSimulator([MeterSpec(1, load_profile(profile), **spec)],  # type: ignore[arg-type]
                          clock=SimClock(1_760_000_000, speed=0))


def test_a_value_beyond_the_register_shows_no_value_or_the_registers_limit() -> None:
    em24 = _sim("carlo-gavazzi.em24", peak_w=10**9)  # int32 in 0.1 W holds 214 MW at most
    assert em24.registers(1)["power_active"] == (0xFFFF, 0x7FFF)  # low word first: 2^31 - 1
    abb = _sim("abb.b2x", peak_w=10**9)  # int32 in 0.01 W: ABB's "no value" pattern instead
    assert abb.registers(1)["power_active"] == (0x7FFF, 0xFFFF)
    assert abb.values(1)["power_active"] is None


def test_rollover_puts_the_counter_ten_steps_before_its_wrap_and_reset_at_zero() -> None:
    sim = _sim("generic")
    point = load_profile("generic").point("energy_import")
    sim.apply(parse_fault("1:rollover"))
    assert decode_raw(point, sim.registers(1)["energy_import"]) == 2**32 - 10
    sim.advance(600)
    assert decode_raw(point, sim.registers(1)["energy_import"]) < 2**20  # wrapped
    sim.apply(parse_fault("1:reset:energy_import"))
    assert sim.values(1)["energy_import"] == 0
