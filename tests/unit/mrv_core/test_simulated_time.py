"""Simulated time (``mrv_core.simulated_time``): the linear mapping is exact and monotone, and the
clock file round-trips and is read strictly."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from factories import fifo
from mrv_core.errors import ConfigError
from mrv_core.simulated_time import (
    MAX_CLOCK_FILE_BYTES,
    MAX_SPEED,
    MAX_UNIX_S,
    SimulatedTime,
    read_clock_file,
)

NS = 1_000_000_000
INSTANTS = st.integers(0, MAX_UNIX_S)
SPEEDS = st.integers(1, MAX_SPEED)
CLOCKS = st.builds(SimulatedTime, INSTANTS, INSTANTS, SPEEDS)
#: Real instants around any clock's real start, in nanoseconds (either side of it).
OFFSETS_NS = st.integers(-(10**18), 10**18)


@given(clock=CLOCKS, a=OFFSETS_NS, b=OFFSETS_NS)
@example(clock=SimulatedTime(0, 0, 1), a=-1, b=0)
def test_simulated_time_is_monotone_in_real_time(clock: SimulatedTime, a: int, b: int) -> None:
    first, second = sorted((a, b))
    real = clock.real_start * NS
    assert clock.at_ns(real + first) <= clock.at_ns(real + second)
    if first < second:
        assert clock.at_ns(real + first) < clock.at_ns(real + second)  # speed >= 1: strictly


@given(clock=CLOCKS, offset=OFFSETS_NS)
@example(clock=SimulatedTime(1_790_784_000, 1_796_000_000, MAX_SPEED), offset=1)
def test_each_real_nanosecond_is_speed_simulated_nanoseconds_exactly(
        clock: SimulatedTime, offset: int) -> None:
    simulated = clock.at_ns(clock.real_start * NS + offset)
    assert simulated == clock.simulated_start * NS + offset * clock.speed
    assert clock.at_ns(clock.real_start * NS) == clock.simulated_start * NS


@given(clock=CLOCKS, offset=OFFSETS_NS)
def test_real_ns_at_is_the_earliest_real_instant_reaching_a_simulated_one(
        clock: SimulatedTime, offset: int) -> None:
    target = clock.simulated_start * NS + offset
    real = clock.real_ns_at(target)
    assert clock.at_ns(real) >= target > clock.at_ns(real - 1)


@given(clock=CLOCKS)
def test_the_clock_file_round_trips(clock: SimulatedTime) -> None:
    assert SimulatedTime.from_json(json.loads(json.dumps(clock.to_json()))) == clock


def test_now_follows_the_real_clock_at_the_speed() -> None:
    clock = SimulatedTime(simulated_start=1_790_784_000, real_start=1_796_000_000, speed=720)
    before = time.time_ns()
    now = clock.now_ns()
    after = time.time_ns()
    assert clock.at_ns(before) <= now <= clock.at_ns(after)
    assert clock.now_s() >= now // NS and clock.real_seconds(3600) == 5.0


@pytest.mark.parametrize(("field", "value", "message"), [
    ("speed", 0, r"speed must be an int in 1\.\.100000, got 0"),
    ("speed", MAX_SPEED + 1, r"speed must be an int in 1\.\.100000, got 100001"),
    ("speed", 1.5, r"speed must be an int in 1\.\.100000, got 1\.5"),
    ("simulated_start", -1, r"simulated_start must be an int in 0\.\.1099511627775, got -1"),
    ("real_start", True, r"real_start must be an int in 0\.\.1099511627775, got True"),
])
def test_out_of_range_values_name_the_field_the_bounds_and_the_value(
        field: str, value: object, message: str) -> None:
    values: dict[str, object] = {"simulated_start": 1, "real_start": 1, "speed": 1, field: value}
    with pytest.raises(ConfigError, match=message):
        SimulatedTime(**values)  # type: ignore[arg-type]


GOOD = {"format": "trustmrv-clock/1", "simulatedStart": "1790784000",
        "realStart": "1796000000", "speed": "720"}


def test_a_written_clock_file_reads_back_and_is_never_overwritten(tmp_path: Path) -> None:
    clock = SimulatedTime(1_790_784_000, 1_796_000_000, 720)
    clock.write(tmp_path / "clock.json")
    assert read_clock_file(tmp_path / "clock.json") == clock
    with pytest.raises(FileExistsError):
        clock.write(tmp_path / "clock.json")


@pytest.mark.parametrize(("document", "message"), [
    ({**GOOD, "format": "trustmrv-clock/2"},
     r"\$\.format: expected 'trustmrv-clock/1', got 'trustmrv-clock/2'"),
    ({k: v for k, v in GOOD.items() if k != "speed"}, r"missing field\(s\): speed"),
    ({**GOOD, "zone": "UTC"}, r"unknown field\(s\): zone"),
    ({**GOOD, "speed": "0"}, r"\$\.speed: 0 outside \[1, 100000\]"),
    ({**GOOD, "speed": 720}, r"\$\.speed: expected a base-10 integer string, got int"),
    ({**GOOD, "realStart": "-5"}, r"\$\.realStart: -5 outside \[0, 1099511627775\]"),
    ({**GOOD, "simulatedStart": "017"}, r"\$\.simulatedStart: not a canonical"),
])
def test_a_bad_clock_file_is_refused_naming_the_field(tmp_path: Path, document: object,
                                                     message: str) -> None:
    path = tmp_path / "clock.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match=rf"{path} is not a clock file .*{message}"):
        read_clock_file(path)


def test_floats_huge_and_special_clock_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    path.write_text('{"format": "trustmrv-clock/1", "simulatedStart": "1", "realStart": "1", '
                    '"speed": 1.5}')
    with pytest.raises(ConfigError, match=r"float '1\.5' not allowed"):
        read_clock_file(path)
    path.write_text(" " * (MAX_CLOCK_FILE_BYTES + 1))
    with pytest.raises(ConfigError, match=f"larger than {MAX_CLOCK_FILE_BYTES} bytes"):
        read_clock_file(path)
    with fifo(tmp_path / "pipe.json") as pipe, \
            pytest.raises(ConfigError, match=r"clock file .*: not a regular file \(a FIFO\)"):
        read_clock_file(pipe)
    with pytest.raises(ConfigError, match="cannot read: No such file"):
        read_clock_file(tmp_path / "absent.json")
