"""One Modbus connection (a TCP socket or an RTU serial port) shared by the meters on it.

:class:`ModbusConnection` wraps one pymodbus 3.16 async client (``AsyncModbusTcpClient`` or
``AsyncModbusSerialClient``):

- built lazily on the first request, and rebuilt (closed, a new client made, connected again)
  after a ``connection`` or ``framing`` failure and, on RTU, after a ``timeout`` too: an RTU
  answer carries no transaction id, so a late answer to the timed-out request could otherwise
  be taken for the next request's;
- a failed connect is not retried before ``reconnect_delay`` seconds, doubling up to
  ``reconnect_delay_max`` (requests meanwhile fail at once with ``connection``), so a dead
  gateway does not make every meter behind it wait for a connect timeout each interval;
- requests are serialized by a lock (one RTU bus, one gateway socket, one outstanding request);
- the request timeout is the meter's (``MeterSettings.timeout``), else the connection's; an
  unanswered request is re-sent ``retries`` times by pymodbus before it counts as a timeout;
- pymodbus's own reconnect task is off (``reconnect_delay=0``): rebuilding is this module's
  decision, and no background task outlives :meth:`close`.

Each request reports an :data:`~.classify.Outcome`: the registers, or a
:class:`~.classify.ReadError` classified by :func:`~.classify.classify` from the exception or
response and from what the client's trace hooks saw meanwhile (:class:`~.classify.Evidence`:
frames pymodbus discarded, a lost link).
"""

from __future__ import annotations

import asyncio

import structlog
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.framer import FramerRTU, FramerSocket
from pymodbus.framer.base import FramerBase
from pymodbus.pdu import DecodePDU

from edge_node.profiles.model import Function

from .classify import ErrorClass, Evidence, Outcome, ReadError, classify, classify_response
from .clock import Clock
from .settings import RetrySettings, RtuConnection, TcpConnection

__all__ = ["ModbusConnection"]

_Client = AsyncModbusTcpClient | AsyncModbusSerialClient
_log = structlog.get_logger("edge_node.acquisition")

#: pymodbus closes a TCP link by itself after this many unanswered requests in a row (default
#: retries + 3); set high so that one dead meter behind a gateway does not drop its neighbours'
#: link: after a timeout the policy tries the next interval, rebuilds are this module's call.
_NO_RESPONSE_LIMIT = 1_000_000


class ModbusConnection:
    """A lazily built, self-rebuilding Modbus client for the meters of one connection."""

    def __init__(self, settings: TcpConnection | RtuConnection, retry: RetrySettings,
                 clock: Clock) -> None:
        self.settings = settings
        self._retry = retry
        self._clock = clock
        self._client: _Client | None = None
        self._lock: asyncio.Lock | None = None
        self._next_connect = 0.0
        self._connect_delay = retry.reconnect_delay
        # Evidence about the request in flight, set by the client's trace hooks.
        self._unit = 0
        self._framing = False
        self._disconnected = False
        self._checker: FramerBase = (FramerSocket if isinstance(settings, TcpConnection)
                                     else FramerRTU)(DecodePDU(False))
        #: Clients built so far (the first connect included): rebuilds are ``builds - 1``.
        self.builds = 0

    @property
    def name(self) -> str:
        return self.settings.name

    async def read(self, function: Function, address: int, count: int, unit_id: int,
                   timeout: float | None = None) -> Outcome:
        """Read ``count`` registers at 0-based ``address`` of unit ``unit_id`` with
        ``function`` (03 holding, 04 input); ``timeout`` in seconds (the connection's when None).
        Never raises for a Modbus or I/O failure: returns a :class:`ReadError` instead."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            client = await self._connected()
            if isinstance(client, ReadError):
                return client
            self._unit, self._framing, self._disconnected = unit_id, False, False
            client.ctx.comm_params.timeout_connect = timeout or self.settings.timeout
            reader = (client.read_holding_registers
                      if function is Function.READ_HOLDING_REGISTERS
                      else client.read_input_registers)
            try:
                response = await reader(address, count=count, device_id=unit_id)
            except Exception as exc:  # every pymodbus and OS failure is classified, none lost
                error = classify(exc, Evidence(self._framing, self._disconnected))
                outcome = ReadError(error, f"{type(exc).__name__}: {exc}")
            else:
                error_or_none = classify_response(response, count)
                if error_or_none is None:
                    return tuple(response.registers)
                error = error_or_none
                outcome = ReadError(error, str(response))
            if error in (ErrorClass.CONNECTION, ErrorClass.FRAMING) or (
                    error is ErrorClass.TIMEOUT and isinstance(self.settings, RtuConnection)):
                _log.warning("modbus connection closed for a rebuild", connection=self.name,
                             unit_id=unit_id, error=str(error), detail=outcome.detail)
                self._drop()
            return outcome

    def close(self) -> None:
        """Close the client (idempotent); a later :meth:`read` builds a new one."""
        self._drop()

    # --- internals ----------------------------------------------------------------------------

    async def _connected(self) -> _Client | ReadError:
        if self._client is not None and self._client.connected:
            return self._client
        self._drop()
        now = self._clock.monotonic()
        if now < self._next_connect:
            return ReadError(ErrorClass.CONNECTION,
                             f"{self.name}: not reconnecting for {self._next_connect - now:.1f} s "
                             "after a failed connect")
        client = self._build()
        self.builds += 1
        try:
            ok = await client.connect()
        except Exception as exc:  # a serial port that is not there, a bad host name
            ok, why = False, f"{type(exc).__name__}: {exc}"
        else:
            why = "connect failed"
        if not ok:
            client.close()
            self._next_connect = self._clock.monotonic() + self._connect_delay
            _log.warning("modbus connect failed", connection=self.name, reason=why,
                         retry_in_seconds=self._connect_delay)
            self._connect_delay = min(2 * self._connect_delay, self._retry.reconnect_delay_max)
            return ReadError(ErrorClass.CONNECTION, f"{self.name}: {why}")
        self._connect_delay = self._retry.reconnect_delay
        client.set_max_no_responses(_NO_RESPONSE_LIMIT)
        self._client = client
        return client

    def _build(self) -> _Client:
        s = self.settings
        if isinstance(s, TcpConnection):
            return AsyncModbusTcpClient(
                s.host, port=s.port, name=s.name, timeout=s.timeout, retries=s.retries,
                reconnect_delay=0, trace_packet=self._trace_packet,
                trace_connect=self._trace_connect)
        return AsyncModbusSerialClient(
            s.port, baudrate=s.baudrate, bytesize=s.bytesize, parity=s.parity,
            stopbits=s.stopbits, name=s.name, timeout=s.timeout, retries=s.retries,
            reconnect_delay=0, trace_packet=self._trace_packet, trace_connect=self._trace_connect)

    def _drop(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            client.close()

    def _trace_connect(self, connected: bool) -> None:
        if not connected:
            self._disconnected = True

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        """pymodbus passes every received byte string (the buffer so far) before its framer
        looks at it: decode it with the same framer to see what pymodbus will silently drop:
        a frame with a bad CRC, from another unit, with a non-Modbus protocol id, or whose PDU
        does not decode. Returns ``data`` unchanged."""
        if sending or self._framing:
            return data
        if isinstance(self._checker, FramerSocket) and len(data) >= 4 and data[2:4] != b"\0\0":
            self._framing = True  # MBAP protocol id must be 0: pymodbus would wait forever
            return data
        used, unit, _tid, pdu = self._checker.decode(data)
        if used and not pdu:
            self._framing = True  # a complete frame that failed its CRC
        elif used and ((self._unit and unit != self._unit)
                       or self._checker.decoder.decode(pdu) is None):
            self._framing = True
        return data

