"""6. Modbus polling over loopback TCP against the meter simulator.

The simulator (``mrv simulate meters``, a pymodbus server) runs in a child process on
127.0.0.1 with four simulated Eastron SDM630 meters; this process polls it through four
connections at once, one asyncio loop, for a fixed time per figure:

- the bare pymodbus client (``AsyncModbusTcpClient.read_input_registers``) reading the
  meter's register blocks in turn: the baseline;
- ``ModbusConnection.read``: the same requests through the acquisition layer (lock, per-request
  timeout, trace hooks classifying framing, outcome classification);
- ``Poller.poll``: whole meter polls (its register blocks under the retry policy, every point
  decoded and sent to a sink), counted in Modbus requests.

Target (issue 9): at least 2,000 Modbus polls (requests answered) per second through the
acquisition layer; pymodbus reached about 18,000 requests/s with four clients on this machine
kind (ENVIRONMENT.md). The ratios to the bare client are taken in the same run. The wall-clock
rate is bounded by the simulator (a Python server computing live values for each request, in
its own process); the poller's own cost is also given per CPU-second of this process, which
is what one core of a node could drive against meters that answer at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

from edge_node.acquisition import (
    AcquisitionSettings,
    Event,
    MeterSettings,
    ModbusConnection,
    Poller,
    RetrySettings,
    Sample,
    SystemClock,
    TcpConnection,
)
from edge_node.profiles import load_profile
from edge_node.profiles.model import Function

from .core import Config, Row, Target, check

SECTION = "6. Modbus polling, loopback TCP, simulator in a child process"
POLL_TARGET = Target(2_000)
CLIENTS = 4
PROFILE = "eastron.sdm630"


@contextlib.contextmanager
def simulator(units: int = CLIENTS, profile: str = PROFILE) -> Iterator[int]:
    """Run ``mrv simulate meters`` with ``units`` meters of ``profile`` at unit ids 1..units
    on a free port of 127.0.0.1; yield the port."""
    mrv = Path(sys.executable).with_name("mrv")
    args = [str(mrv), "simulate", "meters", "--port", "0"]
    for unit in range(1, units + 1):
        args += ["--meter", f"{unit}:{profile}"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        host, _, port = first.rpartition(":")
        check(host == "127.0.0.1" and port.isdigit(),
              f"simulator printed {first!r}, expected 127.0.0.1:PORT "
              f"({proc.stderr.read() if proc.stderr and proc.poll() is not None else ''})")
        yield int(port)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


async def _rate(workers: list[Callable[[], Awaitable[int]]],
                seconds: float) -> tuple[float, float]:
    """Run every worker in a loop for ``seconds``; Modbus requests completed per second of
    wall time, and per second of this process's CPU time (each call returns how many requests
    it completed)."""
    done = 0
    stop = time.perf_counter() + seconds
    cpu = time.process_time()

    async def loop(work: Callable[[], Awaitable[int]]) -> None:
        nonlocal done
        while time.perf_counter() < stop:
            # Await first, then add: ``done += await work()`` reads ``done`` before the await,
            # and the workers' increments made meanwhile would be lost.
            completed = await work()
            done += completed

    start = time.perf_counter()
    await asyncio.gather(*(loop(w) for w in workers))
    return done / (time.perf_counter() - start), done / (time.process_time() - cpu)


class _CountingSink:
    """The poller's sink: keeps count of samples and failures (a store would commit them)."""

    def __init__(self) -> None:
        self.samples = 0
        self.failures: list[Event] = []

    async def put(self, item: Event, /) -> None:
        if isinstance(item, Sample):
            self.samples += 1
        else:
            self.failures.append(item)


async def _measure(port: int, seconds: float, repeat: int) -> dict[str, float]:
    profile = load_profile(PROFILE)
    meters = [MeterSettings(path=f"bench/site/hall/line/m{u}", unit_id=u, profile=PROFILE,
                            interval=60.0) for u in range(1, CLIENTS + 1)]
    links = [TcpConnection(name=f"c{m.unit_id}", host="127.0.0.1", port=port, timeout=2.0,
                           meters=(m,)) for m in meters]
    best: dict[str, float] = {}

    bare = [AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2.0, reconnect_delay=0)
            for _ in meters]
    conns = [ModbusConnection(link, RetrySettings(), SystemClock()) for link in links]
    sink = _CountingSink()
    poller = Poller(AcquisitionSettings(connections=tuple(links)), {PROFILE: profile}, sink)
    try:
        for client in bare:
            check(await client.connect(), "the bare pymodbus client could not connect")

        # Like for like: the bare client and ModbusConnection read the same blocks, in turn,
        # that a poll of the meter reads.
        blocks = poller.plan(meters[0].path)

        def bare_read(client: AsyncModbusTcpClient, unit: int) -> Callable[[], Awaitable[int]]:
            async def once() -> int:
                for block in blocks:
                    reader = (client.read_input_registers
                              if block.function is Function.READ_INPUT_REGISTERS
                              else client.read_holding_registers)
                    answer = await reader(block.address, count=block.count, device_id=unit)
                    check(not answer.isError() and len(answer.registers) == block.count,
                          f"bare read failed: {answer}")
                return len(blocks)
            return once

        def our_read(conn: ModbusConnection, unit: int) -> Callable[[], Awaitable[int]]:
            async def once() -> int:
                for block in blocks:
                    outcome = await conn.read(block.function, block.address, block.count, unit)
                    check(isinstance(outcome, tuple) and len(outcome) == block.count,
                          f"ModbusConnection.read failed: {outcome}")
                return len(blocks)
            return once

        def our_poll(path: str) -> Callable[[], Awaitable[int]]:
            async def once() -> int:
                await poller.poll(path)
                return len(blocks)
            return once

        ways = {
            "bare": [bare_read(c, m.unit_id) for c, m in zip(bare, meters, strict=True)],
            "connection": [our_read(c, m.unit_id) for c, m in zip(conns, meters, strict=True)],
            "poller": [our_poll(m.path) for m in meters],
        }
        for _ in range(repeat):  # in turn, so a busy moment of the machine hits all alike
            for name, workers in ways.items():
                wall, cpu = await _rate(workers, seconds)
                best[name] = max(best.get(name, 0.0), wall)
                best[f"{name} cpu"] = max(best.get(f"{name} cpu", 0.0), cpu)
        check(not sink.failures, f"the poller recorded failures: {sink.failures[:3]}")
        check(sink.samples > 0 and poller.stats.missed_cycles.total() == 0, "poller result")
        best["points"] = len(profile.points) / len(blocks)
    finally:
        for client in bare:
            client.close()
        for conn in conns:
            conn.close()
        poller.close()
    return best


def run(cfg: Config) -> list[Row]:
    seconds = 0.4 if cfg.quick else 1.0
    with simulator() as port:
        rates = asyncio.run(_measure(port, seconds, repeat=1 if cfg.quick else 3))
    note = f"{CLIENTS} connections at once, best of {1 if cfg.quick else 3} x {seconds} s"
    return [
        Row(SECTION, "baseline: bare pymodbus client, requests", rates["bare"], "/s",
            note=note),
        Row(SECTION, "ModbusConnection.read, requests", rates["connection"], "/s", POLL_TARGET,
            note=note),
        Row(SECTION, "  ratio: ModbusConnection / bare client", rates["connection"]
            / rates["bare"], "x", note="lock, trace hooks, classification"),
        Row(SECTION, "Poller.poll (read + decode + sink), requests", rates["poller"], "/s",
            POLL_TARGET, note=f"{rates['points']:.1f} points per request ({PROFILE})"),
        Row(SECTION, "  ratio: Poller.poll / bare client", rates["poller"] / rates["bare"], "x",
            note="per Modbus request"),
        Row(SECTION, "Poller.poll, requests per CPU-second of the poller", rates["poller cpu"],
            "/s", POLL_TARGET, note="what one core drives when the meters answer at once"),
        Row(SECTION, "  ratio: per CPU-second, Poller.poll / bare client",
            rates["poller cpu"] / rates["bare cpu"], "x",
            note=f"bare client {rates['bare cpu']:,.0f} requests per CPU-second"),
    ]
