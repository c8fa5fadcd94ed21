"""Error classes of a failed poll, and the pure mapping of every pymodbus outcome onto them.

The class strings are shared by gap records (``errorClass``, right-padded to 32 bytes), metrics
and logs (the brief of issue 9). :func:`classify` is pure: it looks at the outcome of one
request (a response PDU or the exception the client raised) and at what the connection saw
while the request was outstanding (:class:`Evidence`), and never at message text. One class is
never a request's outcome: ``overrun``, the poller's own for a tick it skipped because the
meter's previous poll was still running (``poller``).

How pymodbus 3.16 reports each failure (read in ``pymodbus/transaction/transaction.py``,
``framer/base.py``, ``framer/rtu.py``, ``client/base.py``, ``transport/transport.py``):

- a Modbus exception response is returned, not raised: an :class:`ExceptionResponse` PDU whose
  ``exception_code`` is the device's code (01-06, 0A, 0B ...);
- no answer within the timeout (after ``retries`` re-sends) raises :class:`ModbusIOException`;
- a frame with a bad CRC, an answer from another unit id or with another transaction id is
  *dropped* by the framer (logged, never raised), so the request then times out with
  :class:`ModbusIOException`: the connection's ``trace_packet`` hook sees these frames and
  records them in :class:`Evidence` (``framing``), which turns that timeout into ``framing``;
- not connected, or the connect failed: :class:`ConnectionException`; a connection lost while
  the request waited also ends in :class:`ModbusIOException` (the answer never comes), which the
  ``trace_connect`` hook records (``disconnected``) so it classifies as ``connection``;
- an OS-level error (refused, reset, serial port gone) surfaces as :class:`OSError` (pyserial's
  ``SerialException`` is an ``OSError``).
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.pdu import ExceptionResponse, ModbusPDU

__all__ = [
    "CONFIGURATION_ERRORS",
    "EXCEPTION_CODES",
    "RETRY_LATER_ERRORS",
    "ErrorClass",
    "Evidence",
    "Outcome",
    "ReadError",
    "classify",
    "classify_response",
]


class ErrorClass(enum.StrEnum):
    """Why a poll failed: the strings of gap records, metrics and logs."""

    ILLEGAL_FUNCTION = "illegal_function"  # exception 01
    ILLEGAL_ADDRESS = "illegal_address"  # exception 02
    ILLEGAL_VALUE = "illegal_value"  # exception 03
    DEVICE_FAILURE = "device_failure"  # exception 04
    ACKNOWLEDGE = "acknowledge"  # exception 05
    BUSY = "busy"  # exception 06
    GATEWAY_PATH = "gateway_path"  # exception 0A
    GATEWAY_TARGET = "gateway_target"  # exception 0B
    TIMEOUT = "timeout"
    CONNECTION = "connection"  # refused or dropped
    FRAMING = "framing"  # CRC, bad frame, wrong unit id answered
    NOT_AVAILABLE = "not_available"  # the vendor's "no value" pattern, NaN
    OTHER = "other"
    OVERRUN = "overrun"  # a tick skipped: the meter's previous poll still ran (nothing was sent)

    @property
    def code(self) -> bytes:
        """The 32 bytes of a gap record's ``errorClass`` (ASCII, right-padded with zeros)."""
        return self.value.encode("ascii").ljust(32, b"\x00")


#: Modbus exception codes (Modbus Application Protocol v1.1b3, section 7) and their classes.
EXCEPTION_CODES: dict[int, ErrorClass] = {
    0x01: ErrorClass.ILLEGAL_FUNCTION,
    0x02: ErrorClass.ILLEGAL_ADDRESS,
    0x03: ErrorClass.ILLEGAL_VALUE,
    0x04: ErrorClass.DEVICE_FAILURE,
    0x05: ErrorClass.ACKNOWLEDGE,
    0x06: ErrorClass.BUSY,
    0x0A: ErrorClass.GATEWAY_PATH,
    0x0B: ErrorClass.GATEWAY_TARGET,
}

#: 01-03: the request itself is wrong for this device (profile or unit id): do not hammer.
CONFIGURATION_ERRORS = frozenset(
    {ErrorClass.ILLEGAL_FUNCTION, ErrorClass.ILLEGAL_ADDRESS, ErrorClass.ILLEGAL_VALUE})
#: 05/06/0A/0B: the device or gateway asks to be asked again later: back off and retry.
RETRY_LATER_ERRORS = frozenset({ErrorClass.ACKNOWLEDGE, ErrorClass.BUSY,
                                ErrorClass.GATEWAY_PATH, ErrorClass.GATEWAY_TARGET})


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the connection observed while one request was outstanding.

    ``framing``: a frame was received and discarded (bad CRC, another unit id or transaction id,
    undecodable). ``disconnected``: the connection was lost.
    """

    framing: bool = False
    disconnected: bool = False


@dataclass(frozen=True, slots=True)
class ReadError:
    """A failed read: its class and a detail for the log (the exception or the PDU, as text)."""

    error: ErrorClass
    detail: str


#: The outcome of one read request: the registers, in wire order, or why there are none.
Outcome = tuple[int, ...] | ReadError


def classify_response(response: ModbusPDU, expected_registers: int) -> ErrorClass | None:
    """The class of a read's answer, or None when it is a good answer.

    An :class:`ExceptionResponse` maps by its exception code (unknown codes: ``other``); a read
    answer carrying a number of registers other than ``expected_registers`` is ``framing``.
    """
    if isinstance(response, ExceptionResponse):
        return EXCEPTION_CODES.get(response.exception_code, ErrorClass.OTHER)
    if response.isError():
        return ErrorClass.OTHER
    registers = getattr(response, "registers", None)
    if not isinstance(registers, list) or len(registers) != expected_registers:
        return ErrorClass.FRAMING
    return None


def classify(error: BaseException, evidence: Evidence = Evidence()) -> ErrorClass:
    """The class of an exception raised by a pymodbus request.

    ``ConnectionException`` and ``OSError`` are ``connection``; ``ModbusIOException`` and
    timeouts are ``framing`` when a bad frame was discarded meanwhile, ``connection`` when the
    link dropped meanwhile, else ``timeout``; anything else is ``other``.
    """
    if isinstance(error, ConnectionException):
        return ErrorClass.CONNECTION
    if isinstance(error, ModbusIOException | asyncio.TimeoutError | TimeoutError):
        if evidence.framing:  # a bad frame may itself have closed the link
            return ErrorClass.FRAMING
        if evidence.disconnected:
            return ErrorClass.CONNECTION
        return ErrorClass.TIMEOUT
    if isinstance(error, OSError):
        return ErrorClass.CONNECTION
    return ErrorClass.OTHER
