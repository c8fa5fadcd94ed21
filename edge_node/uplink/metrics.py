"""Prometheus metrics of the uplink, registered on the registry the node gives (never at import
time, never on the global registry unless the node passes it).

* ``mrv_edge_uplink_requests_total{outcome}``: requests by outcome, ``acknowledged`` (a 200
  whose acknowledgement matched), ``unavailable`` (a transient failure: retried), ``refused``
  (a 4xx), ``too_large`` (a 413: the chunk halves);
* ``mrv_edge_uplink_items_total{status}``: verdicts received, ``accepted``, ``duplicate``,
  ``conflict``, ``rejected``;
* ``mrv_edge_uplink_last_acknowledged_timestamp_seconds``: Unix time of the last
  acknowledgement (an alert compares it with now: the uplink backlog's age);
* ``mrv_edge_uplink_stalled{reason}``: 1 while the uplink is stalled for that reason,
  ``refused``, ``backlog_age``, ``invalid_item`` or ``error`` (``edge_node.uplink.health``:
  the node's ``uplink`` health check fails exactly when one of them is 1);
* ``mrv_edge_uplink_errors_total{error}``: unexpected exceptions the client's loop survived, by
  exception type name (a bug or a fault outside the node's error types: logged with its
  traceback as ``uplink_error``);
* ``mrv_edge_uplink_oldest_undelivered_age_seconds``: how long ago the oldest item the ledger
  API has not acknowledged was committed (0 when nothing waits).
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge

from mrv_core.uplink import Status

__all__ = ["OUTCOMES", "STALL_REASONS", "UplinkMetrics"]

OUTCOMES = ("acknowledged", "unavailable", "refused", "too_large")
#: The ``reason`` label values of ``mrv_edge_uplink_stalled``.
STALL_REASONS = ("refused", "backlog_age", "invalid_item", "error")


class UplinkMetrics:
    """The uplink's counters on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("mrv_edge_uplink_requests", "Uplink requests by outcome",
                                ["outcome"], registry=registry)
        self.items = Counter("mrv_edge_uplink_items", "Uplink verdicts received by status",
                             ["status"], registry=registry)
        self.last_acknowledged = Gauge(
            "mrv_edge_uplink_last_acknowledged_timestamp_seconds",
            "Unix time of the last acknowledgement from the ledger API", registry=registry)
        self.stalled = Gauge("mrv_edge_uplink_stalled",
                             "1 while the uplink is stalled for this reason", ["reason"],
                             registry=registry)
        self.oldest_age = Gauge(
            "mrv_edge_uplink_oldest_undelivered_age_seconds",
            "Seconds since the oldest item not acknowledged by the ledger API was committed",
            registry=registry)
        self.errors = Counter("mrv_edge_uplink_errors",
                              "Unexpected exceptions the uplink client survived, by type",
                              ["error"], registry=registry)
        for reason in STALL_REASONS:
            self.stalled.labels(reason)
        for outcome in OUTCOMES:  # every series exists from the start, at 0
            self.requests.labels(outcome)
        for status in Status:
            self.items.labels(status.value)

    def request(self, outcome: str) -> None:
        self.requests.labels(outcome).inc()

    def verdicts(self, statuses: list[Status]) -> None:
        for status in statuses:
            self.items.labels(status.value).inc()
        self.last_acknowledged.set(time.time())
