"""Step ``completeness`` of the report bundle verifier: every meter the devices' signed summaries
name for the period is in the report (docs/protocol.md 11.4).

The sparse evidence proves each measured line right, not that a line is missing: a meter left
out of both the plan and the lines verifies (the plan is the enterprise's). The devices know
their meters: an edge node signs an ``EmissionSummary`` per configured meter of an emission
source and per closed period (``edge_node.summaries``), **meter scope** (``scopeKind`` 1: the
meter id, its path beside, a cumulative quantity) and **site scope** (``scopeKind`` 2: the site
id only, no meter named). So, over the bundle's ``summaries`` (each proven in a batch at step
``evidence``) whose period meets the report's ``[start, end)``:

- each meter path a meter-scope summary names must be a ``meterPath`` of the report's ``plan``,
  and a measured line of that (meter path, device) must exist: else the step fails, naming the
  meter, the device and the summaries' span;
- a site-scope summary is the sum of the meter-scope summaries of the same device, source,
  quantity and period (``edge_node.summaries``: the site scope of a source groups every meter the
  node summarizes for it; ``accounting_rules.summaries.summarize`` adds their ``activity`` and
  ``readingCount``). Where the bundle proves a device's site summary and at least one of its
  meter summaries of that key, their sums must match: else the step fails, since a meter's
  summary was left out (a multiproof may prove any subset of a batch's leaves, so leaving one
  out is otherwise invisible);
- what cannot be checked is said, not failed (:meth:`MeterCoverage.warnings`): a bundle with
  no summary of the period checks nothing; a device of the report (of a measured line, or that
  signed a summary) with no meter-scope summary of the period (none, or site scope only) has its
  meters unchecked; a device's meter summaries without the site summary of their key cannot be
  shown complete.

What the summaries do not show: a device whose summaries are left out of the bundle. The
ledger exports the summaries of every device of the enterprise that summarised at the report's
site, lines or not (``ledger_api.reports.summaries.report_devices``), so a device left out of an
honest ledger's report still shows; but which summaries a bundle carries is the enterprise's
choice, visible in these warnings, and the DeviceRegistry lists the devices of a site (chain
step ``device``). The ledger runs the same check over the summaries it holds before it makes
a report (``ledger_api.reports.create``: 422 ``plan``), so it never makes one whose bundle
fails here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mrv_core.codec import format_address
from mrv_core.errors import VerificationError
from mrv_core.records import SCOPE_METER, EmissionSummary, SignedRecord

from .document import ReportDocument

__all__ = ["MeterCoverage", "check_meters"]

#: A summary's device, source, quantity, period start and end: what a site summary and the
#: meter summaries it adds up share.
_Key = tuple[bytes, str, str, int, int]


@dataclass(frozen=True, slots=True)
class MeterCoverage:
    """What step ``completeness`` compared: ``named`` the meter paths the devices' meter-scope
    summaries of the period name (each in the plan, with a line); ``summaries`` how many
    summaries meet the period; ``unchecked`` the devices of the report without a meter-scope
    summary of the period, sorted."""

    named: tuple[str, ...]
    summaries: int
    unchecked: tuple[bytes, ...]
    #: The devices some of whose meter summaries of the period have no site summary of their
    #: source, quantity and period in the bundle to be added up against, sorted.
    unsummed: tuple[bytes, ...] = ()

    def warnings(self) -> tuple[str, ...]:
        """What was not checked, one sentence each."""
        if not self.summaries:
            return ("completeness against the devices' signed summaries not checked: the "
                    "bundle carries no EmissionSummary of the period, so a meter left out of "
                    "both the plan and the lines would not be seen",)
        return (*(f"completeness of device {format_address(device)}'s meters not checked: "
                  "no meter-scope summary of it in the bundle for the period (none, or site "
                  "scope only: no meter named)" for device in self.unchecked),
                *(f"completeness of device {format_address(device)}'s meter summaries not "
                  "checked: the bundle leaves out its site summary of some of their periods, "
                  "so a meter summary left out beside it would not be seen"
                  for device in self.unsummed))


def check_meters(doc: ReportDocument, summaries: Iterable[SignedRecord]) -> MeterCoverage:
    """The ``completeness`` step over a bundle's ``report`` and ``summaries`` (the ledger runs
    it over the summaries it holds before it makes a report); raises
    :class:`VerificationError` at ``completeness`` for the first meter (by path, then device)
    the summaries name and the report leaves out."""
    start, end = doc.period.start, doc.period.end
    spans: dict[tuple[str, bytes], tuple[int, int]] = {}
    devices = {line.device for line in doc.measured}
    met = 0
    sites: dict[_Key, EmissionSummary] = {}
    sums: dict[_Key, tuple[int, int, int]] = {}  # activity, readings, meter summaries
    for item in summaries:
        s = item.record
        if not isinstance(s, EmissionSummary) or not (s.period_start < end and
                                                      start < s.period_end):
            continue
        met += 1
        devices.add(s.device)
        key = (s.device, s.source, s.quantity, s.period_start, s.period_end)
        if s.scope_kind != SCOPE_METER:
            sites[key] = s
            continue
        activity, readings, count = sums.get(key, (0, 0, 0))
        sums[key] = (activity + s.activity, readings + s.reading_count, count + 1)
        first, last = spans.get((item.path, s.device), (s.period_start, s.period_end))
        spans[item.path, s.device] = (min(first, s.period_start), max(last, s.period_end))
    plan = {p.meter_path for p in doc.plan}
    lines = {(line.meter_path, line.device) for line in doc.measured}
    for (path, device), (first, last) in sorted(spans.items()):
        where = (f"{path}: device {format_address(device)} signed summaries of it over "
                 f"[{first}, {last}), in the report's period [{start}, {end})")
        if path not in plan:
            raise VerificationError("completeness", f"{where}, but the report's plan of "
                                                    f"{len(plan)} meter(s) does not list it")
        if (path, device) not in lines:
            raise VerificationError("completeness", f"{where}, but the report has no measured "
                                                    "line of it from that device")
    for key, site in sorted(sites.items()):
        if key not in sums:
            continue  # no meter named: the device is in ``unchecked``
        activity, readings, count = sums[key]
        if (activity, readings) != (site.activity, site.reading_count):
            device, source, quantity, first, last = key
            raise VerificationError(
                "completeness", f"device {format_address(device)}'s site summary of {source} "
                f"({quantity}) over [{first}, {last}) counts {site.activity} from "
                f"{site.reading_count} reading(s); the {count} meter summaries of it in the "
                f"bundle count {activity} from {readings}: a meter's summary is left out")
    named = tuple(sorted({path for path, _ in spans}))
    covered = {device for _, device in spans}
    unsummed = {key[0] for key in sums if key not in sites}
    return MeterCoverage(named, met, tuple(sorted(devices - covered)),
                         tuple(sorted(unsummed)))

