"""Metrics, health and logs of the edge node, read over real HTTP on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from prometheus_client import CollectorRegistry, generate_latest

from edge_node.acquisition import PollStats
from edge_node.observability import (
    HealthCheck,
    NodeMetrics,
    ObservabilityServer,
    PollLatencyCollector,
    configure_logging,
)
from mrv_cli.main import main
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


def test_logs_are_json_lines_with_time_level_and_fields(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "edge.jsonl"
    log.parent.mkdir()
    logs = configure_logging(str(log))
    try:
        structlog.get_logger().warning("poll_failed", meter="a/b/c/d/e", error_class="timeout")
    finally:
        logs.close()
    (line,) = log.read_text().splitlines()
    event = json.loads(line)
    assert event["event"] == "poll_failed" and event["level"] == "warning"
    assert event["meter"] == "a/b/c/d/e" and event["error_class"] == "timeout"
    assert event["timestamp"].endswith("Z")


def test_library_log_records_become_json_lines_too(tmp_path: Path) -> None:
    # pymodbus logs through the standard library; its lines were free text in the node's JSON
    # log (hostile review, issue 9). `mrv simulate meters`, run in-process by other tests, sets
    # the "pymodbus" logger to ERROR for its process: undone for this test, whatever ran before.
    pymodbus = logging.getLogger("pymodbus")
    previous = pymodbus.level
    pymodbus.setLevel(logging.NOTSET)
    log = tmp_path / "edge.jsonl"
    logs = configure_logging(str(log))
    try:
        logging.getLogger("pymodbus.logging").warning("No response received after %d retries",
                                                      0)
        logging.getLogger("pymodbus.logging").debug("send: 0x0 0x1")  # below the level
    finally:
        logs.close()
        pymodbus.setLevel(previous)
    (line,) = log.read_text().splitlines()
    event = json.loads(line)
    assert event["event"] == "No response received after 0 retries"
    assert event["logger"] == "pymodbus.logging" and event["level"] == "warning"


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


@contextlib.contextmanager
def _released_after(path: Path, seconds: float) -> Iterator[None]:
    """Should the code under test block opening the FIFO at ``path`` for writing (the old
    behaviour), a reader opens it after ``seconds`` so the test fails instead of hanging."""
    readers: list[int] = []
    timer = threading.Timer(seconds, lambda: readers.append(
        os.open(path, os.O_RDONLY | os.O_NONBLOCK)))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        for fd in readers:
            os.close(fd)


@pytest.mark.parametrize("with_reader", [False, True])
def test_a_fifo_as_the_log_is_refused_at_once_in_one_line(tmp_path: Path,
                                                          with_reader: bool) -> None:
    pipe = tmp_path / "fifo"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK) if with_reader else None
    try:
        started = time.monotonic()
        with _released_after(pipe, 2.0), pytest.raises(ConfigError) as caught:
            configure_logging(str(pipe))
        assert time.monotonic() - started < 1.5
    finally:
        if reader is not None:
            os.close(reader)
    assert str(caught.value) == (f"observability.log {pipe}: expected a regular file (or '-' "
                                 f"for standard error), got a FIFO")


def test_a_directory_as_the_log_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--log .*: expected a regular file \(or '-' for "
                                          r"standard error\), got a directory$"):
        configure_logging(str(tmp_path), key="--log")


def test_a_log_in_a_missing_directory_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    log = tmp_path / "nonexistent" / "dir" / "x.log"
    with pytest.raises(ConfigError, match=r"^observability\.log .*x\.log: expected an existing "
                                          r"directory .*dir, got nothing there$"):
        configure_logging(str(log))
    assert list(tmp_path.iterdir()) == []


def test_relay_with_a_fifo_log_exits_2_in_one_line(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    pipe = tmp_path / "fifo"
    os.mkfifo(pipe)
    with _released_after(pipe, 2.0):
        code = main(["relay", "--rpc", "http://127.0.0.1:1", "--db", str(tmp_path / "r.db"),
                     "--log", str(pipe)])
    err = capsys.readouterr().err
    assert code == 2 and err == (f"mrv: error: --log {pipe}: expected a regular file (or '-' "
                                 f"for standard error), got a FIFO\n")
