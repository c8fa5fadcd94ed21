"""``mrv simulate meters`` as a separate process: it prints its bound address first and its
control channel second, serves what mbpoll reads, takes faults from the command line and the
control channel, gives the same values for the same seed and start, and exits 0 on SIGTERM
and on SIGINT without a traceback."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

from edge_node.decoding import decode_point
from edge_node.profiles import load_profile
from edge_node.simulator.control import request

from .conftest import mbpoll, mbpoll_registers, run

MRV = str(Path(sys.executable).parent / "mrv")
ARGV = ["simulate", "meters", "--port", "0", "--speed", "0", "--seed", "5", "--start",
        "2025-10-09T14:13:20+08:00", "--meter", "1:generic", "--meter",
        "2:eastron.sdm630,peak=50000", "--fault", "2:04:1"]


async def _start() -> tuple[asyncio.subprocess.Process, int, tuple[str, int]]:
    process = await asyncio.create_subprocess_exec(
        MRV, *ARGV, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    first = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    second = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    bound = re.fullmatch(r"127\.0\.0\.1:(\d+)\n", first)
    control = re.fullmatch(r"control (127\.0\.0\.1):(\d+)\n", second)
    assert bound and control, (first, second)
    return process, int(bound[1]), (control[1], int(control[2]))


async def _stop(process: asyncio.subprocess.Process, signum: int) -> None:
    process.send_signal(signum)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err, err.decode()


def test_the_command_serves_prints_its_addresses_and_stops_cleanly_on_signals() -> None:
    voltage = load_profile("eastron.sdm630").point("voltage_l1")

    async def body() -> None:
        (first, port, control), (second, _, other_control) = await asyncio.gather(
            _start(), _start())
        try:
            read = ("-0", "-a", "2", "-r", "0", "-c", "2", "-t", "3:hex", "-p", str(port),
                    "127.0.0.1")
            status, out = await mbpoll(*read)  # the --fault 2:04:1 from the command line
            assert status != 0 and "Slave device or server failure" in out, out
            status, out = await mbpoll(*read)
            assert status == 0, out
            words = mbpoll_registers(out)
            values = await asyncio.to_thread(request, control, {"op": "values", "unit": 2})
            assert decode_point(voltage, [words[0], words[1]]) == values["values"]["voltage_l1"]
            same = await asyncio.to_thread(request, other_control, {"op": "values", "unit": 2})
            assert same == values  # same seed and start: same meter
            answer = await asyncio.to_thread(request, control, {"op": "fault",
                                                                "fault": "2:illegal_address"})
            assert answer["ok"], answer
            status, out = await mbpoll(*read)
            assert "Illegal data address" in out, out
        finally:
            await _stop(first, signal.SIGTERM)
            await _stop(second, signal.SIGINT)
    run(body())
