"""Section 1 of the benchmarks compares like with like: both signing pipelines end in the same
kind of object, and the overhead of the convenience path has a target line."""

from benchmarks import bench_signing
from benchmarks.core import Config
from mrv_core import SignedReading


def test_both_signing_pipelines_end_in_signed_readings() -> None:
    ways = bench_signing.pipelines(8)
    assert len(ways) == 2
    for name, make in ways.items():
        signed = make()
        assert len(signed) == 8 and all(type(s) is SignedReading for s in signed), name
        assert len({s.reading.salt for s in signed}) == 8  # fresh salts on both paths


def test_the_overhead_of_sign_reading_has_a_ten_percent_target_line() -> None:
    cfg = Config(**{**Config.quick_run().__dict__, "sign_n": 50, "repeat": 1})
    rows = bench_signing._pipelines(cfg)
    (ratio,) = [row for row in rows if "overhead" in row.name]
    assert ratio.unit == "x" and ratio.target == bench_signing.OVERHEAD_TARGET
    assert ratio.target.value == 0.90 and not ratio.target.at_most
    assert ratio.value == rows[0].value / rows[1].value
