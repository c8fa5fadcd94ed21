"""``mrv simulate meters``: simulated Modbus meters on loopback (TCP) or a serial device (RTU);
``mrv simulate clock``: a clock file, the simulated time several processes share
(``mrv_core.simulated_time``).

The first line printed is the bound address (``127.0.0.1:PORT``, or the serial device), the
second the control channel (``control 127.0.0.1:PORT``), then one ``unit ...`` line per meter;
the command then serves until SIGTERM or SIGINT and exits 0. See docs/edge.md ("The meter
simulator") and :mod:`edge_node.simulator`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import signal
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

from edge_node.profiles import list_profiles, load_profile_reference
from edge_node.simulator import Fault, MeterSimulator, MeterSpec, SimClock, parse_fault
from edge_node.simulator.control import ControlServer
from mrv_core.errors import ConfigError
from mrv_core.simulated_time import MAX_SPEED, SimulatedTime, read_clock_file

from .dates import parse_instant, show_instant
from .options import EXIT_OK, add_option

__all__ = ["parse_meter", "register"]

_METER_KEYS = ("peak", "solar", "ct", "pt")


def register(commands: Any) -> None:
    simulate = commands.add_parser("simulate", help="simulate field devices for tests, demos "
                                                    "and commissioning")
    sub = simulate.add_subparsers(dest="simulate_command", metavar="WHAT", required=True)
    meters = sub.add_parser(
        "meters", help="serve simulated Modbus meters of the shipped profiles or your own",
        description="Serve simulated meters (counters growing with a daily load curve, seeded "
                    "noise, fault injection) over Modbus TCP on loopback or RTU on a serial "
                    "device. Prints the bound address first, then the control channel.",
        epilog=f"Profiles: {', '.join(list_profiles())}. Faults: UNIT:KIND[:ARG] with KIND an "
               "exception code 01..0B or error class, delay:SECONDS, timeout[:N], drop[:N], "
               "garble[:N], not_available[:N], reset[:POINT], rollover[:POINT], clear.")
    meters.add_argument("--meter", action="append", metavar="UNIT:PROFILE[,KEY=N...]",
                        help="a meter at a unit id; PROFILE is a shipped profile's id or a "
                             "profile file's path with a '/' (./my-meter.toml); KEY is peak "
                             "(W at the daily peak, default 10000), solar (peak W), ct, pt "
                             "(ratios). Repeatable; default 1:generic")
    add_option(meters, "--port", "MRV_SIM_PORT", type=int, default=5020,
               help="TCP port on 127.0.0.1; 0 picks a free one (default 5020)")
    add_option(meters, "--host", "MRV_SIM_HOST", default="127.0.0.1",
               help="loopback address to bind: 127.0.0.1 or ::1")
    add_option(meters, "--serial", "MRV_SIM_SERIAL", metavar="DEVICE",
               help="serve Modbus RTU on this serial device instead of TCP")
    meters.add_argument("--baudrate", type=int, default=9600, help="RTU baud rate (9600)")
    meters.add_argument("--parity", choices=("N", "E", "O"), default="N", help="RTU parity")
    meters.add_argument("--stopbits", type=int, choices=(1, 2), default=1, help="RTU stop bits")
    add_option(meters, "--seed", "MRV_SIM_SEED", type=int, default=0,
               help="seed of the load noise: the same seed gives the same values (default 0)")
    add_option(meters, "--speed", "MRV_SIM_SPEED", type=float,
               help="simulated seconds per real second (default 1); 0 stops the clock (moved "
                    "only through the control channel's advance)")
    add_option(meters, "--start", "MRV_SIM_START", metavar="TIME",
               help="simulated start time, ISO 8601 (Beijing time unless it has an offset); "
                    "default now")
    add_option(meters, "--clock", "MRV_CLOCK_FILE", type=Path, metavar="FILE",
               help="follow the simulated time of this clock file (`mrv simulate clock`), "
                    "shared with the edge nodes and the chain; instead of --speed and --start")
    meters.add_argument("--fault", action="append", default=[], metavar="UNIT:KIND[:ARG]",
                        help="inject a fault from the start (repeatable)")
    meters.add_argument("--control-port", type=int, default=0,
                        help="port of the JSON-lines control channel (0: a free one)")
    meters.set_defaults(handler=_meters)

    clock = sub.add_parser(
        "clock", help="write a clock file: simulated time shared by the meter simulator, "
                      "edge nodes, the relayer and a development chain",
        description="Write a clock file (docs/edge.md, \"Simulated time\"): simulated now = "
                    "START + (real now - REAL_START) x SPEED. Demos and commissioning only; "
                    "never in production.")
    add_option(clock, "--start", "MRV_CLOCK_START", required=True, metavar="TIME",
               help="the simulated instant at the real start, ISO 8601 (Beijing time unless "
                    "it has an offset), e.g. 2026-10-01T00:00:00+08:00")
    add_option(clock, "--speed", "MRV_CLOCK_SPEED", type=int, required=True, metavar="N",
               help=f"simulated seconds per real second, an integer in 1..{MAX_SPEED} (720: "
                    "a simulated hour every 5 real seconds)")
    add_option(clock, "--real-start", "MRV_CLOCK_REAL_START", metavar="TIME",
               help="the real instant at which the simulated clock reads --start, ISO 8601 "
                    "(default: now)")
    add_option(clock, "--out", "MRV_CLOCK_FILE", type=Path, required=True, metavar="FILE",
               help="the clock file to create (never overwritten)")
    clock.set_defaults(handler=_clock)


def parse_meter(text: str) -> MeterSpec:
    """``UNIT:PROFILE[,peak=W][,solar=W][,ct=N][,pt=N]`` as a :class:`MeterSpec`; PROFILE is
    a shipped profile's id, or a profile file's path with a ``/`` in it, relative to the
    current directory (``./my-meter.toml``; its id its name without ``.toml``), as in the
    node's configuration (``edge_node.profiles.load_profile_reference``)."""
    head, *options = text.split(",")
    unit_text, _, profile_id = head.partition(":")
    if not unit_text.isascii() or not unit_text.isdigit() or not profile_id:
        raise ConfigError(f"--meter {text!r}: expected UNIT:PROFILE[,KEY=N...], "
                          "e.g. 1:eastron.sdm630,peak=50000")
    values: dict[str, int] = {}
    for option in options:
        key, _, number = option.partition("=")
        if key not in _METER_KEYS or not number.isascii() or not number.isdigit():
            raise ConfigError(f"--meter {text!r}: {option!r} is not KEY=N with KEY one of "
                              f"{', '.join(_METER_KEYS)}")
        values[key] = int(number)
    if values.get("ct") == 0 or values.get("pt") == 0 or values.get("peak", 1) > 10**9 or \
            values.get("solar", 0) > 10**9:
        raise ConfigError(f"--meter {text!r}: ct and pt must be >= 1, peak and solar <= 1e9 W")
    profile = load_profile_reference(profile_id)
    return MeterSpec(int(unit_text), profile,
                     peak_w=values.get("peak", 10_000), solar_w=values.get("solar", 0),
                     ct=Fraction(values.get("ct", 1)), pt=Fraction(values.get("pt", 1)))


def _clock(args: argparse.Namespace) -> int:
    real_start = parse_instant(args.real_start) if args.real_start else int(time.time())
    clock = SimulatedTime(simulated_start=parse_instant(args.start), real_start=real_start,
                          speed=args.speed)
    try:
        clock.write(args.out)
    except FileExistsError:
        raise ConfigError(f"{args.out} exists; refusing to overwrite it") from None
    print(f"clock    {args.out}")
    print(f"start    simulated {show_instant(clock.simulated_start)} at real "
          f"{show_instant(clock.real_start)}")
    print(f"speed    {clock.speed} (a simulated day every "
          f"{clock.real_seconds(86_400):.0f} real seconds)")
    return EXIT_OK


def _sim_clock(args: argparse.Namespace) -> SimClock:
    if args.clock is not None:
        if args.speed is not None or args.start:
            raise ConfigError("--clock gives the simulated time: leave out --speed and --start")
        return SimClock.following(read_clock_file(args.clock))
    speed = 1.0 if args.speed is None else args.speed
    if not (math.isfinite(speed) and 0 <= speed <= 1e6):
        raise ConfigError(f"--speed must be 0..1000000, got {speed}")
    return SimClock(parse_instant(args.start) if args.start else time.time(), speed)


def _meters(args: argparse.Namespace) -> int:
    specs = [parse_meter(text) for text in args.meter or ["1:generic"]]
    faults = [parse_fault(text) for text in args.fault]
    if not 0 <= args.port <= 65535 or not 0 <= args.control_port <= 65535:
        raise ConfigError("ports must be 0..65535")
    simulator = MeterSimulator(specs, seed=args.seed, clock=_sim_clock(args))
    for fault in faults:
        simulator.apply(fault)
    # pymodbus logs a failed listen as a warning before mrv names it in one line.
    logging.getLogger("pymodbus").setLevel(logging.ERROR)
    asyncio.run(_serve(simulator, args, faults))
    return EXIT_OK


async def _serve(simulator: MeterSimulator, args: argparse.Namespace,
                 faults: list[Fault]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    control = ControlServer(simulator)
    try:
        if args.serial:
            await simulator.start_rtu(args.serial, baudrate=args.baudrate, parity=args.parity,
                                      stopbits=args.stopbits)
            where = args.serial
        else:
            host, port = await simulator.start_tcp(args.host, args.port)
            where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        control_host, control_port = await control.start(port=args.control_port)
        print(where)
        print(f"control {control_host}:{control_port}")
        for unit, model in simulator.meters.items():
            spec = model.spec
            print(f"unit {unit} {spec.profile.id} peak={spec.peak_w}W solar={spec.solar_w}W "
                  f"ct={spec.ct} pt={spec.pt}")
        for fault in faults:
            print(f"fault {fault.describe()}")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await control.stop()
        await simulator.stop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
