"""Shared pieces of the simulator's integration tests: a runner that fails on leaked asyncio
tasks, a check for leaked threads, a socat virtual serial pair, and Debian's ``mbpoll``.

All servers bind 127.0.0.1; serial ports are socat ptys. ``mbpoll`` and ``socat`` come from
Debian (scripts/install_debian_packages.sh, run by ``make test``); a missing one fails."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from edge_node.profiles import load_profile
from edge_node.simulator import MeterSimulator, MeterSpec, SimClock

from ..conftest import run_scenario

T = TypeVar("T")
#: A fixed simulated time (a Monday 14:13 in Beijing), the clock stopped: values stay put
#: between a read and the check.
START = 1_760_000_000


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` in a fresh event loop; fail if it leaves any task behind (the parent
    conftest's ``run_scenario``; leaked threads are its autouse fixture's)."""
    return run_scenario(lambda: coroutine)


def simulator(*meters: tuple[int, str], seed: int = 3) -> MeterSimulator:
    """A simulator of ``(unit, profile id)`` meters at :data:`START`, clock stopped."""
    return MeterSimulator([MeterSpec(unit, load_profile(profile)) for unit, profile in meters],
                          seed=seed, clock=SimClock(START, speed=0))


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed: run scripts/install_debian_packages.sh"
    return path


async def mbpoll(*argv: str, timeout: float = 5.0) -> tuple[int, str]:
    """Run Debian's mbpoll once (``-1``) with a response ``timeout`` (generous by default: a
    loaded machine must not fail a read that should succeed); its exit code and its stdout and
    stderr together."""
    process = await asyncio.create_subprocess_exec(
        tool("mbpoll"), "-1", "-o", str(timeout), *argv, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode is not None
    return process.returncode, out.decode()


def mbpoll_registers(output: str) -> dict[int, int]:
    """``[ref]: 0xABCD`` lines of mbpoll's hex output, by the reference it printed."""
    return {int(ref): int(value, 16)
            for ref, value in re.findall(r"^\[(\d+)\]:\s+0x([0-9A-F]{4})", output, re.M)}


@pytest.fixture
def serial_pair() -> Iterator[tuple[str, str]]:
    """Two connected pseudo-terminals made by ``socat`` (a virtual null-modem cable)."""
    process = subprocess.Popen([tool("socat"), "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"],
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        paths: list[str] = []
        while len(paths) < 2:
            line = process.stderr.readline()
            assert line, "socat exited before opening two ptys"
            paths += re.findall(r"PTY is (/dev/pts/\d+)", line)
        while "starting data transfer loop" not in line:
            line = process.stderr.readline()
            assert line, "socat exited before its transfer loop"
        yield paths[0], paths[1]
    finally:
        process.terminate()
        process.wait(10)
        if process.stderr is not None:
            process.stderr.close()
