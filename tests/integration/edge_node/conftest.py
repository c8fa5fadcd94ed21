"""Real Modbus servers on 127.0.0.1 (and on a socat pty pair) for the acquisition tests.

Each test runs its scenario with :func:`run_scenario`, which fails it when the scenario leaves
an asyncio task behind (servers and clients must be closed by the test); the autouse fixture
fails a test that leaves a thread or a child process running.

:class:`Faults` is a pymodbus server's misbehaviour, switched on and off by the test: an
exception code for every read, a delay before answering, or a corrupted frame (another unit id,
a broken CRC) through the server's ``trace_packet`` hook, which may rewrite what it sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from integration.chain.support import Actors
from integration.edge_node.receiver import Receiver
from integration.edge_node.support import embedded_actors
from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge_node.acquisition import Event
from edge_node.batching import Batcher, BatchingSettings
from edge_node.profiles import list_profiles, load_profile
from edge_node.profiles.model import Profile
from edge_node.signing import ReadingSigner
from edge_node.signing import Sample as SignerSample
from edge_node.signing.records import new_record
from edge_node.store import Store
from factories import METER_PATHS, TEST_DOMAIN, TEST_KEY, signed_records
from mrv_core.keys import DeviceKey

from ..conftest import free_port

T = TypeVar("T")


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread running. Threads that end on their own are given 5 s
    (asyncio's per-child ``asyncio-waitpid`` thread ends just after the child is reaped)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    for thread in set(threading.enumerate()) - before:
        thread.join(max(0.0, deadline - time.monotonic()))
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not left, f"threads left running: {left}"


def run_scenario(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run ``scenario()`` in a new event loop; fail if it leaves tasks behind."""

    async def checked() -> T:
        result = await scenario()
        await asyncio.sleep(0)  # let closed transports finish their callbacks
        current = asyncio.current_task()
        leaked = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        assert not leaked, f"tasks left running: {leaked}"
        return result

    return asyncio.run(checked())


@dataclass
class Faults:
    """What a test server does wrong right now (all off by default); counts the reads it got."""

    exception: int | None = None
    exception_reads: int = -1  # how many reads get ``exception`` (-1: all)
    delay: float = 0.0
    wrong_unit: bool = False
    bad_crc: bool = False
    reads: int = 0
    _stopping: asyncio.Event | None = None

    def stop(self) -> None:
        """End every delay now (the server is shutting down: no handler may outlive it)."""
        if self._stopping is not None:
            self._stopping.set()

    async def action(self, function_code: int, start_address: int, address: int, count: int,
                     current_registers: list[int], set_values: Any) -> ExcCodes | None:
        self.reads += 1
        if self.delay:
            if self._stopping is None:
                self._stopping = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.delay)
        if self.exception is None or self.exception_reads == 0:
            return None
        self.exception_reads -= 1 if self.exception_reads > 0 else 0
        return ExcCodes(self.exception)

    def trace_packet(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            return data
        if self.wrong_unit:  # TCP: MBAP unit id is byte 6; RTU: the address is byte 0
            index = 6 if len(data) > 7 and data[2:4] == b"\0\0" else 0
            data = data[:index] + bytes([(data[index] + 1) % 248]) + data[index + 1:]
        if self.bad_crc:
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        return data


def device(unit: int, faults: Faults, registers: dict[int, int] | None = None,
           size: int = 200) -> SimDevice:
    """A device answering holding and input registers 0..size-1 (shared block)."""
    values = [0] * size
    for address, value in (registers or {}).items():
        values[address] = value
    return SimDevice(id=unit, simdata=[SimData(0, values=values, datatype=DataType.REGISTERS)],
                     action=faults.action)


#: Every shipped profile by id.
PROFILES = {pid: load_profile(pid) for pid in list_profiles()}


def drain(queue: asyncio.Queue[Event]) -> list[Event]:
    """The events waiting in ``queue``, in order."""
    return [queue.get_nowait() for _ in range(queue.qsize())]


def profile_device(unit: int, profile: Profile, faults: Faults,
                   registers: dict[str, tuple[int, ...]]) -> SimDevice:
    """A device serving ``registers`` (wire order) at the addresses of ``profile``'s points, by
    point name; every other register of the profile's map reads 0."""
    points = {p.name: p for p in profile.points}
    blocks = [SimData(points[name].address, values=list(words), datatype=DataType.REGISTERS)
              for name, words in registers.items()]
    return SimDevice(id=unit, simdata=blocks, action=faults.action)


@asynccontextmanager
async def tcp_server(devices: list[SimDevice], faults: Faults | None = None,
                     port: int | None = None) -> AsyncIterator[int]:
    """A pymodbus TCP server on 127.0.0.1 serving ``devices``; yields its port."""
    port = port or free_port()
    server = ModbusTcpServer(devices, address=("127.0.0.1", port),
                             trace_packet=faults.trace_packet if faults else None)
    await server.serve_forever(background=True)
    try:
        yield port
    finally:
        await _shutdown(server, devices)


@asynccontextmanager
async def rtu_server(devices: list[SimDevice], port: str, faults: Faults | None = None,
                     baudrate: int = 19_200) -> AsyncIterator[None]:
    """A pymodbus RTU server on serial ``port`` (one end of a socat pair)."""
    server = ModbusSerialServer(devices, framer=FramerType.RTU, port=port, baudrate=baudrate,
                                trace_packet=faults.trace_packet if faults else None)
    await server.serve_forever(background=True)
    try:
        yield
    finally:
        await _shutdown(server, devices)


async def _shutdown(server: ModbusTcpServer | ModbusSerialServer, devices: list[SimDevice]) -> None:
    for dev in devices:  # end the delays of requests still being answered
        action = dev.action
        owner = getattr(action, "__self__", None)
        if isinstance(owner, Faults):
            owner.stop()
    await server.shutdown()
    await asyncio.sleep(0.01)  # the handlers whose delay ended finish writing


@pytest.fixture
def pty_pair() -> Iterator[tuple[str, str]]:
    """Two connected pseudo-terminals made by socat (a virtual null-modem serial cable)."""
    socat = shutil.which("socat")
    if socat is None:
        pytest.fail("socat not found: `make test` installs it "
                    "(scripts/install_debian_packages.sh socat)", pytrace=False)
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a", Path(tmp) / "b"
        proc = subprocess.Popen(
            [socat, "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 5
            while not (a.exists() and b.exists()):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"socat made no pty pair (exit {proc.poll()})", pytrace=False)
                time.sleep(0.01)
            yield str(a), str(b)
        finally:
            proc.terminate()
            proc.wait(timeout=5)


# -- the uplink's fixtures: a real edge store filled by the real signer and batcher, and the
# -- recording receiver (receiver.py) that stands in for the ledger API until that issue.

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "edge.sqlite", TEST_KEY.address, TEST_DOMAIN) as opened:
        yield opened


@pytest.fixture
def node_actors() -> Iterator[Actors]:
    """The session's embedded chain with a deployed system and a registered device
    (``support.embedded_actors``) for a node run in the test's process (``inprocess.py``),
    reverted to its snapshot after the test."""
    deployed = embedded_actors()
    provider = deployed.chain.w3.provider
    snapshot = provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield deployed
    provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().up()
    try:
        yield started
    finally:
        started.down()


def fill(store: Store, cycles: int, *, start: int = 0, records: int = 0,
         batch_size: int = 10, key: DeviceKey = TEST_KEY, t0: int = T0,
         close: bool = True) -> None:
    """Sign ``cycles`` poll cycles of three energy meters (from cycle ``start``, one a minute
    from ``t0``) with ``key`` (the store's device), add ``records`` signed records, and close
    every batch of ``batch_size`` leaves (and, with ``close``, a last partial one)."""
    signer = ReadingSigner(store, key)
    for cycle in range(start, start + cycles):
        t = t0 + 60 * cycle
        signer.sign_cycle([SignerSample(meter_path=path, point="import_energy",
                                        quantity="energy.active.import:Wh", timestamp=t,
                                        value=1000 * cycle + i,
                                        raw_registers=(0, 1000 * cycle + i))
                           for i, path in enumerate(METER_PATHS)], now=t)
    if records:
        with store.write() as session:
            store.add_records(session, [new_record(r) for r in
                                        signed_records(records, seed=start, key=key,
                                                       domain=store.domain)])
    Batcher(store, key, settings=BatchingSettings(max_leaves=batch_size)).close_due(
        now=t0 + 60 * (start + cycles), force=close)
