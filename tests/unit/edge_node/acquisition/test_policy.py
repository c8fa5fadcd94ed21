"""The retry policy by error class, as a state machine on simulated time.

The policy is driven exactly as the poller drives it (one ``attempt`` per block per tick, with
the interval's end as deadline); the request it is given stands for a device: it returns the
outcome the test draws and counts what was sent. Simulated time (a clock whose sleep advances
it) makes hold-offs of an hour and backoffs checkable in milliseconds.
"""

from __future__ import annotations

import asyncio
import itertools

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from structlog.testing import capture_logs

from edge_node.acquisition.classify import (
    CONFIGURATION_ERRORS,
    RETRY_LATER_ERRORS,
    ErrorClass,
    Outcome,
    ReadError,
)
from edge_node.acquisition.policy import RetryPolicy
from edge_node.acquisition.settings import RetrySettings


class SimClock:
    """Simulated monotonic and wall time; ``sleep`` advances both."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_700_000_000.0 + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


GOOD: Outcome = (1, 2)
outcomes = st.one_of(st.just(GOOD), st.sampled_from(list(ErrorClass)).map(
    lambda e: ReadError(e, "drawn")))
INTERVAL = 10.0
RETRY = RetrySettings(config_hold_off=120.0, busy_attempts=3, busy_backoff=0.5,
                      busy_backoff_max=4.0)


def run_attempt(policy: RetryPolicy, clock: SimClock, answers: list[Outcome],
                deadline: float, key: str = "block") -> tuple[Outcome, int, list[float]]:
    sent_at: list[float] = []

    async def request() -> Outcome:
        sent_at.append(clock.now)
        return answers[min(len(sent_at) - 1, len(answers) - 1)]

    outcome, sent = asyncio.run(policy.attempt(key, request, deadline))
    assert sent == len(sent_at)
    return outcome, sent, sent_at


def test_configuration_error_holds_the_block_off_then_asks_once_again() -> None:
    clock = SimClock()
    policy = RetryPolicy(RETRY, clock)
    refused = ReadError(ErrorClass.ILLEGAL_ADDRESS, "exception 02")
    with capture_logs() as logs:
        outcome, sent, _ = run_attempt(policy, clock, [refused], clock.now + INTERVAL)
        assert (outcome, sent) == (refused, 1)
        for _ in range(11):  # 110 s of ticks: nothing sent, the same class reported
            clock.now += INTERVAL
            outcome, sent, _ = run_attempt(policy, clock, [GOOD], clock.now + INTERVAL)
            assert sent == 0
            assert isinstance(outcome, ReadError) and outcome.error is ErrorClass.ILLEGAL_ADDRESS
            assert "held off" in outcome.detail
    # logged loudly, once for the whole hold-off
    assert [(log["log_level"], log["error"]) for log in logs] == [("error", "illegal_address")]
    clock.now += 2 * INTERVAL  # past the 120 s hold-off
    assert run_attempt(policy, clock, [GOOD], clock.now + INTERVAL)[:2] == (GOOD, 1)


def test_busy_is_retried_with_backoff_within_the_interval() -> None:
    clock = SimClock()
    policy = RetryPolicy(RETRY, clock)
    busy = ReadError(ErrorClass.BUSY, "exception 06")
    outcome, sent, _at = run_attempt(policy, clock, [busy, busy, GOOD], clock.now + INTERVAL)
    assert (outcome, sent) == (GOOD, 3)
    assert len(clock.sleeps) == 2  # a backoff before each retry, jittered within its window
    assert 0 <= clock.sleeps[0] <= RETRY.busy_backoff
    assert 0 <= clock.sleeps[1] <= 2 * RETRY.busy_backoff


def test_busy_retries_stop_at_the_attempt_limit_and_the_deadline() -> None:
    clock = SimClock()
    policy = RetryPolicy(RETRY, clock)
    gateway = ReadError(ErrorClass.GATEWAY_TARGET, "exception 0B")
    outcome, sent, _ = run_attempt(policy, clock, [gateway], clock.now + INTERVAL)
    assert (outcome, sent) == (gateway, RETRY.busy_attempts)
    # with no time left in the interval, no retry waits at all
    outcome, sent, _ = run_attempt(policy, clock, [gateway], clock.now)
    assert (outcome, sent) == (gateway, 1)


def test_timeouts_and_connection_errors_are_not_retried_in_the_interval() -> None:
    clock = SimClock()
    policy = RetryPolicy(RETRY, clock)
    for error in (ErrorClass.TIMEOUT, ErrorClass.CONNECTION, ErrorClass.FRAMING,
                  ErrorClass.DEVICE_FAILURE, ErrorClass.OTHER):
        outcome, sent, _ = run_attempt(policy, clock, [ReadError(error, "x"), GOOD],
                                       clock.now + INTERVAL)
        assert sent == 1 and isinstance(outcome, ReadError) and outcome.error is error
        assert policy.held_off("block", clock.now) is None
    assert RetryPolicy.rebuilds(ErrorClass.CONNECTION) and RetryPolicy.rebuilds(ErrorClass.FRAMING)
    assert not RetryPolicy.rebuilds(ErrorClass.TIMEOUT)


class PolicyMachine(RuleBasedStateMachine):
    """Ticks of several blocks with drawn device answers and drawn pauses: the policy never
    sends more than ``busy_attempts`` requests for a block in one interval, never sends during a
    hold-off, and two requests answered by a configuration error are a hold-off apart."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = SimClock()
        self.policy = RetryPolicy(RETRY, self.clock)
        self.config_errors: dict[str, list[float]] = {}
        self.held_until: dict[str, float] = {}
        self.violations: list[str] = []

    @rule(key=st.sampled_from(["a", "b", "c"]), answers=st.lists(outcomes, min_size=1,
                                                                  max_size=5))
    def tick(self, key: str, answers: list[Outcome]) -> None:
        start = self.clock.now
        deadline = start + INTERVAL
        _outcome, sent, at = run_attempt(self.policy, self.clock, answers, deadline, key)
        if sent > RETRY.busy_attempts:
            self.violations.append(f"{key}: {sent} requests in one interval")
        if any(t > deadline for t in at):
            self.violations.append(f"{key}: a request after the interval's end")
        if at and at[0] < self.held_until.get(key, float("-inf")):
            self.violations.append(f"{key}: request during a hold-off")
        for index, when in enumerate(at):
            answer = answers[min(index, len(answers) - 1)]
            if isinstance(answer, ReadError) and answer.error in CONFIGURATION_ERRORS:
                self.config_errors.setdefault(key, []).append(when)
                self.held_until[key] = when + RETRY.config_hold_off
            elif not (isinstance(answer, ReadError) and answer.error in RETRY_LATER_ERRORS):
                assert index == len(at) - 1  # only busy answers are followed by another request
        self.clock.now = max(self.clock.now, start + INTERVAL)  # the next tick

    @rule(seconds=st.sampled_from([0.0, 1.0, 30.0, 119.0, 121.0, 600.0]))
    def pause(self, seconds: float) -> None:
        self.clock.now += seconds

    @invariant()
    def within_limits(self) -> None:
        assert not self.violations, self.violations
        for times in self.config_errors.values():
            assert all(b - a >= RETRY.config_hold_off for a, b in itertools.pairwise(times))


TestPolicyMachine = PolicyMachine.TestCase
TestPolicyMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
