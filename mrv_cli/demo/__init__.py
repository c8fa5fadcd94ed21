"""``mrv demo``: the whole system end to end, as processes on one machine (README, "Two commands").

The chain (the pinned anvil on 127.0.0.1, or the loopback node of ``--rpc``), the ledger API on
SQLite, a meter simulator and two edge nodes run as child processes in one process group; the
meters, the nodes and the chain follow one simulated clock (``mrv_core.simulated_time``), so an
accelerated month is read, signed, anchored and ingested as it would have been, and no reading
is late. Modules:

- :mod:`.processes`: the process group, stopped as a whole on any failure or interrupt;
- :mod:`.chain_steps`: anvil, contracts, roles, methodologies published and audited;
- :mod:`.ledger`: the ledger database, principals and keys, ``mrv api serve``, reads of the API;
- :mod:`.sites`: the enterprise's two sites, their meters, nodes and faults;
- :mod:`.monitor`: the period under progress bars, until the ledger holds it anchored final;
- :mod:`.steps`: the steps after the period, in order; :mod:`.report_steps`: the monitoring
  plan, the manual fuel purchase, each site's report (created, submitted, rendered), its
  attestation and its bundle; :mod:`.tamper`: a reading a report uses tampered with;
  :mod:`.invoice`: the evidence PDF;
- :mod:`.summary`: the closing table; :mod:`.context`: what the steps share; :mod:`.run`: the
  orchestration.

The period is the next calendar month (Beijing time) that starts after the chain's clock with room
for the setup (:func:`make_plan`), or its first ``--days`` days. Arguments are checked before any
work (exit 2, one line).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mrv_core.errors import ConfigError
from mrv_core.simulated_time import MAX_SPEED

from ..dates import BEIJING, month_of
from ..options import add_option
from .context import NODE_START_S, DemoPlan

__all__ = ["DEFAULT_OUT", "check_rpc", "ensure_checkout", "make_plan", "register"]

DEFAULT_OUT = Path("out/demo")  # the Makefile's OUT
DEFAULT_SPEED = 86_400
DEFAULT_INTERVAL_MIN = 60
#: Real seconds of clock skew the AnchorRegistry allows, at the demo's speed (a node's queue and
#: anchor walk never make a reading look late or a batch early).
SKEW_REAL_S = 3


def register(commands: Any) -> None:
    demo = commands.add_parser(
        "demo", help="run the whole system end to end on simulated time (sample data)",
        description="Start anvil (or use --rpc), deploy the contracts, publish and audit the "
                    "methodologies, serve the ledger API on SQLite, run simulated meters of two "
                    "sites and an edge node per site through an accelerated month, wait until "
                    "the ledger holds it anchored final, then set the monitoring plan, enter a "
                    "gas invoice as manual activity data, create, submit and render each "
                    "site's report, attest each as a regulator, export each bundle and verify "
                    "it on chain, tamper with a reading one uses, verify proof bundles, and "
                    "print a summary. SAMPLE DATA.")
    add_option(demo, "--out", "MRV_DEMO_OUT", type=Path, default=DEFAULT_OUT, metavar="DIR",
               help="directory for everything the demo writes (replaced only if an earlier "
                    "demo wrote it: its demo.json is a demo's summary and it holds nothing "
                    "else a demo does not write; otherwise refused, left as it is)")
    add_option(demo, "--rpc", "MRV_DEMO_RPC", metavar="URL",
               help="run against this development node on loopback (anvil) instead of starting "
                    "one; everything stays verifiable there afterwards")
    add_option(demo, "--days", "MRV_DEMO_DAYS", type=int, metavar="N",
               help="simulate only the first N days of the month (1..31; default: the month)")
    add_option(demo, "--interval", "MRV_DEMO_INTERVAL", type=int,
               default=DEFAULT_INTERVAL_MIN, metavar="MINUTES",
               help=f"minutes between two readings of a meter (default {DEFAULT_INTERVAL_MIN}; "
                    "it must divide a day: 5, 10, 15, 20, 30, 60 ... 1440)")
    add_option(demo, "--speed", "MRV_DEMO_SPEED", type=int, default=DEFAULT_SPEED, metavar="X",
               help=f"simulated seconds per real second (default {DEFAULT_SPEED:,}: a day a "
                    f"second; 60..{MAX_SPEED:,})")
    add_option(demo, "--methodologies", "MRV_DEMO_METHODOLOGIES", choices=("all", "used"),
               default="used", help="publish and audit only the methodology versions the "
                                    "period uses (used, the default: the demo stays under two "
                                    "minutes) or every shipped version (all: 30-40 s more)")
    demo.set_defaults(handler=_demo)


def check_rpc(url: str) -> str:
    """``--rpc``: an http URL of a loopback address (simulated time drives only such a chain).
    Raises :class:`ConfigError`."""
    parts = urlsplit(url)
    try:
        loopback = parts.scheme == "http" and ipaddress.ip_address(
            parts.hostname or "").is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(f"--rpc must be http://127.0.0.1:PORT or http://[::1]:PORT (the demo "
                          f"drives the chain's clock: a development node on loopback), got "
                          f"{url!r:.80}")
    return url


def make_plan(*, out: Path, rpc: str | None, days: int | None, interval_min: int, speed: int,
              chain_now: int, all_methodologies: bool = False) -> DemoPlan:
    """The period and timings (:class:`DemoPlan`) for a chain whose clock reads ``chain_now``.
    Raises :class:`ConfigError` naming the option."""
    if not 5 <= interval_min <= 1440 or 1440 % interval_min:
        raise ConfigError(f"--interval must divide a day: 5, 10, 15, 20, 30, 60 ... 1440 "
                          f"minutes, got {interval_min}")
    if not 60 <= speed <= MAX_SPEED:
        raise ConfigError(f"--speed must be within 60..{MAX_SPEED:,}, got {speed}")
    if days is not None and not 1 <= days <= 31:
        raise ConfigError(f"--days must be within 1..31, got {days}")
    interval = interval_min * 60
    # The nodes start while the clock runs: it starts this far before the period.
    lead = NODE_START_S * speed + 2 * interval
    earliest = chain_now + lead + 86_400
    moment = datetime.fromtimestamp(earliest, BEIJING)
    year, month = (moment.year, moment.month + 1) if moment.month < 12 else (moment.year + 1, 1)
    start, end = month_of(year, month)
    label = f"{year:04d}-{month:02d}"
    if days is not None and start + days * 86_400 < end:
        end = start + days * 86_400
        label += f"-01..{days:02d}"
    return DemoPlan(out=out, rpc=rpc, period_start=start, period_end=end, label=label,
                    interval_s=interval, speed=speed, lead_s=lead,
                    max_clock_skew=max(300, SKEW_REAL_S * speed),
                    all_methodologies=all_methodologies)


def ensure_checkout() -> None:
    """Make the source checkout's ``local_servers`` importable (the pinned anvil in its
    ``node_modules``, free ports): it is a top-level package of the checkout, not of the
    installed ``mrv``, which ``make setup`` installs in editable mode from there. Raises
    :class:`ConfigError` outside a checkout."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "local_servers" / "__init__.py").is_file():
        raise ConfigError("mrv demo runs from a TrustMRV source checkout after `make setup` "
                          f"(it starts the pinned anvil of its node_modules); {root} is none")
    if str(root) not in sys.path:
        sys.path.append(str(root))


def _demo(args: argparse.Namespace) -> int:
    ensure_checkout()
    from rich.console import Console

    from mrv_core.chain import connect

    from .run import run_demo

    rpc = None if args.rpc is None else check_rpc(args.rpc)
    make_plan(out=args.out, rpc=rpc, days=args.days, interval_min=args.interval,
              speed=args.speed, chain_now=int(time.time()))  # the arguments, before any work
    chain_now = connect(rpc).latest_timestamp() if rpc else int(time.time())
    plan = make_plan(out=args.out, rpc=rpc, days=args.days, interval_min=args.interval,
                     speed=args.speed, chain_now=chain_now,
                     all_methodologies=args.methodologies == "all")
    # Not a terminal (a log, a test): wide enough for the summary table's lines.
    width = None if sys.stdout.isatty() else 132
    return run_demo(plan, Console(highlight=False, soft_wrap=True, width=width))
