"""The retry policy by error class (THREATS.md, "Modbus failure modes").

:meth:`RetryPolicy.attempt` runs one read of one register block under the policy:

1. A block held off after a configuration error (01 illegal function, 02 illegal address,
   03 illegal value) is not requested at all until its hold-off (``config_hold_off`` seconds)
   has passed; the poll then fails with the same class and ``attempts == 0``. The error is
   logged loudly once, when the hold-off starts: a wrong profile or unit id is for an operator
   to fix, and hammering a device with requests it refuses helps nobody.
2. Busy and gateway answers (05 acknowledge, 06 busy, 0A gateway path, 0B gateway target) are
   retried within the poll interval, at most ``busy_attempts`` requests in all, waiting a random
   exponential backoff with full jitter (tenacity's ``wait_random_exponential``) and never past
   the interval's deadline.
3. Everything else is recorded and the next interval tried: ``timeout``, ``device_failure``
   (04), ``other``. After ``connection`` and ``framing`` the connection is rebuilt before its
   next request (``connection.ModbusConnection`` does that; see :meth:`RetryPolicy.rebuilds`).

So for one block and one interval the policy sends at most ``busy_attempts`` requests, and over
any ``config_hold_off`` seconds at most one request that ends in a configuration error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_random_exponential

from .classify import CONFIGURATION_ERRORS, RETRY_LATER_ERRORS, ErrorClass, Outcome, ReadError
from .clock import Clock
from .settings import RetrySettings

__all__ = ["HoldOff", "RetryPolicy"]

_log = structlog.get_logger("edge_node.acquisition")

#: Errors after which the connection is closed and rebuilt before its next request.
REBUILD_ERRORS = frozenset({ErrorClass.CONNECTION, ErrorClass.FRAMING})


@dataclass(frozen=True, slots=True)
class HoldOff:
    """A block not to be requested before monotonic time ``until`` (a configuration error)."""

    until: float
    error: ErrorClass
    detail: str


class _StopAtDeadline(stop_base):
    """Stop retrying when the next wait would end past ``deadline`` on ``clock``."""

    def __init__(self, clock: Clock, deadline: float) -> None:
        self._clock = clock
        self._deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._clock.monotonic() + retry_state.upcoming_sleep >= self._deadline


def _retry_later(outcome: Outcome) -> bool:
    return isinstance(outcome, ReadError) and outcome.error in RETRY_LATER_ERRORS


class RetryPolicy:
    """Hold-offs per block key, and the retry loop of one read (see the module docstring).

    ``key`` is any hashable naming a register block (the poller uses ``(meter path, function,
    address)``). Sleeping goes through ``clock``, so simulated time works.
    """

    def __init__(self, settings: RetrySettings, clock: Clock) -> None:
        self.settings = settings
        self._clock = clock
        self._holds: dict[Hashable, HoldOff] = {}

    def held_off(self, key: Hashable, now: float) -> HoldOff | None:
        """The hold-off in force for ``key`` at monotonic ``now``, or None."""
        hold = self._holds.get(key)
        if hold is not None and now >= hold.until:
            del self._holds[key]
            return None
        return hold

    @staticmethod
    def rebuilds(error: ErrorClass) -> bool:
        """True when the connection must be rebuilt after ``error``."""
        return error in REBUILD_ERRORS

    async def attempt(self, key: Hashable, request: Callable[[], Awaitable[Outcome]],
                      deadline: float, *, context: str = "") -> tuple[Outcome, int]:
        """Read one block under the policy; returns the last outcome and the requests sent.

        ``request`` sends one read; ``deadline`` (monotonic) is the end of the poll interval,
        past which no busy retry waits; ``context`` names the block in the loud log line.
        """
        now = self._clock.monotonic()
        hold = self.held_off(key, now)
        if hold is not None:
            left = hold.until - now
            return ReadError(hold.error, f"held off {left:.0f} s more after: {hold.detail}"), 0
        first = await request()  # the common case, an answer, needs no retry machinery
        if not _retry_later(first) or self.settings.busy_attempts == 1:
            outcome, sent = first, 1
        else:
            sent = 1
            replayed = False

            async def again() -> Outcome:
                # tenacity's first attempt is the answer already had; each retry sends
                nonlocal sent, replayed
                if not replayed:
                    replayed = True
                    return first
                sent += 1
                return await request()

            retrying = AsyncRetrying(
                sleep=self._clock.sleep,
                stop=stop_after_attempt(self.settings.busy_attempts)
                | _StopAtDeadline(self._clock, deadline),
                wait=wait_random_exponential(multiplier=self.settings.busy_backoff,
                                             max=self.settings.busy_backoff_max),
                retry=retry_if_result(_retry_later),
                retry_error_callback=lambda state: (state.outcome.result() if state.outcome
                                                    else None),
            )
            outcome = await retrying(again)
        if isinstance(outcome, ReadError) and outcome.error in CONFIGURATION_ERRORS:
            until = self._clock.monotonic() + self.settings.config_hold_off
            self._holds[key] = HoldOff(until, outcome.error, outcome.detail)
            _log.error("configuration error: block held off", block=context,
                       error=str(outcome.error), detail=outcome.detail,
                       hold_off_seconds=self.settings.config_hold_off)
        return outcome, sent
