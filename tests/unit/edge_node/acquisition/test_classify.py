"""Every pymodbus outcome maps onto one error class, by type and exception code only."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymodbus.exceptions import (
    ConnectionException,
    ModbusIOException,
    NotImplementedException,
    ParameterException,
)
from pymodbus.pdu import ExceptionResponse
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse

from edge_node.acquisition.classify import (
    CONFIGURATION_ERRORS,
    EXCEPTION_CODES,
    RETRY_LATER_ERRORS,
    ErrorClass,
    Evidence,
    classify,
    classify_response,
)

CODES = [(0x01, "illegal_function"), (0x02, "illegal_address"), (0x03, "illegal_value"),
         (0x04, "device_failure"), (0x05, "acknowledge"), (0x06, "busy"),
         (0x0A, "gateway_path"), (0x0B, "gateway_target")]


@pytest.mark.parametrize(("code", "name"), CODES)
def test_exception_response_maps_by_its_code(code: int, name: str) -> None:
    assert classify_response(ExceptionResponse(3, code), 2) == ErrorClass(name)


@given(st.integers(0, 255).filter(lambda c: c not in EXCEPTION_CODES))
def test_unknown_exception_codes_are_other(code: int) -> None:
    assert classify_response(ExceptionResponse(4, code), 2) is ErrorClass.OTHER


def test_good_answer_is_no_error_and_a_short_one_is_framing() -> None:
    assert classify_response(ReadHoldingRegistersResponse(registers=[1, 2]), 2) is None
    assert classify_response(ReadHoldingRegistersResponse(registers=[1]), 2) is ErrorClass.FRAMING


def test_io_exception_is_timeout_unless_a_frame_was_dropped_or_the_link_lost() -> None:
    io = ModbusIOException("no answer")
    assert classify(io) is ErrorClass.TIMEOUT
    assert classify(TimeoutError()) is ErrorClass.TIMEOUT
    assert classify(io, Evidence(framing=True)) is ErrorClass.FRAMING
    assert classify(io, Evidence(disconnected=True)) is ErrorClass.CONNECTION
    assert classify(io, Evidence(framing=True, disconnected=True)) is ErrorClass.FRAMING


def test_connection_and_os_errors_are_connection_the_rest_other() -> None:
    assert classify(ConnectionException("not connected")) is ErrorClass.CONNECTION
    assert classify(ConnectionRefusedError()) is ErrorClass.CONNECTION
    assert classify(BrokenPipeError()) is ErrorClass.CONNECTION
    assert classify(ParameterException("bad")) is ErrorClass.OTHER
    assert classify(NotImplementedException("x")) is ErrorClass.OTHER
    assert classify(ValueError("x")) is ErrorClass.OTHER


def test_message_text_is_never_consulted() -> None:
    # A connection exception whose text speaks of a timeout stays a connection error.
    assert classify(ConnectionException("timeout CRC framing")) is ErrorClass.CONNECTION
    assert classify(ModbusIOException("connection refused")) is ErrorClass.TIMEOUT


def test_policy_sets_and_gap_record_codes() -> None:
    assert {e.value for e in CONFIGURATION_ERRORS} == {
        "illegal_function", "illegal_address", "illegal_value"}
    assert {e.value for e in RETRY_LATER_ERRORS} == {
        "acknowledge", "busy", "gateway_path", "gateway_target"}
    assert ErrorClass.TIMEOUT.code == b"timeout" + bytes(25)
    assert all(len(e.code) == 32 for e in ErrorClass)
