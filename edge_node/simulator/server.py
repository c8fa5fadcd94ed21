"""The meter simulator: a pymodbus server on loopback serving shipped profiles at unit ids.

Built on pymodbus 3.16's current server API: each meter is a
:class:`pymodbus.simulator.SimDevice` whose registers (one :class:`~pymodbus.simulator.SimData`
per point, holes of up to :data:`~edge_node.decoding.SIMULATOR_HOLE` registers between points
answered as zeros) are refreshed by the device's async ``action`` hook from the meter model at
the moment of each read; a request handler in front of the datastore injects the faults of
:mod:`.faults` (exceptions, delays, silence, dropped connections) and answers only function
codes 03 and 04 (01 otherwise). A unit id no meter has is answered with exception 0B on TCP
(what a gateway says) and not at all on RTU (nobody on the bus answers).

Time is simulated (:class:`SimClock`): ``speed`` simulated seconds per real second (0: only
:meth:`MeterSimulator.advance` moves it). Use::

    async with MeterSimulator([MeterSpec(1, load_profile("eastron.sdm630"))]) as sim:
        host, port = await sim.start_tcp()
        sim.apply(parse_fault("1:04"))
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from types import TracebackType
from typing import Any, cast

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.simulator import DataType, SimData, SimDevice

from mrv_core.simulated_time import SimulatedTime

from ..decoding import SIMULATOR_HOLE, decode_point, encode_raw, round_half_even
from ..errors import NotRepresentable, SimulatorError, ValueUnavailable
from ..profiles.model import Function, Point
from .faults import Fault
from .meter import MeterModel, MeterSpec

__all__ = ["MeterSimulator", "SimClock"]

_NAN = {32: (0x7FC0, 0x0000), 64: (0x7FF8, 0x0000, 0x0000, 0x0000)}


@dataclass(slots=True)
class SimClock:
    """Simulated Unix time: ``start`` plus ``speed`` x real seconds elapsed plus every
    :meth:`advance`; or, made by :meth:`following`, a clock file's simulated time
    (``mrv_core.simulated_time``, shared with the edge nodes and the chain) plus every
    :meth:`advance`."""

    start: float
    speed: float = 1.0
    _offset: float = 0.0
    _t0: float = 0.0
    _shared: SimulatedTime | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.speed) and 0 <= self.speed <= 1e6):
            raise SimulatorError(f"speed must be 0..1000000, got {self.speed}")
        self._t0 = time.monotonic()

    @classmethod
    def following(cls, shared: SimulatedTime) -> SimClock:
        """A clock that reads ``shared`` (the wall clock mapped by the clock file), so the
        meters' load curve and counters follow the same simulated hours as the nodes."""
        return cls(start=shared.now(), speed=float(shared.speed), _shared=shared)

    def now(self) -> float:
        if self._shared is not None:
            return self._shared.now() + self._offset
        return self.start + self._offset + (time.monotonic() - self._t0) * self.speed

    def advance(self, seconds: float) -> None:
        if not (math.isfinite(seconds) and 0 <= seconds <= 10 * 366 * 86400):
            raise SimulatorError(f"advance takes 0..10 years of seconds, got {seconds}")
        self._offset += seconds


def _unavailable(point: Point) -> tuple[int, ...]:
    if point.not_available:
        return point.not_available[0]
    if point.data_type.is_float:
        return _NAN[point.data_type.bits]
    raise NotRepresentable(f"{point.name} has no 'not available' pattern")


class _Handler(ServerRequestHandler):
    """pymodbus's request handler with the simulator's faults in front of the datastore."""

    async def handle_request(self) -> None:
        pdu, addr = self.last_pdu, self.last_addr  # taken now: a later request replaces them
        if pdu is None:
            return
        simulator: MeterSimulator = self.server.simulator
        response = await simulator.answer(pdu, self)
        if response is None:
            return
        response.transaction_id = pdu.transaction_id
        response.dev_id = pdu.dev_id
        if not simulator.garbling.pop(id(pdu), False):
            self.server_send(response, addr)  # type: ignore[no-untyped-call]
            return
        frame = bytearray(self.framer.buildFrame(response))
        if simulator.serial:
            frame[-1] ^= 0xFF  # the CRC's high byte
        else:
            frame[8] = (frame[8] - 2) & 0xFF  # after the 7-byte MBAP and the function code
        self.send(bytes(frame), addr)


class _TcpServer(ModbusTcpServer):
    def __init__(self, simulator: MeterSimulator, devices: list[SimDevice],
                 address: tuple[str, int]) -> None:
        super().__init__(devices, address=address)
        self.simulator = simulator

    def callback_new_connection(self) -> _Handler:
        return _Handler(self, self.trace_packet, self.trace_pdu,  # type: ignore[no-untyped-call]
                        self.trace_connect)


class _SerialServer(ModbusSerialServer):
    def __init__(self, simulator: MeterSimulator, devices: list[SimDevice], **serial: Any):
        super().__init__(devices, **serial)
        self.simulator = simulator

    def callback_new_connection(self) -> _Handler:
        return _Handler(self, self.trace_packet, self.trace_pdu,  # type: ignore[no-untyped-call]
                        self.trace_connect)


class MeterSimulator:
    """Simulated meters (one per unit id) behind one Modbus server on loopback.

    Control API (also reachable from another process through :mod:`.control`):
    :meth:`apply` a fault, :meth:`advance` the clock, read :meth:`values` and
    :meth:`registers` as a poller would see them now."""

    def __init__(self, meters: Sequence[MeterSpec], *, seed: int = 0,
                 clock: SimClock | None = None, utc_offset: int = 8 * 3600) -> None:
        if not meters:
            raise SimulatorError("at least one meter is needed")
        self.clock = clock or SimClock(start=time.time(), speed=1.0)
        self.meters: dict[int, MeterModel] = {}
        self._steps: dict[tuple[int, str], Fraction] = {}  # by unit and point name
        for spec in meters:
            if not 1 <= spec.unit_id <= 247:
                raise SimulatorError(f"unit id must be 1..247, got {spec.unit_id}")
            if spec.unit_id in self.meters:
                raise SimulatorError(f"unit id {spec.unit_id} is given twice")
            for point in spec.profile.points:
                self._steps[spec.unit_id, point.name] = point.scale * spec.ratio(point)
            model = MeterModel(spec, seed, utc_offset)
            model.energy_joules(self.clock.start)  # counters start at the start time
            self.meters[spec.unit_id] = model
        self.faults: dict[int, Fault] = {}
        self.requests = 0
        self._server: _TcpServer | _SerialServer | None = None
        self.serial = False
        #: Requests (by id of their PDU) whose answer the handler must send broken.
        self.garbling: dict[int, bool] = {}
        self._waiting: set[asyncio.Task[Any]] = set()
        self._answering: Fault | None = None  # the fault of the request being answered

    # --- the meters ----------------------------------------------------------------------

    def _model(self, unit: int) -> MeterModel:
        try:
            return self.meters[unit]
        except KeyError:
            raise SimulatorError(f"no meter at unit id {unit}; units: "
                                 f"{', '.join(map(str, self.meters))}") from None

    def _served(self, model: MeterModel, point: Point, now: float,
                fault: Fault | None) -> tuple[int, ...]:
        """The point's registers now, with a ``not_available`` fault applied."""
        if fault is not None and fault.kind == "not_available":
            with contextlib.suppress(NotRepresentable):
                return _unavailable(point)
        return self._encode(model, point, now)

    def _encode(self, model: MeterModel, point: Point, now: float) -> tuple[int, ...]:
        step = self._steps[model.spec.unit_id, point.name]  # scale x ratio, computed once
        value = model.value(point.quantity, now)
        try:
            if point.counter_width is not None:  # a meter shows completed steps, then wraps
                raw = value * step.denominator // step.numerator
                return encode_raw(point, raw % (1 << point.counter_width))
            if point.data_type.is_float:  # the meter's own conversion: the nearest float
                return encode_raw(point, value * step.denominator / step.numerator)
            return encode_raw(point, round_half_even(value * step.denominator, step.numerator))
        except NotRepresentable:  # beyond the register's range: "no value", else its limit
            with contextlib.suppress(NotRepresentable):
                return _unavailable(point)
            bits = point.data_type.bits - (1 if point.data_type.signed else 0)
            return encode_raw(point, -(1 << bits) if value < 0 else (1 << bits) - 1)

    def registers(self, unit: int) -> dict[str, tuple[int, ...]]:
        """Each point's registers (wire order) as the meter at ``unit`` would answer now."""
        model, now, fault = self._model(unit), self.clock.now(), self.faults.get(unit)
        return {p.name: self._served(model, p, now, fault) for p in model.spec.profile.points}

    def values(self, unit: int) -> dict[str, int | None]:
        """Each point's value, decoded from :meth:`registers` (None: not available)."""
        model = self._model(unit)
        decoded: dict[str, int | None] = {}
        for name, words in self.registers(unit).items():
            point = model.spec.profile.point(name)
            try:
                decoded[name] = decode_point(point, words, ratio=model.spec.ratio(point))
            except ValueUnavailable:
                decoded[name] = None
        return decoded

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by ``seconds``."""
        self.clock.advance(seconds)

    def apply(self, fault: Fault) -> None:
        """Inject (or with ``clear`` remove) a fault; ``reset`` and ``rollover`` act now."""
        model = self._model(fault.unit)
        now = self.clock.now()
        if fault.kind == "clear":
            self.faults.pop(fault.unit, None)
        elif fault.kind == "reset":
            points = model.spec.profile.points
            quantities = {p.quantity for p in points if p.quantity.startswith("energy.")}
            if fault.target is not None:
                named = {p.quantity for p in points if p.name == fault.target}
                quantities = named or ({fault.target} & quantities)
                if not quantities:
                    raise SimulatorError(f"reset: unit {fault.unit} has no counter "
                                         f"{fault.target!r}")
            for quantity in sorted(quantities):
                model.set_counter(quantity, 0, now)
        elif fault.kind == "rollover":
            counters = [p for p in model.spec.profile.points if p.counter_width is not None
                        and fault.target in (None, p.name)]
            if not counters:
                raise SimulatorError(f"rollover: unit {fault.unit} ({model.spec.profile.id}) "
                                     f"has no integer counter {fault.target or ''}".rstrip())
            point = counters[0]
            step = point.scale * model.spec.ratio(point)
            assert point.counter_width is not None
            near = ((1 << point.counter_width) - 10) * step
            model.set_counter(point.quantity, math.ceil(near), now)
        else:
            self.faults[fault.unit] = fault

    # --- serving -----------------------------------------------------------------------

    def _devices(self) -> list[SimDevice]:
        devices = []
        for unit, model in self.meters.items():
            blocks: dict[Function, list[SimData]] = {f: [] for f in Function}
            ordered = sorted(model.spec.profile.points, key=lambda p: (p.function, p.address))
            end: dict[Function, int] = {}
            for point in ordered:
                last = end.get(point.function)
                if last is not None and point.address < last:
                    continue  # overlapping points (none in the shipped profiles) share words
                if last is not None and point.address - last <= SIMULATOR_HOLE and \
                        point.address > last:
                    blocks[point.function].append(SimData(last, count=point.address - last,
                                                          values=0,
                                                          datatype=DataType.REGISTERS))
                blocks[point.function].append(SimData(point.address, count=point.words,
                                                      values=0, datatype=DataType.REGISTERS))
                end[point.function] = point.end
            holding = blocks[Function.READ_HOLDING_REGISTERS] or [SimData(0)]
            inputs = blocks[Function.READ_INPUT_REGISTERS] or [SimData(0)]
            bits = [SimData(0, datatype=DataType.BITS)]
            devices.append(SimDevice(unit, simdata=(bits, list(bits), holding, inputs),
                                     action=functools.partial(self._refresh, unit)))
        return devices

    async def _refresh(self, unit: int, function: int, start: int, address: int, count: int,
                       registers: list[int], values: list[int] | list[bool] | None,
                       ) -> ExcCodes | None:
        """pymodbus ``action`` hook: write the live values of the points in the request."""
        model = self.meters[unit]
        now = self.clock.now()
        for point in model.spec.profile.points:
            if point.function == function and point.address < address + count and \
                    address < point.end:
                registers[point.address - start:point.end - start] = self._served(
                    model, point, now, self._answering)
        return None

    def _take_fault(self, unit: int) -> Fault | None:
        """The unit's answer fault for one request, counted against its ``count``."""
        fault = self.faults.get(unit)
        if fault is not None and fault.count is not None:
            if fault.count <= 1:
                del self.faults[unit]
            else:
                self.faults[unit] = Fault(unit, fault.kind, fault.code, fault.seconds,
                                          fault.count - 1, fault.target)
        return fault

    async def answer(self, pdu: ModbusPDU, handler: ServerRequestHandler) -> ModbusPDU | None:
        """The response to one request (None: no answer), faults applied."""
        self.requests += 1
        unit, function = pdu.dev_id, pdu.function_code
        if unit not in self.meters:
            return None if self.serial else ExceptionResponse(
                function, ExcCodes.GATEWAY_NO_RESPONSE)
        fault = self._take_fault(unit)
        if fault is not None:
            if fault.kind == "drop":
                transport = handler.transport
                if not self.serial and isinstance(transport, asyncio.Transport):
                    transport.abort()
                return None
            if fault.kind == "timeout":
                return None
            if fault.kind == "garble":
                self.garbling[id(pdu)] = True
            if fault.kind == "exception":
                assert fault.code is not None
                return ExceptionResponse(function, ExcCodes(fault.code))
            if fault.kind == "delay":
                assert fault.seconds is not None
                task = asyncio.current_task()
                if task is not None:
                    self._waiting.add(task)
                try:
                    await asyncio.sleep(fault.seconds)
                finally:
                    if task is not None:
                        self._waiting.discard(task)
        if function not in (Function.READ_HOLDING_REGISTERS, Function.READ_INPUT_REGISTERS):
            return ExceptionResponse(function, ExcCodes.ILLEGAL_FUNCTION)
        assert self._server is not None
        context = cast(ModbusServerContext, self._server.context)  # a SimCore: same methods
        # The datastore calls the action hook (_refresh) without suspending, so no other
        # request runs before it has read this request's fault.
        self._answering = fault
        try:
            response: ModbusPDU = await pdu.datastore_update(context, unit)
        finally:
            self._answering = None
        return response

    async def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen on loopback ``host`` (127.0.0.1 or ::1) and ``port`` (0: a free one);
        returns the bound address."""
        if host not in ("127.0.0.1", "::1"):
            raise SimulatorError(f"the simulator listens on loopback only (127.0.0.1 or ::1), "
                                 f"not {host!r}")
        if self._server is not None:
            raise SimulatorError("the simulator is already serving")
        server = _TcpServer(self, self._devices(), (host, port))
        await self._listen(server, f"{host}:{port}")
        sockname = server.transport.sockets[0].getsockname()  # type: ignore[attr-defined]
        return str(sockname[0]), int(sockname[1])

    async def start_rtu(self, device: str, *, baudrate: int = 9600, parity: str = "N",
                        stopbits: int = 1) -> None:
        """Serve Modbus RTU on the serial ``device`` (e.g. one end of a socat pty pair)."""
        if self._server is not None:
            raise SimulatorError("the simulator is already serving")
        if not 50 <= baudrate <= 4_000_000 or parity not in ("N", "E", "O") or \
                stopbits not in (1, 2):
            raise SimulatorError(f"serial settings {baudrate} {parity} {stopbits}: expected "
                                 "a baud rate of 50..4000000, parity N, E or O, 1 or 2 stop "
                                 "bits")
        server = _SerialServer(self, self._devices(), port=device, baudrate=baudrate,
                               parity=parity, stopbits=stopbits, reconnect_delay=0)
        await self._listen(server, device)
        self.serial = True

    async def _listen(self, server: _TcpServer | _SerialServer, where: str) -> None:
        try:
            await server.serve_forever(background=True)
        except (RuntimeError, OSError, ValueError, termios.error) as exc:
            # pymodbus: "Could not start listen" (port in use, no such device); termios: a
            # setting the serial device refuses (a pty refuses parity).
            await server.shutdown()  # type: ignore[no-untyped-call]
            why = f"the device refused its serial settings {exc}" if isinstance(
                exc, termios.error) else str(exc)
            raise SimulatorError(f"cannot listen on {where}: {why}") from None
        self._server = server

    async def stop(self) -> None:
        """Close the server, its connections and any delayed answers."""
        for task in list(self._waiting):
            task.cancel()
        if self._server is not None:
            server, self._server = self._server, None
            await server.shutdown()  # type: ignore[no-untyped-call]
        await asyncio.sleep(0)  # let the transports' close callbacks run

    async def __aenter__(self) -> MeterSimulator:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()
