"""Real servers for the integration tests: anvil JSON-RPC nodes on 127.0.0.1, one per session and
hardfork: the contracts' own (paris, a consortium-like chain) and anvil's newest default, with
EIP-7825's per-transaction gas cap enforced (the chains users run).

anvil comes from npm (``@foundry-rs/anvil``, pinned in package.json, installed by `make setup`).
A missing binary fails the run instead of skipping it: the README's test command installs it,
and an integration suite that silently skips proves nothing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import HTTPProvider, Web3

from mrv_core.chain import load_artifacts

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """URL of a real anvil node on 127.0.0.1 for the whole session (stopped afterwards), at the
    hardfork the contracts are compiled for, with 10 funded, unlocked dev accounts."""
    yield from _anvil("--hardfork", load_artifacts().evm_version())


@pytest.fixture(scope="session")
def anvil_latest_url() -> Iterator[str]:
    """Like :func:`anvil_url`, at anvil's own default hardfork (its newest: EIP-3860's initcode
    cap, EIP-7825's cap of 2**24 gas per transaction with ``--enable-tx-gas-limit``)."""
    yield from _anvil("--enable-tx-gas-limit")


#: Genesis time of :func:`anvil_simulated_url`'s chain: 2026-09-30T00:00:00+08:00, a day before
#: :data:`SIMULATED_START`, the simulated start of the tests that drive a chain's clock.
SIMULATED_GENESIS = 1_790_697_600
SIMULATED_START = 1_790_784_000  # 2026-10-01T00:00:00+08:00


@pytest.fixture
def anvil_simulated_url() -> Iterator[str]:
    """A fresh anvil for one test whose chain clock simulated time drives (``ChainClock``), at
    the contracts' hardfork, genesis at :data:`SIMULATED_GENESIS`. Never the session's anvil:
    block time only goes forward, and a chain moved to a simulated instant would stay there for
    every later test."""
    yield from _anvil("--hardfork", load_artifacts().evm_version(),
                      "--timestamp", str(SIMULATED_GENESIS))


def _anvil(*options: str) -> Iterator[str]:
    """Run anvil with ``options`` until the generator is closed; yield its URL."""
    if not ANVIL.exists():
        pytest.fail(f"anvil not found at {ANVIL}: run `make setup` (npm install; package "
                    "@foundry-rs/anvil)", pytrace=False)
    with tempfile.TemporaryFile() as log:
        for _attempt in range(3):  # a free port can be taken between probing and binding
            url = f"http://127.0.0.1:{free_port()}"
            proc = subprocess.Popen(
                [str(ANVIL), "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1], "--silent",
                 *options, "--balance", "1000000"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                if _wait_until_up(url, proc, timeout=30):
                    yield url
                    return
            finally:
                _stop(proc)
        log.seek(0)
        pytest.fail(f"anvil did not start on 127.0.0.1 (exit {proc.poll()}):\n"
                    f"{log.read().decode(errors='replace')[-2000:]}", pytrace=False)


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float) -> bool:
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


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the anvil we started: its node wrapper and the native child (one process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
