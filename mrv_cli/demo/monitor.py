"""Watching the accelerated period: progress bars, the faults on schedule, the chain's clock,
and the wait until the ledger holds every node's data in final batches.

While the nodes run, the demo (every quarter of a real second):

1. stops with :class:`~mrv_cli.demo.processes.ChildExited` if any child has died;
2. keeps the chain's clock on the simulated one (``ChainClock.advance``: the nodes do so when
   they anchor; the demo also does while it waits, so the API's watcher sees the blocks that
   make the last anchors final);
3. applies each fault of ``sites.FAULTS`` on the simulator's control channel when the period has
   got that far;
4. asks the ledger API for each device's batches (every two real seconds).

It is done when the simulated clock is past ``plan.settled`` (two simulated days past the
period's end) and, for every node, the ledger holds batches covering up to that instant, all
of them ``final``; then every reading of the period, and every summary of it, is in the ledger
and anchored. A :class:`DemoTimeout` (an
:class:`~mrv_core.errors.MrvError`) ends the wait after ``deadline_s`` real seconds, naming what
was missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from edge_node.simulator.control import request as control_request
from mrv_core.chain import ChainClock, connect
from mrv_core.errors import MrvError
from mrv_core.simulated_time import SimulatedTime

from ..dates import show_instant
from .context import DemoContext
from .ledger import LedgerClient
from .sites import FAULTS

__all__ = ["Coverage", "DemoTimeout", "watch_period"]

_TICK_S = 0.25
_ASK_EVERY_S = 2.0


class DemoTimeout(MrvError):
    """The period's data did not reach the ledger, anchored final, in time."""


@dataclass
class Coverage:
    """What the ledger holds of one device: batches accepted, how many are final, and the
    newest ``toTimestamp`` up to which every batch is final (0: none yet)."""

    batches: int = 0
    final: int = 0
    final_until: int = 0
    states: dict[str, int] = field(default_factory=dict)


def coverage(client: LedgerClient, device: bytes) -> Coverage:
    """The device's :class:`Coverage` from ``GET /v1/batches`` (404 before its first
    delivery: nothing held yet)."""
    try:
        batches = client.batches(device)
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code == 404:
            return Coverage()
        raise
    found = Coverage(batches=len(batches))
    for batch in batches:
        found.states[batch["anchorState"]] = found.states.get(batch["anchorState"], 0) + 1
    for batch in batches:  # batchSeq order: final up to the first one that is not
        if batch["anchorState"] != "final":
            break
        found.final += 1
        found.final_until = int(batch["toTimestamp"])
    return found


def watch_period(context: DemoContext, clock: SimulatedTime, *, check: Callable[[], None],
                 deadline_s: float, console: Console) -> dict[bytes, Coverage]:
    """Run the loop of the module docstring until done; return each device's coverage.
    Raises :class:`DemoTimeout`, or what ``check`` raises (a child that died)."""
    plan = context.plan
    until = plan.settled
    chain_clock = ChainClock(connect(context.chain_url), clock, allowed_lead_s=plan.max_clock_skew)
    faults = list(FAULTS)
    covered: dict[bytes, Coverage] = {n.device: Coverage() for n in context.nodes}
    started, asked = time.monotonic(), 0.0
    hours = (until - plan.period_start) // 3600
    with LedgerClient(context) as client, Progress(
            TextColumn("{task.description:<34}"), BarColumn(), TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(), console=console, transient=False) as progress:
        sim: TaskID = progress.add_task("simulated time", total=hours, note="")
        bars = {n.device: progress.add_task(f"{n.site.split('/')[1]}: ledger, anchored final",
                                            total=hours, note="")
                for n in context.nodes}
        while True:
            check()
            chain_clock.advance()
            now = clock.now_s()
            progress.update(sim, completed=min(hours, max(0, now - plan.period_start) // 3600),
                            note=show_instant(now))
            while faults and now >= plan.period_start + (plan.period_end - plan.period_start) \
                    * faults[0].at[0] // faults[0].at[1]:
                fault = faults.pop(0)
                answer = control_request(context.simulator_control,
                                         {"op": "fault", "fault": fault.fault})
                progress.console.print(f"  fault at {show_instant(now)}: {fault.what} "
                                       f"({'applied' if answer.get('ok') else answer})")
            if time.monotonic() - asked >= _ASK_EVERY_S:
                asked = time.monotonic()
                for node in context.nodes:
                    found = covered[node.device] = coverage(client, node.device)
                    progress.update(bars[node.device], completed=min(hours, max(
                        0, found.final_until - plan.period_start) // 3600),
                        note=f"{found.final}/{found.batches} batches final")
                if now >= until and all(c.final_until >= until for c in covered.values()):
                    return covered
            if time.monotonic() - started > deadline_s:
                missing = [f"{n.site}: final up to {show_instant(covered[n.device].final_until)}"
                           f", {covered[n.device].final}/{covered[n.device].batches} final"
                           for n in context.nodes]
                raise DemoTimeout(f"after {deadline_s:.0f} s the ledger does not hold the "
                                  f"period up to {show_instant(until)} anchored final: "
                                  + "; ".join(missing))
            time.sleep(_TICK_S)
