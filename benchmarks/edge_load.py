"""One edge node under load, in a process of its own: ``python -m benchmarks.edge_load``.

Run by section 8 of the benchmarks (``bench_edge_load``), which starts the meter simulators
first. This process is the node and nothing else, so its resident memory is the node's: an
``EdgeNode`` (poller, signer, store, batcher, anchorer on the embedded chain) polling every
meter at ``--interval`` over loopback TCP, ``--per-link`` meters per Modbus TCP connection (a
gateway in front of a bus; the connection serializes their requests). After ``--warmup``
seconds it measures for ``--seconds``: the Poller's missed cycles, polls, samples and failures;
the readings committed (the node's ``mrv_edge_readings`` counter); the samples not yet
committed at the end (the pipeline's backlog); this process's CPU time; and its resident set
(``VmRSS`` of /proc/self/status, sampled every 0.25 s; the maximum is reported). It prints them
as one JSON line, then stops the node and prints a second line: how long the stop took, or why
it did not happen within ``STOP_TIMEOUT_S`` (a finding about the node, reported as such).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from edge_node.acquisition import MeterSettings, ReportByException, TcpConnection
from edge_node.node import EdgeNode
from edge_node.profiles import load_profile
from mrv_cli.flows import prepare_sample_device
from mrv_core.keys import DeviceKey
from mrv_core.quantities import QUANTITIES, QuantityKind

from .bench_edge import PROFILE, embedded_system, meter_paths, node_config

#: Seconds the node gets to stop cleanly once told to.
STOP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Snapshot:
    """The node's counters at one moment."""

    at: float
    cpu: float
    polls: int
    missed: int
    samples: int
    failures: int
    committed: int


def resident_kib() -> int:
    """This process's resident set size now, in KiB (VmRSS of /proc/self/status)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS line in /proc/self/status")


def links(endpoints: list[tuple[int, int]], per_link: int, interval: float, *,
          by_exception: bool = False) -> tuple[TcpConnection, ...]:
    """Modbus TCP connections to the simulators: ``endpoints`` are (port, meters served at
    unit ids 1..meters); each connection carries ``per_link`` meters of one simulator. With
    ``by_exception`` the instantaneous points are reported by exception (any change, and at
    least every 60 s); the energy counters are committed every interval either way."""
    paths = iter(meter_paths(sum(count for _port, count in endpoints)))
    rules = {p.name: ReportByException(deadband=0, max_silence=60.0)
             for p in load_profile(PROFILE).points
             if QUANTITIES[p.quantity].kind is not QuantityKind.CUMULATIVE} if by_exception \
        else {}
    connections = []
    for port, count in endpoints:
        for first in range(1, count + 1, per_link):
            units = range(first, min(count, first + per_link - 1) + 1)
            meters = tuple(MeterSettings(path=next(paths), unit_id=unit, profile=PROFILE,
                                         interval=interval, timeout=1.0,
                                         report_by_exception=rules) for unit in units)
            connections.append(TcpConnection(name=f"sim{port}-{first}", host="127.0.0.1",
                                             port=port, timeout=1.0, meters=meters))
    return tuple(connections)


def _snapshot(node: EdgeNode) -> Snapshot:
    stats = node.poller.stats
    usage = resource.getrusage(resource.RUSAGE_SELF)
    committed = node.metrics.registry.get_sample_value("mrv_edge_readings_total") or 0.0
    return Snapshot(at=time.monotonic(), cpu=usage.ru_utime + usage.ru_stime,
                    polls=sum(stats.polls.values()), missed=stats.missed_cycles.total(),
                    samples=stats.samples, failures=stats.failures.total(),
                    committed=int(committed))


async def measure(args: argparse.Namespace) -> None:
    """Print the window's figures as one JSON line, then stop the node and print how that
    went as another (``stop_s``, or ``stop_error``)."""
    system, admin = embedded_system()
    key = DeviceKey.generate()
    prepare_sample_device(system, admin, key)
    endpoints = [(int(p), int(n)) for p, n in (e.split(":") for e in args.endpoint)]
    with tempfile.TemporaryDirectory(prefix="mrv-bench-load-") as directory:
        config = node_config(Path(directory), links(endpoints, args.per_link, args.interval,
                                                    by_exception=args.by_exception))
        node = EdgeNode(config, key, system)
        stop = asyncio.Event()
        running = asyncio.create_task(node.run(stop), name="node")
        await asyncio.sleep(args.warmup)
        before = _snapshot(node)
        rss = resident_kib()
        while time.monotonic() < before.at + args.seconds and not running.done():
            await asyncio.sleep(0.25)
            rss = max(rss, resident_kib())
        after = _snapshot(node)
        if running.done():  # the node stopped by itself: the figures are void
            raise RuntimeError(f"the node stopped during the window: {running.exception()!r}")
        window = after.at - before.at
        samples = after.samples - before.samples
        print(json.dumps({
            "meters": len(config.meters), "connections": len(config.acquisition.connections),
            "seconds": window, "polls": after.polls - before.polls,
            "missed_cycles": after.missed - before.missed, "samples": samples,
            "failures": after.failures - before.failures,
            "committed": after.committed - before.committed,
            # Samples polled but not committed when the window ended, in seconds of input.
            "backlog_s": max(0, after.samples - after.committed) / max(samples / window, 1e-9),
            "cpu": (after.cpu - before.cpu) / window, "rss_kib": rss,
            # Poll latency (start to last answer) over the whole run, warm-up included.
            "latency_mean": node.poller.stats.latency_sum / max(1, node.poller.stats.latency_count),
            "latency_max": node.poller.stats.latency_max,
        }), flush=True)
        stop.set()
        started = time.monotonic()
        try:  # a node that does not stop is a finding: say where it waits
            await asyncio.wait_for(asyncio.shield(running), STOP_TIMEOUT_S)
            stopped: dict[str, object] = {"stop_s": time.monotonic() - started}
        except TimeoutError:
            for task in asyncio.all_tasks():
                task.print_stack(limit=3, file=sys.stderr)
            stopped = {"stop_s": None, "stop_error": "no clean stop within "
                       f"{STOP_TIMEOUT_S:.0f} s (task stacks on standard error)"}
        except Exception as exc:  # reported, not hidden
            stopped = {"stop_s": None, "stop_error": f"{type(exc).__name__}: {exc}"[:300]}
        print(json.dumps(stopped), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.edge_load")
    parser.add_argument("--endpoint", action="append", required=True, metavar="PORT:METERS")
    parser.add_argument("--per-link", type=int, default=25)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--by-exception", action="store_true",
                        help="report the instantaneous points by exception")
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(measure(args))
    sys.stdout.flush()
    os._exit(0)  # a node that did not stop leaves threads that would hold the exit


if __name__ == "__main__":
    sys.exit(main())
