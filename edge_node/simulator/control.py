"""The simulator's control channel: JSON lines over TCP on loopback.

``mrv simulate meters`` prints ``control 127.0.0.1:PORT`` as its second line. A client sends
one JSON object per line and reads one JSON object per line back, ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``. Requests (``op``):

- ``{"op": "fault", "fault": "3:04"}``: apply a fault (``UNIT:KIND[:ARG]``, :mod:`.faults`);
- ``{"op": "advance", "seconds": 3600}``: move simulated time forward;
- ``{"op": "time"}``: the simulated Unix time, ``{"time": 1760000000.0}``;
- ``{"op": "values", "unit": 1}``: each point's value as a poller decodes it now (null: not
  available), ``{"values": {"energy_import": 1234, ...}}``;
- ``{"op": "registers", "unit": 1}``: each point's registers in wire order;
- ``{"op": "status"}``: units with their profiles, active faults, requests answered.

Lines are at most 64 KiB. :func:`request` is a small blocking client for tests and scripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from typing import Any

from mrv_core.errors import MrvError

from .faults import parse_fault
from .server import MeterSimulator

__all__ = ["ControlServer", "request"]

MAX_LINE = 64 * 1024


def _unit(message: dict[str, Any]) -> int:
    unit = message.get("unit")
    if type(unit) is not int:
        raise ValueError(f"'unit' must be an integer, got {unit!r}")
    return unit


def handle(simulator: MeterSimulator, message: object) -> dict[str, Any]:
    """The answer to one decoded request (module docstring)."""
    if not isinstance(message, dict):
        raise ValueError("a request is a JSON object")
    op = message.get("op")
    if op == "fault":
        text = message.get("fault")
        if not isinstance(text, str):
            raise ValueError("'fault' must be a string UNIT:KIND[:ARG]")
        fault = parse_fault(text)
        simulator.apply(fault)
        return {"ok": True, "fault": fault.describe()}
    if op == "advance":
        seconds = message.get("seconds")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool):
            raise ValueError(f"'seconds' must be a number, got {seconds!r}")
        simulator.advance(float(seconds))
        return {"ok": True, "time": simulator.clock.now()}
    if op == "time":
        return {"ok": True, "time": simulator.clock.now()}
    if op == "values":
        return {"ok": True, "values": simulator.values(_unit(message))}
    if op == "registers":
        return {"ok": True, "registers": {name: list(words) for name, words in
                                          simulator.registers(_unit(message)).items()}}
    if op == "status":
        return {"ok": True, "requests": simulator.requests,
                "units": {str(u): m.spec.profile.id for u, m in simulator.meters.items()},
                "faults": [f.describe() for f in simulator.faults.values()]}
    raise ValueError(f"unknown op {op!r}; known: fault, advance, time, values, registers, "
                     "status")


class ControlServer:
    """Serves :func:`handle` for one simulator on a loopback port."""

    def __init__(self, simulator: MeterSimulator) -> None:
        self.simulator = simulator
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen on ``host`` (loopback only) and ``port`` (0: a free one); the bound address."""
        if host not in ("127.0.0.1", "::1"):
            raise MrvError(f"the control channel listens on loopback only, not {host!r}")
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_LINE)
        name = self._server.sockets[0].getsockname()
        return str(name[0]), int(name[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while line := await reader.readline():
                try:
                    answer = handle(self.simulator, json.loads(line))
                except (ValueError, MrvError) as exc:
                    answer = {"ok": False, "error": str(exc)}
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass  # a client that went away or sent an over-long line: drop it
        finally:
            self._writers.discard(writer)
            writer.close()

    async def stop(self) -> None:
        """Stop listening and close every client connection."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(ConnectionError):
                await self._server.wait_closed()
            self._server = None


def request(address: tuple[str, int], message: dict[str, Any],
            timeout: float = 10.0) -> dict[str, Any]:
    """Send one request to a control channel and return its decoded answer (blocking)."""
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(json.dumps(message).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"control channel {address} closed without an answer")
            data += chunk
    answer: dict[str, Any] = json.loads(data)
    return answer
