"""The simulator over Modbus RTU on a virtual serial pair made by socat: pymodbus's serial
client and ``mbpoll -m rtu`` on the other end read values that decode to the simulator's; an
exception fault crosses the serial line; a garbled answer fails its CRC; a unit id no meter has
gets no answer."""

from __future__ import annotations

import pytest
from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ModbusIOException

from edge_node.decoding import decode_point, plan_reads
from edge_node.errors import SimulatorError
from edge_node.simulator import parse_fault

from .conftest import mbpoll, mbpoll_registers, run, simulator


def test_pymodbus_serial_client_reads_two_meters_on_one_rtu_line(
        serial_pair: tuple[str, str]) -> None:
    server_end, client_end = serial_pair

    async def body() -> None:
        async with simulator((1, "eastron.sdm630"), (7, "carlo-gavazzi.em24")) as sim:
            await sim.start_rtu(server_end, baudrate=9600)
            client = AsyncModbusSerialClient(client_end, baudrate=9600, timeout=2,
                                             retries=0, reconnect_delay=0)
            assert await client.connect()
            try:
                for unit in (1, 7):
                    profile = sim.meters[unit].spec.profile
                    expected = sim.values(unit)
                    for block in plan_reads(profile.points, profile.max_registers_per_read):
                        answer = await client.read_input_registers(
                            block.address, count=block.count, device_id=unit)
                        assert not answer.isError(), answer
                        for point in block.points:
                            assert decode_point(point, block.registers_of(
                                point, answer.registers)) == expected[point.name]
                sim.apply(parse_fault("7:gateway_path:1"))
                answer = await client.read_input_registers(0, count=2, device_id=7)
                assert answer.exception_code == 0x0A
                with pytest.raises(ModbusIOException):  # nobody on the bus is unit 9
                    await client.read_input_registers(0, count=2, device_id=9)
            finally:
                client.close()
    run(body())


def test_mbpoll_reads_the_simulator_over_rtu(serial_pair: tuple[str, str]) -> None:
    server_end, client_end = serial_pair

    async def body() -> None:
        async with simulator((3, "generic")) as sim:
            # No parity: a Linux pty refuses PARENB when pyserial re-applies its settings.
            await sim.start_rtu(server_end, baudrate=19200, parity="N")
            status, out = await mbpoll("-m", "rtu", "-b", "19200", "-P", "none", "-0", "-a",
                                       "3", "-r", "0", "-c", "9", "-t", "4:hex", client_end)
            assert status == 0, out
            read = mbpoll_registers(out)
            profile = sim.meters[3].spec.profile
            expected = sim.values(3)
            for point in profile.points:
                words = [read[point.address + i] for i in range(point.words)]
                assert decode_point(point, words) == expected[point.name], out
            sim.apply(parse_fault("3:garble:1"))
            status, out = await mbpoll("-m", "rtu", "-b", "19200", "-P", "none", "-0", "-a",
                                       "3", "-r", "0", "-c", "2", "-t", "4:hex", client_end)
            assert status != 0 and "Invalid CRC" in out, out
    run(body())


def test_serial_settings_a_device_cannot_take_are_refused_in_one_error(
        serial_pair: tuple[str, str]) -> None:
    server_end, _ = serial_pair

    async def body() -> None:
        async with simulator((1, "generic")) as sim:
            with pytest.raises(SimulatorError, match=r"expected a baud rate of 50\.\.4000000"):
                await sim.start_rtu(server_end, baudrate=-1)
            with pytest.raises(SimulatorError, match="refused its serial settings"):
                await sim.start_rtu(server_end, parity="E")  # a pty takes no parity
            with pytest.raises(SimulatorError, match="cannot listen on /nonexistent/tty"):
                await sim.start_rtu("/nonexistent/tty")
    run(body())
