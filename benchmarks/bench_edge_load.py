"""8. One edge node polling 1,000 meters every second over loopback TCP keeps up.

The meters are simulated by ``mrv simulate meters`` processes (at most 200 units each, the
generic profile: six points in one read), started here on 127.0.0.1. The node runs in a child
process of its own (:mod:`benchmarks.edge_load`), so that its resident memory is the node's
alone: the whole ``EdgeNode``, every point of every meter signed and committed (one store
transaction per pipeline cycle, ``synchronous=FULL``), batches closed and anchored on the
embedded chain, 25 meters per Modbus TCP connection (40 connections for 1,000 meters).

Targets (issue 9): no missed poll cycle (the Poller's ``missed_cycles``), resident set under
300 MB. Keeping up also means the pipeline keeps pace with the poller: the samples polled but
not yet committed when the window ends must be at most 2 seconds of input (a pipeline cycle
drains everything queued, so a healthy node shows up to one cycle's worth plus one commit).
The machine is shared with the simulators and anything else running: the node's own CPU use
is printed beside the figures.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from typing import Any

from . import edge_load
from .bench_edge import PROFILE
from .bench_modbus import simulator
from .core import Config, Row, Target, check

SECTION = "8. edge node under load: simulated meters over loopback TCP, 1 s interval"
MISSED_TARGET = Target(0, at_most=True)
RSS_TARGET_MB = Target(300, at_most=True)
BACKLOG_TARGET_S = Target(2.0, at_most=True)
STOP_TARGET_S = Target(edge_load.STOP_TIMEOUT_S, at_most=True)
UNITS_PER_SIMULATOR = 200
#: Meters per Modbus TCP connection (their requests are serialized on it).
PER_LINK = 25


def measure(meters: int, seconds: float, *, warmup: float = 3.0,
            by_exception: bool = False, per_link: int = PER_LINK) -> dict[str, Any]:
    """Run the node against ``meters`` simulated meters for ``seconds`` (after ``warmup``);
    the child's figures (:mod:`benchmarks.edge_load`), ``stop_s`` or ``stop_error`` with
    them."""
    with contextlib.ExitStack() as stack:
        endpoints = []
        for first in range(0, meters, UNITS_PER_SIMULATOR):
            count = min(UNITS_PER_SIMULATOR, meters - first)
            port = stack.enter_context(simulator(count, PROFILE))
            endpoints += ["--endpoint", f"{port}:{count}"]
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.edge_load", *endpoints, "--seconds",
             str(seconds), "--warmup", str(warmup),
             "--per-link", str(per_link), *(["--by-exception"] if by_exception else [])],
            capture_output=True, text=True, timeout=seconds + warmup + 180, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    check(done.returncode == 0 and len(lines) == 2,
          f"the node under load failed (exit {done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = {**json.loads(lines[0]), **json.loads(lines[1])}
    check(result["meters"] == meters and result["polls"] > 0, f"node figures: {result}")
    return result


def _rows(r: dict[str, Any], how: str) -> list[Row]:
    window = r["seconds"]
    note = (f"{r['meters']:,.0f} meters, {r['connections']:.0f} connections, "
            f"{window:.0f} s window")
    return [
        Row(SECTION, f"{how}: polls (one read of six points per meter)", r["polls"] / window,
            "/s", note=note),
        Row(SECTION, "  missed poll cycles", r["missed_cycles"], "cycles", MISSED_TARGET,
            note=f"{r['failures']:,.0f} point failures; poll latency mean "
                 f"{r['latency_mean'] * 1000:,.0f} ms, max {r['latency_max'] * 1000:,.0f} ms"),
        Row(SECTION, "  readings signed and committed", r["committed"] / window, "/s",
            note=f"{r['samples'] / window:,.0f} samples/s polled"),
        Row(SECTION, "  pipeline backlog at the end", r["backlog_s"], "s", BACKLOG_TARGET_S,
            note="polled, not yet committed, in seconds of input"),
        Row(SECTION, "  node resident set (VmRSS, max)", r["rss_kib"] / 1024, "MB",
            RSS_TARGET_MB, note="the node's own process, embedded chain included"),
        Row(SECTION, "  node CPU", r["cpu"], "cores",
            note="user + system time of the node's process per second"),
        Row(SECTION, "  clean stop after the window", STOP_TARGET_S.value + 1
            if r["stop_s"] is None else r["stop_s"], "s", STOP_TARGET_S,
            note=r.get("stop_error", "polling cancelled, queue drained, store closed")),
    ]


def run(cfg: Config) -> list[Row]:
    """Every point of every meter committed every second; then (full runs) the instantaneous
    points reported by exception, as gateways do (the simulator's instantaneous values change
    once a simulated minute)."""
    meters, seconds, warmup = (20, 3.0, 2.0) if cfg.quick else (1_000, 25.0, 5.0)
    rows = _rows(measure(meters, seconds, warmup=warmup), "every point every second")
    if not cfg.quick:
        rows += _rows(measure(meters, seconds, warmup=warmup, by_exception=True),
                      "instantaneous points by exception")
    return rows
