"""The report bundle benchmark at a tiny size: its bundle of boundary readings and their
successors parses and passes every offline step (``measure`` raises BenchmarkError
otherwise), two batches per device."""

from benchmarks import bench_report_bundle


def test_the_report_bundle_benchmark_verifies_boundary_readings_of_every_meter() -> None:
    figures = bench_report_bundle.measure(30, devices=3, repeat=1)
    assert (figures.meters, figures.readings, figures.batches) == (30, 120, 6)
    assert figures.bytes > 120 * 600 and figures.verify_s > 0
