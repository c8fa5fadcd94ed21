"""Step ``summaries`` of the report bundle verifier: the devices' own signed figures against the
measured lines (docs/protocol.md 11.4).

An edge node signs an ``EmissionSummary`` per meter and period it closes (``edge_node.
summaries``), computed from **every** reading it took with the same counter arithmetic
(``accounting_rules.counters``). The ledger exports those whose period lies inside the report's
beside the evidence (``ledger_api.reports.bundle_export``; step ``evidence`` has checked each is
proven in a batch). Where a device's meter-scope summaries of a line's counter (same device,
meter id, quantity and source) **tile** the report's period, one after another from
``period.start`` to ``period.end``, their activities must add up to the line's ``amount``:
E(end) - E(start) telescopes over any tiling. This catches what the sparse evidence cannot
prove (a fall hidden inside a rising span: a meter change or reset left out with the readings
around it) whenever the summaries are in the bundle.

Rules: summaries of one period that disagree on the activity fail; the tiling is found greedily
(from each point in time the longest summary that starts there and ends within the period, so
hourly and daily summaries mix); a line whose summaries do not tile the period is not
cross-checked (:func:`check_summaries` returns the lines it checked). A bundle without summaries
passes: leaving them out is the enterprise's choice, visible to whoever expects them.

Errors: :class:`~mrv_core.errors.VerificationError` at ``summaries``, naming the line, the
summaries' sum and the line's amount.
"""

from __future__ import annotations

from collections import defaultdict

from mrv_core.codec import format_address
from mrv_core.errors import VerificationError
from mrv_core.records import SCOPE_METER, EmissionSummary

from .bundle import ReportBundle
from .document import MeasuredLine

__all__ = ["check_summaries"]

Key = tuple[bytes, bytes, str, str]  # (device, meter id, quantity, source)


def check_summaries(bundle: ReportBundle) -> tuple[MeasuredLine, ...]:
    """The ``summaries`` step; returns the measured lines whose summaries tile the period (each
    checked equal), in document order."""
    doc = bundle.report
    start, end = doc.period.start, doc.period.end
    by_key: dict[Key, dict[tuple[int, int], int]] = defaultdict(dict)
    for item in bundle.summaries:
        s = item.record
        if not isinstance(s, EmissionSummary) or s.scope_kind != SCOPE_METER:
            continue
        if not start <= s.period_start < s.period_end <= end:
            continue
        periods = by_key[s.device, s.scope_id, s.quantity, s.source]
        known = periods.setdefault((s.period_start, s.period_end), s.activity)
        if known != s.activity:
            raise VerificationError("summaries", f"{item.path} ({format_address(s.device)}): two "
                                                 f"summaries of [{s.period_start}, "
                                                 f"{s.period_end}) give {known} and {s.activity}")
    checked = []
    for line in doc.measured:
        periods = by_key.get((line.device, line.meter, line.quantity, line.source), {})
        total = _tiled(periods, start, end)
        if total is None:
            continue
        if total != line.amount:
            raise VerificationError(
                "summaries", f"{line.meter_path} ({format_address(line.device)}): the device's "
                             f"signed summaries of the period add up to {total} {line.unit}, the "
                             f"line says {line.amount}")
        checked.append(line)
    return tuple(checked)


def _tiled(periods: dict[tuple[int, int], int], start: int, end: int) -> int | None:
    """The sum of the activities of a tiling of ``[start, end)`` by ``periods``, or ``None``."""
    longest: dict[int, tuple[int, int]] = {}
    for (a, b), activity in periods.items():
        if a not in longest or b > longest[a][0]:
            longest[a] = (b, activity)
    total, t = 0, start
    while t < end:
        if t not in longest:
            return None
        t, activity = longest[t]
        total += activity
    return total
