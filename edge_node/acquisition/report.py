"""Report by exception: which good values of a point are worth sending.

Cumulative points (energy, volume: ``QuantityKind.CUMULATIVE``) are sent every interval: their
difference is the consumption, and a dropped reading would only be bridged. Instantaneous points
(power, voltage ...) may be configured with a deadband and a maximum silence, as industrial
gateways do: a value is sent when it differs from the last *sent* value by more than the
deadband (in the quantity's integer unit), or when ``max_silence`` seconds (monotonic) have
passed since the last sent value. The first value after start or after a failure is always sent,
so a recovery is visible. Points without settings are sent every interval.

:class:`ReportFilter` is pure bookkeeping (no clock, no I/O): the caller passes the time.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

from .settings import ReportByException

__all__ = ["ReportFilter"]


@dataclass(slots=True)
class _Last:
    value: int
    at: float


class ReportFilter:
    """Per-point state of report by exception.

    ``settings`` maps a point key (any hashable, the poller uses ``(meter path, point name)``)
    to its :class:`ReportByException`; keys without one always pass.
    """

    def __init__(self, settings: Mapping[Hashable, ReportByException]) -> None:
        self._settings = dict(settings)
        self._last: dict[Hashable, _Last] = {}

    def should_send(self, key: Hashable, value: int, now: float) -> bool:
        """Decide for a good ``value`` of ``key`` read at monotonic ``now`` (seconds); when it is
        to be sent, remember it as the last sent value."""
        rule = self._settings.get(key)
        if rule is None:
            return True
        last = self._last.get(key)
        if (last is not None and abs(value - last.value) <= rule.deadband
                and now - last.at < rule.max_silence):
            return False
        self._last[key] = _Last(value, now)
        return True

    def forget(self, key: Hashable) -> None:
        """Forget ``key``'s last sent value (after a failure): its next good value is sent."""
        self._last.pop(key, None)
