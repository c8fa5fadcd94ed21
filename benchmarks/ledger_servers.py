"""The real servers of ``make bench`` section 9, and the served API's load.

- :func:`ledger_chain`: anvil on 127.0.0.1 (at the contracts' hardfork) with the system deployed
  and one sample device registered: the chain the ledger checks devices against and the served
  worker reads anchors from.
- :func:`durable_postgres`: PostgreSQL on 127.0.0.1 with its durable settings (fsync and
  synchronous commit on), from :mod:`local_servers.postgres`, the tests' own server code.
- :func:`served_api`: ``mrv api serve`` in a subprocess (one worker, HTTP on 127.0.0.1) on a
  prefilled database, and an API key of the device's enterprise's reader.
- :func:`get_proofs`: N ``GET /v1/proofs/{device}/{meter}/{seq}`` over keep-alive connections,
  a few at a time (httpx), every answer checked.
- :func:`peak_rss_mb`: a process's own peak resident memory, from ``/proc/PID/status``.

Everything started here is stopped by the context manager that started it, also on failure.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine

from ledger_api.access import Role
from ledger_api.access.store import add_principal
from ledger_api.chain.watcher import ChainWatcher
from ledger_api.db.engine import make_sessions
from local_servers import free_port
from local_servers.anvil import start_anvil, stop_anvil
from local_servers.postgres import PostgresServer, start_server, stop_server
from mrv_cli.flows import prepare_sample_device
from mrv_core.batch import SignedBatchHeader
from mrv_core.bundle import ProofBundle
from mrv_core.chain import NodeSigner, System, Transactor, connect, deploy_system, load_artifacts
from mrv_core.codec import format_address, format_hex
from mrv_core.keys import DeviceKey
from mrv_core.verify import verify_bundle

from .core import check

#: The served worker's API secret: a benchmark's own, never a deployment's.
API_SECRET = "trustmrv-benchmark-secret-0123456789abcdef"
#: Concurrent keep-alive connections of the proof client.
CONNECTIONS = 4
#: Every VERIFY_EVERY-th bundle served is parsed and verified offline (``verify_bundle``).
VERIFY_EVERY = 50
#: ``mrv`` as operators run it: the console script beside this interpreter (the venv's), else
#: the same entry point through the interpreter.
MRV = [str(Path(sys.executable).parent / "mrv")] \
    if (Path(sys.executable).parent / "mrv").is_file() else [sys.executable, "-m", "mrv_cli.main"]


@dataclass(frozen=True)
class LedgerChain:
    """The deployed system on anvil, its URL, the enterprise (the deployer) and the device."""

    system: System
    url: str
    enterprise: Transactor
    device_key: DeviceKey
    device: Transactor


@contextmanager
def ledger_chain() -> Iterator[LedgerChain]:
    """anvil with the system deployed and a sample device registered under the deployer (made
    an enterprise); stopped on exit. Raises ``AnvilUnavailable`` when anvil cannot start."""
    evm = load_artifacts().evm_version()
    with tempfile.TemporaryFile() as log:
        url, proc = start_anvil("--hardfork", evm, log=log)
        try:
            chain = connect(url, evm_version=evm)
            admin = Transactor(chain, NodeSigner(chain.unlocked_accounts()[0]))
            system = System(chain, deploy_system(admin))
            key = DeviceKey.generate()
            device = prepare_sample_device(system, admin, key)
            yield LedgerChain(system, url, admin, key, device)
        finally:
            stop_anvil(proc)


@contextmanager
def durable_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server with durable commits, stopped and deleted on exit."""
    server = start_server(durable=True)
    try:
        yield server
    finally:
        stop_server(server)


def anchor_and_watch(ledger: LedgerChain, engine: Engine,
                     headers: Sequence[SignedBatchHeader]) -> None:
    """Anchor ``headers`` from the device's account and let a chain watcher record them in the
    ledger (so their readings' proofs can be served)."""
    for header in headers:
        ledger.system.anchor(ledger.device, header.header)
    ChainWatcher(ledger.system, engine, confirmations=0).poll()


def reader_key(engine: Engine, enterprise: str) -> str:
    """A new enterprise-reader principal of ``enterprise`` (0x address) and its API key."""
    with make_sessions(engine).begin() as session:
        _, key = add_principal(session, name=f"bench-reader-{time.time_ns()}",
                               role=Role.ENTERPRISE_READER,
                               enterprise=bytes.fromhex(enterprise[2:]),
                               server_secret=API_SECRET.encode(), now=datetime.now(UTC))
    return key


@dataclass(frozen=True)
class ServedApi:
    """A running ``mrv api serve``: its base URL and process id."""

    url: str
    pid: int


@contextmanager
def served_api(ledger: LedgerChain, database_url: str, directory: Path) -> Iterator[ServedApi]:
    """``mrv api serve`` (one worker) on ``database_url`` with ``ledger``'s chain, on a free
    loopback port, until exit (SIGTERM, then SIGKILL after 10 s). The database URL and the
    secret travel in the environment, not on the command line. Raises ``BenchmarkError`` when
    the server exits or does not answer ``/healthz`` within 60 s."""
    deployment = directory / "deployment.json"
    ledger.system.deployment.write(deployment)
    env = {**os.environ, "MRV_DATABASE_URL": database_url, "MRV_API_SECRET": API_SECRET}
    for _attempt in range(3):  # a probed port can be taken before the server binds it
        port = free_port()
        with open(directory / "server.log", "wb") as log:
            proc = subprocess.Popen(
                [*MRV, "api", "serve", "--rpc-url", ledger.url, "--deployment",
                 str(deployment), "--host", "127.0.0.1", "--port", str(port)],
                env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            if _wait_healthy(url, proc, timeout=60):
                yield ServedApi(url, proc.pid)
                return
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    log_tail = (directory / "server.log").read_text(errors="replace")[-2000:]
    check(False, f"mrv api serve did not answer on 127.0.0.1 (exit {proc.returncode}):\n"
                 f"{log_tail}")


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    return False


def get_proofs(api: ServedApi, key: str, device: bytes,
               readings: Sequence[tuple[bytes, int]]) -> tuple[float, int]:
    """GET the proof bundle of each (meter, seq) of ``device`` over :data:`CONNECTIONS`
    keep-alive connections; return (seconds, bytes received). Every answer must be 200; every
    :data:`VERIFY_EVERY`-th is kept, and after the timing verified offline (``verify_bundle``)
    and checked to prove the reading asked for. Raises ``BenchmarkError`` otherwise."""
    base = f"{api.url}/v1/proofs/{format_address(device)}"
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    to_check: list[tuple[int, bytes]] = []

    async def load() -> int:
        received = 0
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"},
                                     limits=limits, timeout=60) as client:
            async def worker(first: int) -> None:
                nonlocal received
                for i in range(first, len(readings), CONNECTIONS):
                    meter, seq = readings[i]
                    answer = await client.get(f"{base}/{format_hex(meter)}/{seq}")
                    check(answer.status_code == 200,
                          f"GET proof {i}: expected 200, got {answer.status_code} "
                          f"{answer.text[:300]}")
                    received += len(answer.content)
                    if i % VERIFY_EVERY == 0:
                        to_check.append((i, answer.content))

            await asyncio.gather(*(worker(c) for c in range(CONNECTIONS)))
        return received

    start = time.perf_counter()
    received = asyncio.run(load())
    seconds = time.perf_counter() - start
    for i, content in to_check:
        bundle = verify_bundle(ProofBundle.loads(content)).bundle
        got = [(r.reading.meter, r.reading.seq) for r in bundle.readings]
        check(got == [readings[i]] and bundle.anchor is not None,
              f"GET proof {i}: the bundle proves {got} (anchor {bundle.anchor}), expected "
              f"{[readings[i]]} and its anchor")
    return seconds, received


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size of process ``pid`` (``VmHWM`` in ``/proc/PID/status``), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    check(False, f"/proc/{pid}/status has no VmHWM line")
    return 0.0
