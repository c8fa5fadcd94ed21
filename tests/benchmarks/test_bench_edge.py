"""Sections 7 and 8 of the benchmarks at tiny sizes: the edge pipeline benchmark commits, batches
and anchors every reading it times (its own checks raise BenchmarkError otherwise), and one node
polling 20 simulated meters over loopback TCP for 3 s misses no cycle, stays under the RSS
target and stops cleanly. Real parts throughout: the embedded chain, SQLite files,
``mrv simulate meters`` processes on 127.0.0.1 and the node in a process of its own."""

from benchmarks import bench_edge, bench_edge_load
from benchmarks.core import Config


def test_the_pipeline_benchmark_stores_batches_and_anchors_every_reading_it_times() -> None:
    cfg = Config(**{**Config.quick_run().__dict__, "repeat": 1})
    size = bench_edge.PipelineSize(meters=2, cycles=3)
    pipeline, bare, batches = bench_edge.measure(cfg, size)  # verifies store and chain
    assert size.readings == 2 * 6 * 3
    assert pipeline > 0 and bare > 0 and batches == 1


def test_the_ratio_row_has_the_sixty_percent_target_of_issue_9() -> None:
    assert bench_edge.PIPELINE_TARGET.value == 0.60 and not bench_edge.PIPELINE_TARGET.at_most


def test_a_node_polling_20_meters_for_3_s_misses_no_cycle_stays_under_300_mb_and_stops() -> None:
    result = bench_edge_load.measure(20, 3.0, warmup=1.0)
    assert result["meters"] == 20 and result["connections"] == 1
    assert result["missed_cycles"] == 0 and result["failures"] == 0
    assert result["polls"] >= 20 * 2  # at least two cycles of every meter in 3 s
    # A poll still in flight when the window closes has started but not yet sent its samples.
    assert result["committed"] > 0
    assert 6 * (result["polls"] - 20) <= result["samples"] <= 6 * result["polls"]
    assert result["rss_kib"] < bench_edge_load.RSS_TARGET_MB.value * 1024
    assert result["stop_s"] is not None, result.get("stop_error")
