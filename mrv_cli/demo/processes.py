"""The demo's child processes: one process group, stopped together, never left behind.

Every server the demo starts (anvil, the meter simulator, the ledger API, the edge nodes) runs in
**one process group of its own**: the first child leads it, the others join it
(``Popen(process_group=...)``). Stopping is therefore one ``killpg``: SIGTERM to the whole group,
grandchildren included (anvil's npm wrapper and its native binary), then SIGKILL to whatever is
still there after :data:`STOP_GRACE_S`. The group is not the demo's own: a Ctrl-C in a terminal
reaches only ``mrv demo``, which then stops the group itself in ``finally``, so a failure in any
step and an interrupt take the same path.

:meth:`ChildProcesses.check` raises :class:`ChildExited` when a child has died on its own
(its name, exit status and the end of its log): the demo stops at once instead of waiting on a
server that is gone. Each child's output goes to ``<logs>/<name>.log``.

Shapes: :class:`Child` (name, ``Popen``, log path); errors: :class:`ChildExited`
(:class:`~mrv_core.errors.MrvError`), :class:`ChildNotReady` (a child did not print its first
line in time: :class:`~mrv_core.errors.ConfigError`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from mrv_core.errors import ConfigError, MrvError

__all__ = ["STOP_GRACE_S", "Child", "ChildExited", "ChildNotReady", "ChildProcesses"]

#: Seconds a child has to stop after SIGTERM before the group gets SIGKILL (an edge node signs
#: its open gap runs on the way out; anvil writes nothing: the demo gives it no --state).
STOP_GRACE_S = 15.0
_TAIL_BYTES = 2_000
_PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


class ChildExited(MrvError):
    """A child process ended before the demo asked it to."""


class ChildNotReady(ConfigError):
    """A child did not become ready in time (its log names why)."""


@dataclass(frozen=True)
class Child:
    """One child process: its name in messages and log file, the process, its log."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        """The last lines of its log (at most 2,000 bytes), for an error message."""
        try:
            with self.log.open("rb") as handle:
                handle.seek(max(0, self.log.stat().st_size - _TAIL_BYTES))
                return handle.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""


class ChildProcesses:
    """Starts children in one process group and stops the whole group (module docstring).

    Use as a context manager: leaving it, by return or by any exception (KeyboardInterrupt
    included), stops every child."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.children: list[Child] = []
        self.group: int | None = None  # the process group id, once the first child runs
        self._terminated: set[int] = set()  # pids sent SIGTERM
        self.interrupted: str | None = None

    def __enter__(self) -> ChildProcesses:
        self.logs.mkdir(parents=True, exist_ok=True)
        _become_subreaper()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            self.stop_all()
        finally:
            _become_subreaper(False)

    def start(self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
              stdout_pipe: bool = False) -> Child:
        """Start ``argv`` in the group; its standard error (and output, unless
        ``stdout_pipe``: then read it with :meth:`first_lines`) goes to ``<logs>/<name>.log``."""
        log = self.logs / f"{name}.log"
        handle: IO[bytes] = log.open("ab")
        try:
            process = subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdout_pipe else handle, stderr=handle,
                env=dict(env) if env is not None else None,
                process_group=0 if self.group is None else self.group)
        finally:
            handle.close()
        if self.group is None:
            self.group = process.pid
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def first_lines(self, child: Child, count: int, timeout: float) -> list[str]:
        """The first ``count`` lines ``child`` prints on its piped standard output (a server's
        listen lines). Raises :class:`ChildNotReady` when it exits or stays silent."""
        assert child.process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        stream = child.process.stdout
        os.set_blocking(stream.fileno(), False)
        buffer = b""
        while len(lines) < count:
            chunk = stream.read()
            if chunk:
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                lines += [line.decode("utf-8", "replace") for line in complete]
                continue
            if child.process.poll() is not None:
                raise ChildNotReady(f"{child.name} exited {child.process.returncode} before it "
                                    f"was ready: {child.tail() or 'no output'}")
            if time.monotonic() > deadline:
                raise ChildNotReady(f"{child.name} printed {len(lines)} of its {count} first "
                                    f"lines in {timeout:.0f} s: {child.tail() or 'no output'}")
            time.sleep(0.02)
        return lines[:count]

    def interrupt(self, reason: str) -> None:
        """Note that the demo was interrupted (``reason``) and send SIGTERM to the whole group
        now: whatever the demo is doing fails soon after, even where the
        ``KeyboardInterrupt`` raised for it is swallowed (Python ignores exceptions raised
        inside destructors), and :meth:`check` raises it again."""
        self.interrupted = reason
        if self.group is not None:
            _signal_group(self.group, signal.SIGTERM)

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` after :meth:`interrupt`, else :class:`ChildExited`
        naming the first child that has ended."""
        if self.interrupted is not None:
            raise KeyboardInterrupt(self.interrupted)
        for child in self.children:
            code = child.process.poll()
            if code is not None and child.process.pid not in self._terminated:
                raise ChildExited(f"{child.name} (pid {child.process.pid}) exited with status "
                                  f"{code} while the demo needed it; its log "
                                  f"{child.log}: {child.tail() or 'empty'}")

    def stop(self, child: Child, timeout: float = STOP_GRACE_S) -> int | None:
        """Stop one child with SIGTERM (SIGKILL after ``timeout`` s); return its exit status.
        A child already sent SIGTERM (:meth:`terminate`) is not sent another: a second one
        could land after it removed its handler and kill it mid-shutdown."""
        if child.process.poll() is None:
            self.terminate([child])
            try:
                child.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        self._close(child)
        return child.process.returncode

    def stop_together(self, children: Sequence[Child],
                      timeout: float = STOP_GRACE_S) -> list[tuple[Child, int | None]]:
        """SIGTERM to each of ``children`` at once, then wait for each (SIGKILL after
        ``timeout`` s); return each with its exit status."""
        self.terminate(children)
        return [(child, self.stop(child, timeout)) for child in children]

    def terminate(self, children: Sequence[Child]) -> None:
        """SIGTERM, once, to each of ``children`` still running; returns at once."""
        for child in children:
            if child.process.poll() is None and child.process.pid not in self._terminated:
                self._terminated.add(child.process.pid)
                child.process.send_signal(signal.SIGTERM)

    def stop_all(self) -> None:
        """SIGTERM to the whole group, SIGKILL to what is left after :data:`STOP_GRACE_S`;
        reap every child. Safe to call twice, and while an interrupt is being handled."""
        if self.group is None:
            return
        _signal_group(self.group, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        _signal_group(self.group, signal.SIGKILL)  # grandchildren too, whatever their parent did
        for child in self.children:
            child.process.wait()
            self._close(child)
        # Grandchildren orphaned by their parent's exit are ours (a child subreaper): reap them
        # until the kernel has no process left in the group.
        deadline = time.monotonic() + STOP_GRACE_S
        while _signal_group(self.group, 0) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                while os.waitpid(-self.group, os.WNOHANG)[0] > 0:  # only this group's
                    pass
            time.sleep(0.02)
        self.group = None

    @staticmethod
    def _close(child: Child) -> None:
        if child.process.stdout is not None:
            child.process.stdout.close()


def _become_subreaper(on: bool = True) -> None:
    """Linux: make this process the reaper of its descendants' orphans (``prctl
    PR_SET_CHILD_SUBREAPER``), so anvil's native binary, orphaned when its npm wrapper exits,
    is reaped here instead of lingering as a zombie member of the group (``on=False``: no
    longer). Elsewhere, nothing."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0)


def _signal_group(group: int, signum: signal.Signals | int) -> bool:
    """Signal every member of ``group`` (0: only ask); False when it has none left."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:  # every member has already exited
        return False
    return True
