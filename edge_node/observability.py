"""What an operator watches: JSON-lines logs, Prometheus metrics, and a health endpoint.

Nothing is configured at import time: :class:`NodeMetrics` is made and the JSON-lines log
(:func:`mrv_core.json_logs.configure_logging`) set up by the node when it starts, and every
node has its own metrics registry (two nodes in one test process never share counters).

Metrics (all prefixed ``mrv_edge_``): ``readings_total``, ``polls_total``,
``poll_errors_total{error_class}``, ``missed_cycles_total``, ``poll_seconds`` (histogram),
``gaps_total{error_class}``, ``batches_pending``, ``outbox{state}``, ``anchors_total``,
``uplink_backlog_items``, ``uplink_sent_total``, ``disk_used_bytes``,
``disk_alarm`` (1 above the disk budget), ``polling_stopped`` (1 above the hard limit),
``clock_flags_total``; the uplink's own (``edge_node.uplink.metrics``) when ``[uplink]`` is
set, ``uplink_stalled{reason}`` among them. Readings per second is
``rate(mrv_edge_readings_total[1m])``.

The endpoint (:class:`ObservabilityServer`) listens on a loopback address only and serves
``GET /metrics`` (Prometheus text format) and ``GET /healthz``: JSON ``{"status": ...,
"checks": {...}}`` with HTTP 200 when every check passes and 503 otherwise.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, make_wsgi_app
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

from mrv_core.errors import ConfigError

from .acquisition.events import LATENCY_BUCKETS, PollStats

__all__ = ["HealthCheck", "NodeMetrics", "ObservabilityServer"]

_PREFIX = "mrv_edge_"

#: A health check: a name and a function returning ``(ok, detail)``.
HealthCheck = tuple[str, Callable[[], tuple[bool, str]]]


class PollLatencyCollector(Collector):
    """``mrv_edge_poll_seconds``: the poller's own latency histogram (seconds from a meter
    poll's start to its last answer, ``PollStats.latency_*``, buckets
    ``acquisition.LATENCY_BUCKETS``), exported as it stands at each scrape rather than kept
    twice."""

    def __init__(self, stats: PollStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[HistogramMetricFamily]:
        counts, total, seconds = self._stats.latency_histogram()  # one moment's, whole
        buckets = [(repr(bound), count)
                   for bound, count in zip(LATENCY_BUCKETS, counts, strict=True)]
        yield HistogramMetricFamily(
            _PREFIX + "poll_seconds", "seconds from a meter poll's start to its last answer",
            buckets=[*buckets, ("+Inf", total)], sum_value=seconds)


@dataclass(frozen=True)
class NodeMetrics:
    """The node's Prometheus metrics, in a registry of their own."""

    registry: CollectorRegistry
    readings: Counter
    polls: Counter
    poll_errors: Counter
    missed_cycles: Counter
    gaps: Counter
    batches_pending: Gauge
    outbox: Gauge
    anchors: Counter
    uplink_backlog: Gauge
    uplink_sent: Counter
    disk_used: Gauge
    disk_alarm: Gauge
    polling_stopped: Gauge
    clock_flags: Counter

    @classmethod
    def create(cls) -> NodeMetrics:
        registry = CollectorRegistry(auto_describe=True)

        def counter(name: str, doc: str, labels: Iterable[str] = ()) -> Counter:
            return Counter(_PREFIX + name, doc, tuple(labels), registry=registry)

        def gauge(name: str, doc: str, labels: Iterable[str] = ()) -> Gauge:
            return Gauge(_PREFIX + name, doc, tuple(labels), registry=registry)

        return cls(
            registry=registry,
            readings=counter("readings", "signed readings committed to the store"),
            polls=counter("polls", "Modbus read requests sent"),
            poll_errors=counter("poll_errors", "failed polls by error class", ["error_class"]),
            missed_cycles=counter("missed_cycles", "poll cycles that started late"),
            gaps=counter("gaps", "signed gap records by error class", ["error_class"]),
            batches_pending=gauge("batches_pending", "closed batches not yet anchored final"),
            outbox=gauge("outbox", "anchor outbox entries by state", ["state"]),
            anchors=counter("anchors", "batches anchored on chain"),
            uplink_backlog=gauge("uplink_backlog_items",
                                 "items not yet acknowledged by the ledger API"),
            uplink_sent=counter("uplink_sent", "leaves acknowledged by the ledger API"),
            disk_used=gauge("disk_used_bytes", "bytes used by the node's store"),
            disk_alarm=gauge("disk_alarm", "1 while the store is above the disk budget"),
            polling_stopped=gauge("polling_stopped",
                                  "1 while polling is stopped at the disk hard limit"),
            clock_flags=counter("clock_flags", "readings refused or flagged by the clock rules"),
        )


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _ThreadingServer6(_ThreadingServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged: scrapes every few seconds would drown the node's log."""


class ObservabilityServer:
    """``/metrics`` and ``/healthz`` on a loopback address, served from a daemon thread."""

    def __init__(self, host: str, port: int, metrics: NodeMetrics,
                 checks: Iterable[HealthCheck]) -> None:
        try:
            loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ConfigError(f"the metrics and health endpoint listens on loopback only, "
                              f"got {host!r}")
        self._checks = tuple(checks)
        metrics_app = make_wsgi_app(metrics.registry)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            if path == "/metrics":
                return metrics_app(environ, start_response)  # type: ignore[no-any-return]
            if path == "/healthz":
                status, body = self.health()
                start_response("200 OK" if status == "ok" else "503 Service Unavailable",
                               [("Content-Type", "application/json")])
                return [json.dumps(body, sort_keys=True).encode()]
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: use /metrics or /healthz\n"]

        server_class: type[_ThreadingServer] = (
            _ThreadingServer6 if ":" in host.strip("[]") else _ThreadingServer)
        try:
            self._server = make_server(host.strip("[]"), port, app, server_class=server_class,
                                       handler_class=_QuietHandler)
        except OSError as exc:
            raise ConfigError(f"observability.listen {host}:{port}: cannot listen there "
                              f"({exc.strerror}); another node or program may hold it") from None
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="mrv-edge-observability", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def health(self) -> tuple[str, dict[str, object]]:
        """Run every check: ``("ok" | "failing", {"status": ..., "checks": {name: {...}}})``."""
        results: dict[str, object] = {}
        healthy = True
        for name, check in self._checks:
            try:
                ok, detail = check()
            except Exception as exc:  # a broken check is a failing check, never a crash
                ok, detail = False, f"check raised {type(exc).__name__}: {exc}"
            healthy = healthy and ok
            results[name] = {"ok": ok, "detail": detail}
        status = "ok" if healthy else "failing"
        return status, {"status": status, "checks": results}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket (a server never started just closes)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
