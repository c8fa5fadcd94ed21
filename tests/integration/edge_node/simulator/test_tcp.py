"""The meter simulator over Modbus TCP on 127.0.0.1, read by pymodbus's async client: every
shipped profile decodes to the simulator's values, and every fault is seen as documented
(each exception code, delay past the timeout, silence, a garbled frame, dropped connection,
unknown unit, "not available" patterns, counter reset and rollover)."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.pdu import ExceptionResponse

from edge_node.decoding import SIMULATOR_HOLE, decode_point, decode_raw, plan_reads
from edge_node.errors import RegisterError, SimulatorError, ValueUnavailable
from edge_node.profiles import Function, Point, list_profiles, load_profile
from edge_node.simulator import EXCEPTION_CODES, MeterSimulator, MeterSpec, SimClock, parse_fault
from edge_node.simulator.control import ControlServer, request

from .conftest import START, run, simulator

PROFILES = list(enumerate(list_profiles(), start=1))


async def _read(client: AsyncModbusTcpClient, function: Function, address: int, count: int,
                unit: int) -> Any:
    read = client.read_holding_registers if function is Function.READ_HOLDING_REGISTERS \
        else client.read_input_registers
    return await read(address, count=count, device_id=unit)


async def _point(client: AsyncModbusTcpClient, point: Point, unit: int) -> tuple[int, ...]:
    answer = await _read(client, point.function, point.address, point.words, unit)
    assert not answer.isError(), answer
    return tuple(answer.registers)


async def _client(port: int, timeout: float = 5.0) -> AsyncModbusTcpClient:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=timeout, retries=0,
                                  reconnect_delay=0)
    assert await client.connect()
    return client


def test_every_shipped_profile_read_in_planned_blocks_decodes_to_the_simulators_values(
        ) -> None:
    async def body() -> None:
        async with simulator(*PROFILES) as sim:
            _, port = await sim.start_tcp()
            client = await _client(port)
            try:
                for unit, profile_id in PROFILES:
                    profile = load_profile(profile_id)
                    expected = sim.values(unit)
                    assert all(v is not None for v in expected.values())
                    blocks = plan_reads(profile.points, profile.max_registers_per_read,
                                        max_gap=SIMULATOR_HOLE)
                    assert len(blocks) < len(profile.points) or profile_id == "acrel.adl400"
                    for block in blocks:
                        answer = await _read(client, block.function, block.address,
                                             block.count, unit)
                        assert not answer.isError(), (profile_id, block, answer)
                        for point in block.points:
                            words = block.registers_of(point, answer.registers)
                            ratio = sim.meters[unit].spec.ratio(point)
                            assert decode_point(point, words, ratio=ratio) == \
                                expected[point.name], (profile_id, point.name)
            finally:
                client.close()
    run(body())


def test_counters_read_over_the_wire_grow_with_simulated_time_at_the_reported_power() -> None:
    async def body() -> None:
        async with simulator((1, "generic"), (2, "carlo-gavazzi.em24")) as sim:
            _, port = await sim.start_tcp()
            client = await _client(port)
            try:
                for unit in (1, 2):
                    energy = load_profile(sim.meters[unit].spec.profile.id).point(
                        "energy_import")
                    before = decode_point(energy, await _point(client, energy, unit))
                    power = sim.values(unit)["power_active"]
                    sim.advance(60)  # within one slot of constant power
                    after = decode_point(energy, await _point(client, energy, unit))
                    step = int(energy.scale)
                    assert abs((after - before) - power * 60 // 3600) <= step, unit
            finally:
                client.close()
    run(body())


def test_two_meters_of_one_model_with_different_ratios_each_serve_their_own_scale() -> None:
    acrel = load_profile("acrel.adl400")

    async def body() -> None:
        specs = [MeterSpec(2, acrel, ct=Fraction(40)), MeterSpec(3, acrel),
                 MeterSpec(4, acrel, ct=Fraction(5), pt=Fraction(100))]
        async with MeterSimulator(specs, seed=3, clock=SimClock(START, speed=0)) as sim:
            _, port = await sim.start_tcp()
            client = await _client(port)
            try:
                for spec in specs:
                    expected = sim.values(spec.unit_id)
                    for point in acrel.points:
                        words = await _point(client, point, spec.unit_id)
                        assert decode_point(point, words, ratio=spec.ratio(point)) == \
                            expected[point.name], (spec.unit_id, point.name)
                # Primary values of the same size, secondary registers divided by the ratios.
                volts = {u: sim.registers(u)["voltage_l1"][0] for u in (3, 4)}
                assert 2_250 < volts[3] < 2_350 and 22 <= volts[4] <= 24  # 0.1 V; PT 100
                amps = sim.registers(2)["current_l1"][0]  # 0.01 A secondary, CT 40
                assert abs(amps * 10 * 40 - sim.values(2)["current_l1"]) <= 200  # type: ignore[operator]
            finally:
                client.close()
    run(body())


@pytest.mark.parametrize("code", sorted(EXCEPTION_CODES))
def test_each_exception_code_fault_is_answered_once_then_values_again(code: int) -> None:
    async def body() -> None:
        async with simulator((4, "eastron.sdm630")) as sim:
            _, port = await sim.start_tcp()
            client = await _client(port)
            try:
                sim.apply(parse_fault(f"4:{code:02X}:1"))
                answer = await client.read_input_registers(0, count=2, device_id=4)
                assert isinstance(answer, ExceptionResponse)
                assert answer.exception_code == code
                answer = await client.read_input_registers(0, count=2, device_id=4)
                assert not answer.isError()
            finally:
                client.close()
    run(body())


def test_delay_timeout_garble_and_drop_faults_are_seen_by_the_client_and_clear() -> None:
    async def body() -> None:
        async with simulator((1, "generic")) as sim:
            _, port = await sim.start_tcp()
            # A client that gives up after 0.3 s for the reads that must fail, a patient one
            # for those that must succeed (a loaded machine must not fail them).
            hasty, patient = await _client(port, timeout=0.3), await _client(port, timeout=5)
            try:
                sim.apply(parse_fault("1:delay:0.6"))
                with pytest.raises(ModbusIOException):  # answered after the client gave up
                    await hasty.read_holding_registers(0, count=2, device_id=1)
                sim.apply(parse_fault("1:timeout:1"))
                with pytest.raises(ModbusIOException):
                    await hasty.read_holding_registers(0, count=2, device_id=1)
                answer = await patient.read_holding_registers(0, count=2, device_id=1)
                assert not answer.isError()  # the one-request silence is used up
                sim.apply(parse_fault("1:garble:1"))
                answer = await patient.read_holding_registers(0, count=2, device_id=1)
                block = plan_reads(sim.meters[1].spec.profile.points[:1], 125)[0]
                with pytest.raises(RegisterError, match="expected 2 registers, got 1"):
                    block.registers_of(block.points[0], answer.registers)
                assert hasty.connected
                sim.apply(parse_fault("1:drop:1"))
                with pytest.raises((ConnectionException, ModbusIOException)):
                    await hasty.read_holding_registers(0, count=2, device_id=1)
                assert not hasty.connected  # reset by the server, not merely unanswered
                assert sim.requests == 5 and not sim.faults  # five requests, the drop used up
                hasty.close()
                assert not (await patient.read_holding_registers(0, count=2,
                                                                 device_id=1)).isError()
            finally:
                hasty.close()
                patient.close()
    run(body())


def test_unknown_units_functions_and_addresses_get_modbus_exceptions() -> None:
    async def body() -> None:
        async with simulator((1, "generic")) as sim:
            _, port = await sim.start_tcp()
            client = await _client(port)
            try:
                answer = await client.read_holding_registers(0, count=2, device_id=9)
                assert answer.exception_code == 0x0B  # gateway: target failed to respond
                answer = await client.read_coils(0, count=1, device_id=1)
                assert answer.exception_code == 0x01
                answer = await client.write_register(0, 5, device_id=1)
                assert answer.exception_code == 0x01
                answer = await client.read_input_registers(0, count=2, device_id=1)
                assert answer.exception_code == 0x02  # the generic meter uses FC03 only
                answer = await client.read_holding_registers(9, count=1, device_id=1)
                assert answer.exception_code == 0x02  # past the last point
            finally:
                client.close()
    run(body())


def test_not_available_reset_and_rollover_faults_change_what_is_read() -> None:
    async def body() -> None:
        async with simulator((1, "abb.b2x"), (2, "eastron.sdm630"), (3, "acrel.adl400")) as sim:
            _, port = await sim.start_tcp()
            client = await _client(port)
            try:
                for unit in (1, 2):
                    sim.apply(parse_fault(f"{unit}:not_available"))
                    energy = sim.meters[unit].spec.profile.point("energy_import")
                    with pytest.raises(ValueUnavailable):
                        decode_point(energy, await _point(client, energy, unit))
                    sim.apply(parse_fault(f"{unit}:clear"))
                    assert decode_point(energy, await _point(client, energy, unit)) > 0
                sim.apply(parse_fault("2:not_available:1"))  # one answer, then values
                energy = sim.meters[2].spec.profile.point("energy_import")
                with pytest.raises(ValueUnavailable):
                    decode_point(energy, await _point(client, energy, 2))
                assert decode_point(energy, await _point(client, energy, 2)) > 0
                sim.advance(3600)
                sim.apply(parse_fault("2:reset:energy.active.import:Wh"))
                assert sim.values(2)["energy_import"] == 0 and sim.values(2)["power_active"]
                sim.apply(parse_fault("1:reset"))
                energy = sim.meters[1].spec.profile.point("energy_import")
                assert decode_point(energy, await _point(client, energy, 1)) == 0
                with pytest.raises(SimulatorError, match="no counter 'volts'"):
                    sim.apply(parse_fault("1:reset:volts"))
                sim.apply(parse_fault("3:rollover:energy_import"))
                counter = sim.meters[3].spec.profile.point("energy_import")
                assert decode_raw(counter, await _point(client, counter, 3)) == 2**32 - 10
                sim.advance(3600)  # 10 steps of 10 Wh take seconds at kilowatts
                assert decode_raw(counter, await _point(client, counter, 3)) < 10_000
                with pytest.raises(SimulatorError, match="no integer counter"):
                    sim.apply(parse_fault("2:rollover"))
            finally:
                client.close()
    run(body())


def test_the_control_channel_applies_faults_and_reports_values_from_another_thread() -> None:
    async def body() -> None:
        async with simulator((5, "chint.dtsu666")) as sim:
            _, port = await sim.start_tcp()
            control = ControlServer(sim)
            address = await control.start()
            client = await _client(port)
            try:
                ask = lambda message: asyncio.to_thread(request, address, message)  # noqa: E731
                assert (await ask({"op": "fault", "fault": "5:busy:1"})) == {
                    "ok": True, "fault": "5:06:1"}
                answer = await client.read_holding_registers(0x101E, count=2, device_id=5)
                assert answer.exception_code == 6
                before = (await ask({"op": "values", "unit": 5}))["values"]
                assert (await ask({"op": "advance", "seconds": 3600}))["ok"]
                after = (await ask({"op": "values", "unit": 5}))["values"]
                assert after["energy_import"] > before["energy_import"]
                registers = (await ask({"op": "registers", "unit": 5}))["registers"]
                point = sim.meters[5].spec.profile.point("energy_import")
                assert tuple(registers["energy_import"]) == await _point(client, point, 5)
                assert (await ask({"op": "values", "unit": 6}))["ok"] is False
                assert "unknown op" in (await ask({"op": "melt"}))["error"]
                assert (await ask({"op": "status"}))["units"] == {"5": "chint.dtsu666"}
            finally:
                client.close()
                await control.stop()
    run(body())


def test_the_simulator_refuses_non_loopback_hosts_and_busy_ports() -> None:
    async def body() -> None:
        async with simulator((1, "generic")) as first, simulator((1, "generic")) as second:
            with pytest.raises(SimulatorError, match="loopback only"):
                await first.start_tcp("0.0.0.0")
            _, port = await first.start_tcp()
            with pytest.raises(SimulatorError, match=r"cannot listen on 127\.0\.0\.1"):
                await second.start_tcp(port=port)
    run(body())


def test_meters_must_have_distinct_valid_unit_ids() -> None:
    with pytest.raises(SimulatorError, match="given twice"):
        simulator((1, "generic"), (1, "abb.b2x"))
    with pytest.raises(SimulatorError, match=r"1\.\.247"):
        simulator((0, "generic"))
    assert isinstance(simulator((247, "generic")), MeterSimulator)
