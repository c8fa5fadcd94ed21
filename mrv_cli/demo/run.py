"""``mrv demo`` end to end: the orchestration (docs in the package's ``__init__`` and README).

1. chain: anvil in the demo's process group (or the node of ``--rpc``), the contracts, the
   actors' roles; 2. every methodology version published and audited; 3. the ledger API
   (SQLite in the output directory) with an enterprise operator and a regulator;
4. the enterprise's two sites and their edge nodes, registered on chain; 5. the clock file,
   the meter simulator and the nodes as processes, on simulated time; 6. the accelerated period,
   watched until the ledger holds it anchored final; 7. the nodes stopped cleanly; 8. the steps
   after the period (``steps.AFTER_PERIOD``); 9. the summary table and ``demo.json``.

Any failure or interrupt leaves through the one ``with ChildProcesses`` block, which stops the
whole process group.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from rich.console import Console

from local_servers import free_port
from mrv_core.chain import connect
from mrv_core.errors import ConfigError
from mrv_core.files import UnreadableFile, read_regular_file
from mrv_core.simulated_time import SimulatedTime

from ..dates import show_instant
from ..options import EXIT_FAILED, EXIT_OK
from . import chain_steps, ledger, sites, steps, summary
from .context import DEMO_FORMAT, NODE_START_S, DemoContext, DemoPlan, StepOutcome
from .invoice import warm_up_renderer
from .monitor import watch_period
from .processes import Child, ChildProcesses

__all__ = ["prepare_out", "run_demo"]



class _Console:
    """Numbered step headings and their lines, on one rich console."""

    def __init__(self, console: Console, processes: ChildProcesses) -> None:
        self.console, self.number, self.figures = console, 0, list[tuple[str, str]]()
        self.started = time.monotonic()
        self.processes = processes
        self.failed: list[str] = []

    def heading(self, title: str) -> None:
        self.processes.check()  # an interrupt or a child that died stops the demo here
        self.number += 1
        self.console.print(f"\n[bold]== {self.number}. {title}[/bold] "
                           f"[dim]({time.monotonic() - self.started:.1f} s)[/dim]")

    def show(self, title: str, outcome: StepOutcome) -> None:
        for line in outcome.lines:
            self.console.print(f"  {line}", highlight=False, markup=False)
        self.figures += list(outcome.figures)
        if not outcome.ok:
            self.failed.append(title)
            self.console.print(f"  [red]FAILED[/red]: {title}")

    def step(self, title: str, function: Callable[[DemoContext], StepOutcome],
             context: DemoContext) -> None:
        self.heading(title)
        self.show(title, function(context))


@contextmanager
def _interruptible(processes: ChildProcesses) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP stop the child processes at once; the demo then ends as
    Ctrl-C does (``KeyboardInterrupt``, exit 130) at its next check, or when what it was doing
    fails because its children went away. The handler raises nothing itself: an exception
    raised from a signal handler inside a destructor is swallowed (and printed) by Python."""
    def interrupt(signum: int, _frame: FrameType | None) -> None:
        processes.interrupt(f"stopped by {signal.Signals(signum).name}; every child process "
                            "was stopped")
    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, interrupt) for s in handled}
    try:
        yield
        processes.check()
    except Exception:
        if processes.interrupted is not None:
            raise KeyboardInterrupt(processes.interrupted) from None
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


#: What a demo writes at the top of its output directory (``run_demo`` and its steps; the
#: SQLite side files of ``ledger.sqlite``; the temporary files ``write_new_file`` makes beside
#: a file it writes, left by a crash).
DEMO_ENTRIES = frozenset({
    "demo.json", "deployment.json", "clock.json", "go-api", "go-meters", "go-nodes",
    "ledger.sqlite", "ledger.sqlite-journal", "ledger.sqlite-wal", "ledger.sqlite-shm",
    "keys", "logs", "nodes", "bundles", "evidence", "report", "tampered"})
_TEMPORARY = re.compile(r"\.(demo|deployment|clock)\.json\..+\.tmp\Z")
#: What every ``demo.json`` written before its ``format`` field held (and nothing else names
#: together): such a file is an earlier demo's, though this version no longer loads it.
_LEGACY_KEYS = frozenset({"plan", "period", "chain", "deployment", "simulatorControl", "nodes",
                          "apiKeys", "written"})
#: The largest ``demo.json`` read to decide (a demo's is a few KiB).
_SUMMARY_BYTES = 1024 * 1024


def prepare_out(out: Path) -> None:
    """Make ``out`` for a new demo, replacing an earlier demo's directory: one whose
    ``demo.json`` is a demo's summary (a JSON object whose ``format`` is
    :data:`~.context.DEMO_FORMAT`, or, written before that field, one holding every key such
    a summary held) and which holds nothing but :data:`DEMO_ENTRIES`. Anything
    else is left as it is: :class:`ConfigError` naming the file or the entries that are not a
    demo's (a user's directory with a stray ``demo.json`` survives)."""
    if out.exists() or out.is_symlink():
        if out.is_symlink() or not out.is_dir():
            raise ConfigError(f"{out} exists and is not a directory an earlier demo wrote; "
                              "choose another --out")
        summary = out / "demo.json"
        problem = _summary_problem(summary)
        if problem is not None:
            raise ConfigError(f"{summary}: {problem}; {out} is left as it is: choose another "
                              "--out")
        foreign = sorted(entry.name for entry in out.iterdir()
                         if entry.name not in DEMO_ENTRIES and not _TEMPORARY.match(entry.name))
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more"
                                              if len(foreign) > 5 else "")
            raise ConfigError(f"{out} holds {shown}, which `mrv demo` does not write: left as "
                              "it is; choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)


def _summary_problem(path: Path) -> str | None:
    """Why ``path`` is not an earlier demo's ``demo.json``, or ``None`` when it is one."""
    expected = f"expected the summary `mrv demo` writes (format {DEMO_FORMAT})"
    try:
        data = read_regular_file(path, _SUMMARY_BYTES)
    except UnreadableFile as exc:
        return f"{exc.reason}; {expected}"
    try:
        summary = json.loads(data)
    except ValueError:
        return f"not JSON; {expected}"
    if not isinstance(summary, dict):
        return f"a JSON {type(summary).__name__}, not an object; {expected}"
    if summary.get("format") == DEMO_FORMAT:
        return None
    if "format" in summary:
        return f"format {summary['format']!r:.60}; {expected}"
    if not summary.keys() >= _LEGACY_KEYS:
        return f"no format field and not a summary an earlier demo wrote; {expected}"
    return None


def _launcher(go: Path, argv: list[str]) -> list[str]:
    """A child that imports ``mrv`` now and runs ``mrv argv`` once ``go`` exists (``launch``)."""
    return [sys.executable, "-m", "mrv_cli.demo.launch", str(go), *argv]


@dataclass(frozen=True)
class _Servers:
    """The children started ahead of time (``launch``), and what they wait for."""

    api: Child
    simulator: Child
    nodes: list[Child]
    secret: str
    modbus_port: int
    go_api: Path
    go_meters: Path
    go_nodes: Path


def _start_servers(processes: ChildProcesses, context: DemoContext) -> _Servers:
    """The ledger API, the meter simulator and the nodes start now and import ``mrv`` while the
    chain is set up; each runs once its go file appears (``launch``). Fixes the paths and
    ports they are given in ``context``."""
    out = context.out
    context.deployment = out / "deployment.json"
    context.database_url = ledger.database_url(context)
    context.clock_file = out / "clock.json"
    secret, modbus_port = ledger.new_secret(), free_port()
    go_api, go_meters, go_nodes = out / "go-api", out / "go-meters", out / "go-nodes"
    api = processes.start("api", _launcher(go_api, ledger.api_argv(
        context, free_port(), processes.logs / "api.jsonl")), env=ledger.api_environment(secret))
    simulator = processes.start("simulator", _launcher(go_meters, [
        "simulate", "meters", "--port", str(modbus_port), "--clock", str(context.clock_file),
        "--seed", "2027", *sites.simulator_meter_args()]), stdout_pipe=True)
    nodes = [processes.start(f"node-{number}", _launcher(
        go_nodes, sites.node_argv(sites.node_config_path(context, number), context)),
        stdout_pipe=True) for number in range(1, len(sites.SITES) + 1)]
    return _Servers(api, simulator, nodes, secret, modbus_port, go_api, go_meters, go_nodes)


def _start_clock(processes: ChildProcesses, context: DemoContext, servers: _Servers,
                 console: Console) -> SimulatedTime:
    """Write the clock file (its simulated start ``lead_s`` before the period), release the
    meters, then (once they listen: a node polling earlier would sign gaps) the nodes; check
    that the nodes run before the period starts. Raises :class:`ConfigError` when they were
    too slow for the speed."""
    plan = context.plan
    clock = SimulatedTime(simulated_start=plan.period_start - plan.lead_s,
                          real_start=int(time.time()), speed=plan.speed)
    clock.write(context.clock_file)
    servers.go_meters.touch()
    listen = processes.first_lines(servers.simulator, 2, timeout=30)
    servers.go_nodes.touch()
    host, _, port = listen[1].split()[1].rpartition(":")
    context.simulator_control = (host, int(port))
    console.print(f"  meters on {listen[0]} (Modbus TCP), control {listen[1].split()[1]}")
    for child, node in zip(servers.nodes, context.nodes, strict=True):
        first = processes.first_lines(child, 1, timeout=60)[0]
        console.print(f"  {node.site}: {first} (at simulated {show_instant(clock.now_s())})",
                      markup=False)
    if clock.now_s() >= plan.period_start:
        raise ConfigError(f"the edge nodes took longer than {NODE_START_S} real s to start: "
                          "the period began before their first poll; run again with a lower "
                          "--speed")
    return clock


def run_demo(plan: DemoPlan, console: Console) -> int:
    """Run the whole demo (module docstring); return the exit status."""
    started = time.monotonic()
    prepare_out(plan.out)
    context = DemoContext(plan=plan, password_file=plan.out / "keys" / "password.txt")
    (plan.out / "keys").mkdir()
    context.save()  # from now on the directory is an earlier demo's, whatever happens
    with ChildProcesses(plan.out / "logs") as processes, _interruptible(processes):
        show = _Console(console, processes)
        show.heading("chain: " + ("the node at " + plan.rpc if plan.rpc else
                                  "anvil on 127.0.0.1") + "; deploy the consortium contracts")
        context.chain_url = plan.rpc or chain_steps.start_anvil_child(
            processes, plan.period_start - plan.lead_s - chain_steps.GENESIS_LEAD_S)
        servers = _start_servers(processes, context)
        stopping = [*servers.nodes, servers.simulator]

        show.show("deploy", chain_steps.deploy(context))
        show.step("publish and audit " + ("every methodology version" if plan.all_methodologies
                                          else "the methodology versions the period uses"),
                  chain_steps.publish_methodologies, context)

        show.heading("ledger API on SQLite, with an enterprise operator and a regulator")
        show.show("ledger", ledger.prepare_ledger(context, servers.secret))
        servers.go_api.touch()
        show.show("ledger", ledger.wait_until_ready(servers.api, context.api_url))

        show.heading("the enterprise: two sites, an edge node per site, registered on chain")
        show.show("sites", sites.create_sites(context, connect(context.chain_url),
                                              modbus_port=servers.modbus_port,
                                              batch_age_s=plan.batch_age_s))

        show.heading(f"simulated meters and edge nodes on simulated time: {plan.label}, "
                     f"a reading every {plan.interval_s // 60} min, x{plan.speed:,}")
        clock = _start_clock(processes, context, servers, console)
        context.save()

        show.heading(f"the period {show_instant(plan.period_start)} .. "
                     f"{show_instant(plan.period_end)}: readings, anchors, ingest")
        period_started = time.monotonic()
        warming = warm_up_renderer()  # the report steps' PDF renderer, while the period runs
        watch_period(context, clock, check=processes.check,
                     deadline_s=plan.lead_s / plan.speed
                     + (plan.settled - plan.period_start) / plan.speed + 90,
                     console=console)
        period_s = time.monotonic() - period_started
        warming.join()
        console.print(f"  the period took {period_s:.1f} real s; the ledger holds it, "
                      "anchored final")
        # The nodes stop (signing their open gap runs) while the steps run: they need only
        # the ledger and the chain.
        processes.terminate(stopping)
        console.print("  edge nodes and simulator asked to stop (SIGTERM)")

        for title, function in steps.AFTER_PERIOD:
            show.step(title, function, context)

        for child, code in processes.stop_together(stopping):
            if code != 0:
                show.failed.append(f"{child.name} stopped with exit status {code}")

        rows = summary.collect(context) + show.figures
        elapsed = time.monotonic() - started
        rows.append(("real time", f"{elapsed:.1f} s (the period {period_s:.1f} s)"))
        console.print()
        summary.render(console, f"mrv demo: {plan.label} summary", rows)
        context.save()
    _print_paths(console, context)
    if show.failed:
        console.print(f"[red]FAILED[/red]: {'; '.join(show.failed)}")
        return EXIT_FAILED
    return EXIT_OK


def _print_paths(console: Console, context: DemoContext) -> None:
    console.print(f"\nwritten in {context.out}: demo.json (addresses, keys, paths), "
                  "deployment.json, ledger.sqlite, logs/, nodes/", markup=False)
    for title, path in context.written.items():
        console.print(f"  {title}: {path}", markup=False)
    if context.plan.rpc:
        console.print(f"the chain stays: mrv bundle verify {context.bundles} --rpc "
                      f"{context.plan.rpc} --deployment {context.deployment}", markup=False)
    else:
        console.print(f"anvil ended with the demo; offline: mrv bundle verify {context.bundles}",
                      markup=False)
