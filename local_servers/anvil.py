"""anvil, a real JSON-RPC chain node (npm ``@foundry-rs/anvil``, pinned in package.json and
installed by ``make setup``), started on 127.0.0.1 for a test or a benchmark and stopped by it.

anvil's npm wrapper starts the native binary as its child: both run in a process group of their
own (``start_new_session``), and :func:`stop_anvil` signals the whole group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

from web3 import HTTPProvider, Web3

from . import free_port

__all__ = ["ANVIL", "AnvilUnavailable", "start_anvil", "stop_anvil", "wait_until_up"]

#: The binary ``npm install`` puts in the repository's node_modules.
ANVIL = Path(__file__).resolve().parents[1] / "node_modules" / ".bin" / "anvil"


class AnvilUnavailable(RuntimeError):
    """anvil is not installed, or did not answer on 127.0.0.1 (three ports tried)."""


def start_anvil(*options: str, log: IO[bytes],
                timeout: float = 30) -> tuple[str, subprocess.Popen[bytes]]:
    """Start anvil on a free loopback port with ``options`` (e.g. ``--hardfork paris``), its
    output to ``log``, every account funded with 1,000,000 ether; return its URL and process
    once it answers JSON-RPC. Raises :class:`AnvilUnavailable` (the end of ``log`` is the
    caller's to show)."""
    if not ANVIL.exists():
        raise AnvilUnavailable(f"anvil not found at {ANVIL}: run `make setup` (npm install; "
                               "package @foundry-rs/anvil)")
    for _attempt in range(3):  # a free port can be taken between probing and binding
        port = free_port()
        proc = subprocess.Popen(
            [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--silent", *options,
             "--balance", "1000000"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        if wait_until_up(url, proc, timeout=timeout):
            return url, proc
        stop_anvil(proc)
    raise AnvilUnavailable(f"anvil did not start on 127.0.0.1 (exit {proc.poll()})")


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Whether the node at ``url`` answered within ``timeout`` seconds (False as soon as
    ``proc`` has exited)."""
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 5}))
    deadline = time.monotonic() + timeout
    while True:
        try:
            if w3.is_connected():
                return True
        except Exception:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def stop_anvil(proc: subprocess.Popen[bytes]) -> None:
    """Stop the anvil we started: its node wrapper and the native child (one process group);
    SIGTERM first (anvil then writes its ``--state`` file), SIGKILL after 10 s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
