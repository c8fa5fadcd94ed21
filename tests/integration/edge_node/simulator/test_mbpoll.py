"""The simulator read by a Modbus master nobody here wrote: Debian's ``mbpoll`` (libmodbus).
Its hex output, decoded with the profiles, equals the simulator's values for every shipped
profile, with 0-based (``-0``) and its default 1-based register numbering; each exception
fault reaches it as libmodbus's message for that code."""

from __future__ import annotations

import pytest

from edge_node.decoding import decode_point
from edge_node.profiles import Function, list_profiles
from edge_node.simulator import EXCEPTION_CODES, parse_fault

from .conftest import mbpoll, mbpoll_registers, run, simulator

#: libmodbus's text for each exception code (modbus_strerror).
LIBMODBUS_TEXT = {0x01: "Illegal function", 0x02: "Illegal data address",
                  0x03: "Illegal data value", 0x04: "Slave device or server failure",
                  0x05: "Acknowledge", 0x06: "Slave device or server is busy",
                  0x0A: "Gateway path unavailable", 0x0B: "Target device failed to respond"}


def _table(function: Function) -> str:
    return "4:hex" if function is Function.READ_HOLDING_REGISTERS else "3:hex"


def test_mbpoll_reads_every_profile_and_its_registers_decode_to_the_simulators_values(
        ) -> None:
    profiles = list(enumerate(list_profiles(), start=1))

    async def body() -> None:
        async with simulator(*profiles) as sim:
            _, port = await sim.start_tcp()
            for unit, _profile_id in profiles:
                spec = sim.meters[unit].spec
                expected = sim.values(unit)
                for n, point in enumerate(spec.profile.points):
                    # Alternate mbpoll's numbering: -0 takes the wire address, the default
                    # counts from 1 (reference = address + 1).
                    zero_based = n % 2 == 0
                    reference = point.address if zero_based else point.address + 1
                    argv = ["-0"] if zero_based else []
                    code, out = await mbpoll(*argv, "-a", str(unit), "-r", str(reference),
                                             "-c", str(point.words), "-t",
                                             _table(point.function), "-p", str(port),
                                             "127.0.0.1")
                    assert code == 0, out
                    read = mbpoll_registers(out)
                    words = [read[reference + i] for i in range(point.words)]
                    assert decode_point(point, words, ratio=spec.ratio(point)) == \
                        expected[point.name], (spec.profile.id, point.name, out)
    run(body())


def test_mbpoll_sees_each_exception_code_fault_as_libmodbus_names_it() -> None:
    async def body() -> None:
        async with simulator((1, "generic")) as sim:
            _, port = await sim.start_tcp()
            for code in sorted(EXCEPTION_CODES):
                sim.apply(parse_fault(f"1:{code:02X}:1"))
                status, out = await mbpoll("-0", "-a", "1", "-r", "0", "-c", "2", "-t",
                                           "4:hex", "-p", str(port), "127.0.0.1")
                assert status != 0 and f"failed: {LIBMODBUS_TEXT[code]}" in out, (code, out)
            status, out = await mbpoll("-0", "-a", "1", "-r", "0", "-c", "2", "-t", "4:hex",
                                       "-p", str(port), "127.0.0.1")
            assert status == 0 and len(mbpoll_registers(out)) == 2, out
    run(body())


def test_mbpoll_finds_a_garbled_tcp_answer_invalid() -> None:
    async def body() -> None:
        async with simulator((1, "generic")) as sim:
            _, port = await sim.start_tcp()
            sim.apply(parse_fault("1:garble:1"))
            status, out = await mbpoll("-0", "-a", "1", "-r", "0", "-c", "2", "-t", "4:hex",
                                       "-p", str(port), "127.0.0.1")
            assert status != 0 and "failed: Invalid data" in out, out
    run(body())


@pytest.mark.parametrize("kind", ["timeout", "delay:2"])
def test_mbpoll_times_out_on_silence_and_late_answers(kind: str) -> None:
    async def body() -> None:
        async with simulator((1, "generic")) as sim:
            _, port = await sim.start_tcp()
            sim.apply(parse_fault(f"1:{kind}"))
            status, out = await mbpoll("-0", "-a", "1", "-r", "0", "-c", "2", "-t", "4:hex",
                                       "-p", str(port), "127.0.0.1", timeout=0.5)
            assert status != 0 and "Connection timed out" in out, out
    run(body())
