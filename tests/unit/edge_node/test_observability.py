"""Metrics, health and logs of the edge node, read over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from threads_support import run_together

from edge_node.acquisition import PollStats
from edge_node.observability import (
    HealthCheck,
    NodeMetrics,
    ObservabilityServer,
    PollLatencyCollector,
)
from mrv_core.errors import ConfigError


@pytest.fixture
def served() -> Iterator[tuple[ObservabilityServer, NodeMetrics, dict[str, bool]]]:
    metrics = NodeMetrics.create()
    state = {"store": True}

    def store_check() -> tuple[bool, str]:
        return state["store"], "writable" if state["store"] else "disk full"

    checks: list[HealthCheck] = [("store", store_check)]
    server = ObservabilityServer("127.0.0.1", 0, metrics, checks)
    server.start()
    try:
        yield server, metrics, state
    finally:
        server.stop()


def test_metrics_endpoint_exposes_the_nodes_counters(
        served: tuple[ObservabilityServer, NodeMetrics, dict[str, bool]]) -> None:
    server, metrics, _ = served
    metrics.readings.inc(7)
    metrics.poll_errors.labels(error_class="timeout").inc(2)
    metrics.outbox.labels(state="sent").set(3)
    text = httpx.get(f"http://127.0.0.1:{server.port}/metrics").text
    assert "mrv_edge_readings_total 7.0" in text
    assert 'mrv_edge_poll_errors_total{error_class="timeout"} 2.0' in text
    assert 'mrv_edge_outbox{state="sent"} 3.0' in text


def test_health_is_200_when_checks_pass_and_503_when_one_fails(
        served: tuple[ObservabilityServer, NodeMetrics, dict[str, bool]]) -> None:
    server, _, state = served
    ok = httpx.get(f"http://127.0.0.1:{server.port}/healthz")
    assert ok.status_code == 200
    assert ok.json() == {"status": "ok", "checks": {"store": {"ok": True, "detail": "writable"}}}
    state["store"] = False
    failing = httpx.get(f"http://127.0.0.1:{server.port}/healthz")
    assert failing.status_code == 503 and failing.json()["status"] == "failing"
    assert httpx.get(f"http://127.0.0.1:{server.port}/other").status_code == 404


def test_a_check_that_raises_reports_failing_instead_of_crashing() -> None:
    def broken() -> tuple[bool, str]:
        raise RuntimeError("boom")

    server = ObservabilityServer("127.0.0.1", 0, NodeMetrics.create(), [("broken", broken)])
    status, body = server.health()
    server.stop()
    assert status == "failing"
    assert body["checks"] == {"broken": {"ok": False, "detail": "check raised RuntimeError: boom"}}


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.org"])
def test_endpoint_refuses_non_loopback_addresses(host: str) -> None:
    with pytest.raises(ConfigError, match="loopback only"):
        ObservabilityServer(host, 0, NodeMetrics.create(), [])


def test_two_nodes_in_one_process_do_not_share_counters() -> None:
    first, second = NodeMetrics.create(), NodeMetrics.create()
    first.readings.inc()
    assert second.registry.get_sample_value("mrv_edge_readings_total") == 0.0
    assert first.registry.get_sample_value("mrv_edge_readings_total") == 1.0

def test_a_taken_listen_address_is_a_config_error_naming_it() -> None:
    first = ObservabilityServer("127.0.0.1", 0, NodeMetrics.create(), [])
    try:
        with pytest.raises(ConfigError, match=rf"observability.listen 127.0.0.1:{first.port}"):
            ObservabilityServer("127.0.0.1", first.port, NodeMetrics.create(), [])
    finally:
        first.stop()


def test_the_ipv6_loopback_is_served() -> None:
    server = ObservabilityServer("[::1]", 0, NodeMetrics.create(), [])
    server.start()
    try:
        assert httpx.get(f"http://[::1]:{server.port}/healthz").status_code == 200
    finally:
        server.stop()


def test_poll_seconds_exports_the_pollers_own_latency_histogram_at_each_scrape() -> None:
    stats = PollStats()
    registry = CollectorRegistry()
    registry.register(PollLatencyCollector(stats))
    for seconds in (0.003, 0.02, 0.02, 7.0):
        stats.observe_latency(seconds)
    text = generate_latest(registry).decode()
    assert 'mrv_edge_poll_seconds_bucket{le="0.005"} 1.0' in text
    assert 'mrv_edge_poll_seconds_bucket{le="0.025"} 3.0' in text
    assert 'mrv_edge_poll_seconds_bucket{le="10.0"} 4.0' in text
    assert 'mrv_edge_poll_seconds_bucket{le="+Inf"} 4.0' in text
    assert "mrv_edge_poll_seconds_count 4.0" in text
    assert "mrv_edge_poll_seconds_sum 7.043" in text
    stats.observe_latency(0.001)  # read afresh at the next scrape
    assert "mrv_edge_poll_seconds_count 5.0" in generate_latest(registry).decode()


def test_a_scrape_while_polls_record_latencies_sees_a_cumulative_histogram() -> None:
    """The endpoint's threads scrape while the event loop records poll latencies: no scrape
    may see a histogram half updated (a smaller count under a larger bound)."""
    stats = PollStats()
    collector = PollLatencyCollector(stats)
    torn: list[list[float]] = []

    def poll() -> None:
        for i in range(40_000):
            stats.observe_latency((0.001, 0.03, 0.3, 3.0, 30.0)[i % 5])

    def scrape() -> None:
        for _ in range(4_000):
            (family,) = collector.collect()
            counts = [s.value for s in family.samples if s.name.endswith("_bucket")]
            if counts != sorted(counts):
                torn.append(counts)

    run_together(poll, scrape)
    assert torn == []
