"""Test-only crash points: named places in the pipeline where a test can kill the process.

The crash tests need to kill the node at the two moments THREATS.md names (between signing and
commit, between sending an anchor and its receipt) and not only at random times. Each such place
calls :meth:`CrashPoints.reached` with its name. In production nothing is set and the call is a
dictionary lookup that returns.

``MRV_TEST_CRASH_AT=NAME[:N]`` (read when :func:`from_environment` is called, never at import)
makes the N-th arrival (default the first) at ``NAME`` send SIGKILL to this very process: no
``finally`` block, no atexit handler, no flush runs, exactly as a power cut. In-process tests
(the outbox state machine) pass a :class:`CrashPoints` whose ``action`` raises instead.

Names in use: ``signed-before-commit`` (signer), ``batch-before-commit`` (batcher),
``anchor-signed-before-send``, ``anchor-sent-before-receipt``, ``anchor-before-record``
(anchorer), ``relay-sent-before-record`` (relayer).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from mrv_core.errors import ConfigError

__all__ = ["ENV", "NEVER", "CrashPoints", "from_environment", "kill_self"]

ENV = "MRV_TEST_CRASH_AT"


def kill_self(name: str) -> None:
    """SIGKILL this process (the crash point ``name`` was reached)."""
    os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class CrashPoints:
    """Which crash point fires, after how many arrivals, and what firing does."""

    name: str | None = None
    after: int = 1
    action: Callable[[str], None] = kill_self
    _seen: dict[str, int] = field(default_factory=dict)

    def reached(self, name: str) -> None:
        if self.name != name:
            return
        self._seen[name] = self._seen.get(name, 0) + 1
        if self._seen[name] >= self.after:
            self.action(name)


#: Crash points that never fire (the default of every component).
NEVER = CrashPoints()


def from_environment() -> CrashPoints:
    """The crash point named by ``MRV_TEST_CRASH_AT`` (``NAME`` or ``NAME:N``), else :data:`NEVER`.

    Raises :class:`ConfigError` when N is not a positive integer."""
    value = os.environ.get(ENV, "")
    if not value:
        return NEVER
    name, _, count = value.partition(":")
    try:
        after = int(count) if count else 1
    except ValueError:
        after = 0
    if after < 1:
        raise ConfigError(f"{ENV}={value!r}: expected NAME or NAME:N with N >= 1")
    return CrashPoints(name=name, after=after)
