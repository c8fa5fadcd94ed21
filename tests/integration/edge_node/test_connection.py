"""ModbusConnection against real pymodbus servers on 127.0.0.1 and over a socat pty pair: every
fault class is classified, and the connection is rebuilt after drops and framing errors and
recovers once the fault is gone."""

from __future__ import annotations

import asyncio
import time

import pytest

from edge_node.acquisition.classify import ErrorClass, ReadError
from edge_node.acquisition.clock import SystemClock
from edge_node.acquisition.connection import ModbusConnection
from edge_node.acquisition.settings import (
    MeterSettings,
    RetrySettings,
    RtuConnection,
    TcpConnection,
)
from edge_node.profiles.model import Function

from .conftest import Faults, device, rtu_server, run_scenario, tcp_server

HOLDING = Function.READ_HOLDING_REGISTERS
INPUT = Function.READ_INPUT_REGISTERS
METER = MeterSettings(path="acme/p1/hall/l1/m1", unit_id=1, profile="generic")
RETRY = RetrySettings(reconnect_delay=0.2, reconnect_delay_max=0.4)


def tcp(port: int, timeout: float = 2.0) -> ModbusConnection:
    """A connection to the test server; the tests of timeouts pass their own short ``timeout``
    (the default leaves room for a loaded machine: a 0.3 s default failed a connect under the
    full suite)."""
    settings = TcpConnection(name="gw", host="127.0.0.1", port=port, timeout=timeout,
                             meters=(METER,))
    return ModbusConnection(settings, RETRY, SystemClock())


def error_of(outcome: object) -> ErrorClass:
    assert isinstance(outcome, ReadError), outcome
    return outcome.error


def test_reads_holding_and_input_registers_in_wire_order() -> None:
    async def scenario() -> None:
        faults = Faults()
        async with tcp_server([device(1, faults, {10: 0x1234, 11: 0xABCD})]) as port:
            conn = tcp(port)
            try:
                assert await conn.read(HOLDING, 10, 3, 1) == (0x1234, 0xABCD, 0)
                assert await conn.read(INPUT, 9, 2, 1) == (0, 0x1234)
                assert conn.builds == 1  # built once, lazily, and kept
            finally:
                conn.close()

    run_scenario(scenario)


@pytest.mark.parametrize(("code", "error"), [
    (0x01, "illegal_function"), (0x02, "illegal_address"), (0x03, "illegal_value"),
    (0x04, "device_failure"), (0x05, "acknowledge"), (0x06, "busy"), (0x0A, "gateway_path"),
    (0x0B, "gateway_target"), (0x08, "other")])
def test_every_exception_code_is_classified(code: int, error: str) -> None:
    async def scenario() -> None:
        faults = Faults(exception=code)
        async with tcp_server([device(1, faults)]) as port:
            conn = tcp(port)
            try:
                assert error_of(await conn.read(HOLDING, 0, 2, 1)) == ErrorClass(error)
                assert conn.builds == 1  # an exception answer is no reason to reconnect
            finally:
                conn.close()

    run_scenario(scenario)


def test_unanswered_request_times_out_and_the_link_is_kept() -> None:
    async def scenario() -> None:
        faults = Faults(delay=0.5)
        async with tcp_server([device(1, faults)]) as port:
            conn = tcp(port, timeout=0.15)
            try:
                start = time.monotonic()
                assert error_of(await conn.read(HOLDING, 0, 2, 1)) is ErrorClass.TIMEOUT
                assert 0.14 < time.monotonic() - start < 1.0  # loose: a busy machine is slow
                faults.delay = 0
                await asyncio.sleep(0.5)  # the late answer arrives and is dropped (its tid)
                assert await conn.read(HOLDING, 0, 2, 1) == (0, 0)
                assert conn.builds == 1
            finally:
                conn.close()

    run_scenario(scenario)


def test_a_per_meter_timeout_overrides_the_connection_timeout() -> None:
    async def scenario() -> None:
        faults = Faults(delay=0.5)
        async with tcp_server([device(1, faults)]) as port:
            conn = tcp(port, timeout=3.0)
            try:
                start = time.monotonic()
                outcome = await conn.read(HOLDING, 0, 2, 1, timeout=0.1)
                assert error_of(outcome) is ErrorClass.TIMEOUT
                assert time.monotonic() - start < 1.0  # far from the connection's 3 s
            finally:
                conn.close()

    run_scenario(scenario)


def test_answer_from_another_unit_is_framing_and_rebuilds_then_recovers() -> None:
    async def scenario() -> None:
        faults = Faults(wrong_unit=True)
        async with tcp_server([device(1, faults), device(2, Faults())], faults) as port:
            conn = tcp(port, timeout=0.2)
            try:
                assert error_of(await conn.read(HOLDING, 0, 2, 1)) is ErrorClass.FRAMING
                faults.wrong_unit = False
                assert await conn.read(HOLDING, 0, 2, 1) == (0, 0)
                assert conn.builds == 2  # rebuilt after the framing error
            finally:
                conn.close()

    run_scenario(scenario)


def test_dropped_server_is_connection_then_backoff_then_recovery() -> None:
    async def scenario() -> None:
        faults = Faults()
        async with tcp_server([device(1, faults)]) as port:
            conn = tcp(port, timeout=0.2)
            try:
                assert await conn.read(HOLDING, 0, 2, 1) == (0, 0)
            except BaseException:
                conn.close()
                raise
        try:
            # the server is gone: the read in flight or the reconnect fails as `connection`
            assert error_of(await conn.read(HOLDING, 0, 2, 1)) is ErrorClass.CONNECTION
            assert error_of(await conn.read(HOLDING, 0, 2, 1)) is ErrorClass.CONNECTION
            builds = conn.builds
            # within the reconnect delay no connect is even tried
            outcome = await conn.read(HOLDING, 0, 2, 1)
            assert "not reconnecting" in error_of_detail(outcome) and conn.builds == builds
            async with tcp_server([device(1, faults)], port=port):
                await asyncio.sleep(RETRY.reconnect_delay_max)
                assert await conn.read(HOLDING, 0, 2, 1) == (0, 0)
                assert conn.builds == builds + 1
        finally:
            conn.close()

    run_scenario(scenario)


def error_of_detail(outcome: object) -> str:
    assert isinstance(outcome, ReadError), outcome
    assert outcome.error is ErrorClass.CONNECTION
    return outcome.detail


def test_rtu_over_a_socat_pty_pair(pty_pair: tuple[str, str]) -> None:
    """RTU on a virtual serial cable: a good read, a broken CRC (framing, rebuilt), a timeout
    (rebuilt on RTU, so a late answer cannot pass for the next one), then recovery."""
    server_end, client_end = pty_pair

    async def scenario() -> None:
        faults = Faults()
        async with rtu_server([device(3, faults, {5: 777})], server_end, faults):
            settings = RtuConnection(name="bus", port=client_end, baudrate=19_200,
                                     timeout=0.3, meters=(METER.model_copy(update={"unit_id": 3}),))
            conn = ModbusConnection(settings, RETRY, SystemClock())
            try:
                assert await conn.read(HOLDING, 4, 2, 3) == (0, 777)
                faults.bad_crc = True
                assert error_of(await conn.read(HOLDING, 4, 2, 3)) is ErrorClass.FRAMING
                faults.bad_crc = False
                faults.delay = 0.5
                assert error_of(await conn.read(HOLDING, 4, 2, 3)) is ErrorClass.TIMEOUT
                faults.delay = 0
                await asyncio.sleep(0.4)
                assert await conn.read(INPUT, 5, 1, 3) == (777,)
                assert conn.builds == 3  # first build, after framing, after the timeout
            finally:
                conn.close()

    run_scenario(scenario)
