"""The summary task: signed hourly and daily emission summaries per meter and per site.

:meth:`SummaryTask.run_once` (the node calls it periodically, in its store thread) settles, for
each granularity (``hour``, ``day``), each scope and emission source, the closed calendar periods
(``accounting_rules.periods``, in the configured IANA zone, Beijing time by default) in order:

- **scopes**: each configured meter (:class:`SummaryMeter`: its path, emission source, the
  cumulative quantity read for it and the counter's rollover rule), and the node's site
  (``enterprise/site``) once per source, over every configured meter of that source;
- **the first period** of a scope is the first that starts at or after the first reading of its
  counters (the node did not see the start of an earlier one); then each period follows the
  last one settled (the store's ``summaries`` marks);
- **the wait rule**: a period ``[start, end)`` is settled only when ``end <= now`` and every
  counter of the scope has a reading later than ``end`` (so no reading at or before ``end`` can
  still arrive: readings of a meter never go back in time), and the registry was read at a block
  whose time is at or after ``start`` (a version published later cannot take effect before its
  own block, so the version in force at ``start`` is then known for good). Until then the period,
  and every later one of the scope, waits; a late period is settled as soon as its data is there;
- **activity**: each counter's history (``accounting_rules.counters``: the store's signed
  readings of the quantity, with the meter's signed gap records and meter changes) gives the
  period's energy from its boundary readings; ``accounting_rules.summaries.summarize`` computes
  the emissions with the Python calculator and the version in force at the period's start
  (:class:`~edge_node.summaries.methodologies.MethodologyVersions`);
- **signing**: the device signs each ``EmissionSummary`` (``DeviceKey.sign_record``), which is
  stored as a record leaf (committed in the device's batches and sent by the uplink), together
  with its mark, in one transaction: a (scope, source, period) is never signed into the store
  twice, and a restart goes on after the last mark.

A source whose methodology has no version in the registry is skipped with one log line (its
periods wait: if a first version is published later, in force from the past, they are still
summarized). A period that starts before the first version in force, or for which the version in
force has no factor row or no such source, or whose readings retention already pruned (a source
left without a published methodology for longer than ``keep_days``), is marked as settled
without a summary (never invented, never computed from part of its data). A version the node
cannot use (no data file, changed code or spec) and a counter history the arithmetic refuses (an
invalid meter change) make the scope wait, logged once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import structlog

from accounting_rules.counters import (
    CounterChange,
    CounterGap,
    CounterHistory,
    RolloverRule,
    build_history,
)
from accounting_rules.errors import NoFactorForPeriod, UnknownSource
from accounting_rules.periods import BEIJING_ZONE, Granularity, calendar_periods, period_containing
from accounting_rules.summaries import summarize
from mrv_core.errors import MrvError
from mrv_core.keys import DeviceKey
from mrv_core.quantities import QUANTITIES, QuantityKind
from mrv_core.reading import meter_id, new_salt, site_id, validate_site_path
from mrv_core.records import SCOPE_METER, SCOPE_SITE, Gap, MeterChange, SignedRecord

from ..config import NodeConfig
from ..errors import SummaryConfigError
from ..profiles.model import Profile
from ..signing.records import new_record, read_record
from ..store import Store
from ..store.summaries import (
    SummaryMark,
    add_marks,
    counter_first,
    counter_lasts,
    counter_readings,
    meter_records,
    pruned_since,
    summary_cursor,
)
from .methodologies import MethodologyVersions, methodology_for_source, source_unit

__all__ = ["SummaryMeter", "SummarySettings", "SummaryTask", "node_summaries", "summary_meters"]

#: The longest calendar period of either granularity, seconds (a 25-hour day), to bound a run.
_LONGEST_PERIOD_S = 90_000
#: Settled periods are committed together, in transactions of at most about this many marks
#: (one fsync for a whole hour of a thousand meters, yet bounded memory for a backlog).
_MARKS_PER_TRANSACTION = 2_000


@dataclass(frozen=True)
class SummaryMeter:
    """A meter with an emission source: its ``path``, the ``source`` code, the cumulative
    ``quantity`` its energy is read from and the counter's rollover ``rule``."""

    path: str
    source: str
    quantity: str
    rule: RolloverRule


@dataclass(frozen=True)
class SummarySettings:
    """``zone``: IANA zone of the calendar periods; ``granularities``: which periods;
    ``max_periods``: the most periods one run settles per scope, source and granularity (a
    backlog is worked off over several runs, so the store thread is never held long)."""

    zone: str = BEIJING_ZONE
    granularities: tuple[Granularity, ...] = ("hour", "day")
    max_periods: int = 200


@dataclass(frozen=True)
class _Scope:
    kind: int
    path: str
    scope_id: bytes
    source: str
    quantity: str
    methodology_id: str
    meters: tuple[SummaryMeter, ...]


def summary_meters(config: NodeConfig, profiles: Mapping[str, Profile],
                   rules: Mapping[tuple[str, str], RolloverRule | None]) -> list[SummaryMeter]:
    """The meters of ``config.summaries.sources``, each with the one cumulative point of its
    profile (within the meter's ``points``, if given) whose unit is the source's and that is not
    an export register, and that point's rollover rule (``rules`` by (meter path, point name),
    as the node builds them). Raises :class:`SummaryConfigError` for a source no methodology
    covers (:func:`methodology_for_source`) or a meter with no or several such points."""
    found = []
    for meter in config.meters:
        source = config.summaries.sources.get(meter.path)
        if source is None:
            continue
        unit = source_unit(source)
        points = [p for p in profiles[meter.profile].points
                  if (meter.points is None or p.name in meter.points)
                  and QUANTITIES[p.quantity].kind is QuantityKind.CUMULATIVE
                  and QUANTITIES[p.quantity].unit == unit
                  and not p.quantity.split(":")[0].endswith(".export")]
        if len(points) != 1:
            names = ", ".join(p.name for p in points) or "none"
            raise SummaryConfigError(
                f"summaries.sources: meter {meter.path} ({meter.profile}) needs exactly one "
                f"cumulative, non-export point in {unit} for {source}, found {names}")
        rule = rules.get((meter.path, points[0].name))
        if rule is None:
            raise SummaryConfigError(f"meter {meter.path}: no counter rule for point "
                                     f"{points[0].name}")
        found.append(SummaryMeter(meter.path, source, points[0].quantity, rule))
    return found


class SummaryTask:
    """Signs the emission summaries of one device's meters and site (module docstring)."""

    def __init__(self, store: Store, key: DeviceKey, site: str, meters: Sequence[SummaryMeter],
                 versions: MethodologyVersions, settings: SummarySettings | None = None) -> None:
        """Raises :class:`SummaryConfigError` for a meter outside ``site``, a source no
        methodology covers, or one source read from different quantities at the site."""
        validate_site_path(site)
        self.store = store
        self.key = key
        self.site = site
        self.versions = versions
        self.settings = settings or SummarySettings()
        self._log: Any = structlog.get_logger("edge_node.summaries")
        self._told: set[tuple[str, ...]] = set()
        #: Per scope, source and granularity: a cursor and the end of the period after it, so the
        #: minute-by-minute check of a period that cannot be due yet costs no calendar arithmetic.
        self._next_end: dict[tuple[int, str, str, str], tuple[int, int]] = {}
        #: Counter histories of the current run, by (meter path, quantity, window).
        self._histories: dict[tuple[str, str, int, int], CounterHistory] = {}
        #: Per scope, source and granularity: where the next period starts (:meth:`_cursor`).
        self._cursors: dict[tuple[int, str, str, str], int | None] = {}
        scopes: list[_Scope] = []
        by_source: dict[str, list[SummaryMeter]] = {}
        for meter in meters:
            if not meter.path.startswith(site + "/"):
                raise SummaryConfigError(f"meter {meter.path} is not under the site {site}")
            methodology_id = methodology_for_source(meter.source)
            scopes.append(_Scope(SCOPE_METER, meter.path, meter_id(meter.path), meter.source,
                                 meter.quantity, methodology_id, (meter,)))
            by_source.setdefault(meter.source, []).append(meter)
        for source, group in by_source.items():
            quantities = sorted({m.quantity for m in group})
            if len(quantities) != 1:
                raise SummaryConfigError(f"site {site}: source {source} is read from several "
                                         f"quantities ({', '.join(quantities)}); expected one")
            scopes.append(_Scope(SCOPE_SITE, site, site_id(site), source, quantities[0],
                                 methodology_for_source(source), tuple(group)))
        self._scopes = tuple(scopes)

    @property
    def methodology_ids(self) -> tuple[str, ...]:
        """The methodology ids the configured sources need, in first use order."""
        return tuple(dict.fromkeys(s.methodology_id for s in self._scopes))

    def _tell(self, key: tuple[str, ...], event: str, **fields: object) -> None:
        """Log ``event`` once per ``key`` for the task's life."""
        if key not in self._told:
            self._told.add(key)
            self._log.warning(event, **fields)

    def run_once(self, now: int) -> list[SignedRecord]:
        """Settle every period due at ``now`` (Unix seconds; at most ``max_periods`` per scope,
        source and granularity) and return the summaries signed and committed, in order. Marks
        and summaries are committed together, a few thousand per transaction."""
        signed: list[SignedRecord] = []
        settled: list[tuple[SummaryMark, SignedRecord | None]] = []
        self._histories.clear()
        with self.store.read() as session:
            lasts = counter_lasts(session)
        for granularity in self.settings.granularities:
            for scope in self._scopes:
                if not self.versions.published(scope.methodology_id):
                    self._tell(("unpublished", scope.source), "summaries_skipped",
                               source=scope.source, methodology=scope.methodology_id,
                               reason="no version of the methodology is published in the "
                                      "MethodologyRegistry: no summary is made for this source")
                    continue
                settled += self._settle(scope, granularity, now, lasts)
                if len(settled) >= _MARKS_PER_TRANSACTION:
                    signed += self._commit(settled, now)
                    settled = []
        signed += self._commit(settled, now)
        self._histories.clear()
        if signed:
            self._log.info("summaries_signed", count=len(signed))
        return signed

    def _cursor(self, scope: _Scope, granularity: Granularity) -> int | None:
        """Where the scope's next period starts: the end of its last settled period (read once,
        then kept up to date by :meth:`_commit`: the task is the only writer of its marks), or
        the first period's start once :meth:`_due` found it; ``None`` before either."""
        key = (scope.kind, scope.path, scope.source, granularity)
        if key not in self._cursors:
            with self.store.read() as session:
                self._cursors[key] = summary_cursor(session, *key)
        return self._cursors[key]

    def _due(self, scope: _Scope, granularity: Granularity, now: int,
             lasts: Mapping[tuple[str, str], int]) -> tuple[list[tuple[int, int]], int | None]:
        """The periods of ``scope`` to settle now, in order (the first-period and wait rules),
        and the time before which retention pruned readings of one of its counters. ``lasts``:
        every counter's last reading time. Touches the store only when periods are due."""
        last_times = [lasts.get((m.path, scope.quantity)) for m in scope.meters]
        if None in last_times:
            return [], None
        cursor = self._cursor(scope, granularity)
        if cursor is None:
            with self.store.read() as session:
                first = min(t for m in scope.meters
                            if (t := counter_first(session, m.path, scope.quantity)) is not None)
            opening, following = period_containing(first, granularity, self.settings.zone)
            cursor = opening if opening == first else following
            self._cursors[(scope.kind, scope.path, scope.source, granularity)] = cursor
        last = min(t for t in last_times if t is not None)
        limit = min(now, last - 1, cursor + self.settings.max_periods * _LONGEST_PERIOD_S)
        key = (scope.kind, scope.path, scope.source, granularity)
        after, next_end = self._next_end.get(key, (cursor, cursor + 1))
        if after == cursor and limit < next_end:  # the next period cannot be due yet
            return [], None
        periods = calendar_periods(cursor, limit, granularity, self.settings.zone)
        if not periods:
            self._next_end[key] = (cursor, period_containing(cursor, granularity,
                                                             self.settings.zone)[1])
        due = [p for p in periods if p[0] <= self.versions.as_of][:self.settings.max_periods]
        if not due:
            return [], None
        with self.store.read() as session:
            pruned = [t for m in scope.meters
                      if (t := pruned_since(session, m.path, scope.quantity)) is not None]
        return due, max(pruned) if pruned else None

    def _history(self, meter: SummaryMeter, quantity: str, start: int,
                 end: int) -> CounterHistory:
        """The counter's history over ``[start, end]`` (with its boundary reading); built once
        per run and window, for the meter's scope and its site's."""
        key = (meter.path, quantity, start, end)
        if key not in self._histories:
            self._histories[key] = self._build_history(meter, quantity, start, end)
        return self._histories[key]

    def _build_history(self, meter: SummaryMeter, quantity: str, start: int,
                       end: int) -> CounterHistory:
        with self.store.read() as session:
            readings = counter_readings(session, meter.path, quantity, start, end)
            since = readings[0].timestamp if readings else start
            stored = meter_records(session, meter.path, ("gap", "meter_change"), since)
        gaps, changes = [], []
        for item in stored:
            record = read_record(item).record
            if isinstance(record, Gap) and record.quantity == quantity:
                gaps.append(CounterGap.of(record))
            elif isinstance(record, MeterChange) and record.quantity == quantity:
                changes.append(CounterChange.of(record))
        return build_history(readings, meter.rule, meter_changes=changes, gaps=gaps)

    def _settle(self, scope: _Scope, granularity: Granularity, now: int,
                lasts: Mapping[tuple[str, str], int]
                ) -> list[tuple[SummaryMark, SignedRecord | None]]:
        """Sign or mark the due periods of ``scope`` in order, stopping at the first that must
        wait; :meth:`run_once` commits them all in one transaction (:meth:`_commit`)."""
        periods, pruned = self._due(scope, granularity, now, lasts)
        if not periods:
            return []
        if pruned is not None and periods[0][0] < pruned:
            self._tell(("pruned", scope.path, scope.source), "summaries_pruned",
                       scope=scope.path, source=scope.source, readings_from=pruned,
                       reason="retention pruned readings of periods not yet summarized: those "
                              "periods are settled without a summary")
            return [(SummaryMark(scope.kind, scope.path, scope.source, granularity, start, end,
                                 "pruned"), None)
                    for start, end in periods if start < pruned]
        try:
            histories = [self._history(m, scope.quantity, periods[0][0], periods[-1][1])
                         for m in scope.meters]
        except MrvError as exc:  # the counter arithmetic refuses the stored history
            self._tell(("history", scope.path, scope.source, str(exc)), "summaries_waiting",
                       scope=scope.path, source=scope.source, error=str(exc))
            return []
        settled: list[tuple[SummaryMark, SignedRecord | None]] = []
        for start, end in periods:
            version = self.versions.in_force(scope.methodology_id, start)
            mark = SummaryMark(scope.kind, scope.path, scope.source, granularity, start, end,
                               "no_version" if version is None else "signed")
            if version is None:
                settled.append((mark, None))
                continue
            methodology = version.methodology
            mark = replace(mark, methodology=version.resolved.methodology_id,
                           methodology_version=version.resolved.version)
            if methodology is None:
                self._tell(("version", scope.methodology_id, str(version.resolved.version)),
                           "summaries_waiting", source=scope.source, error=version.problem)
                break
            try:
                record = summarize([h.period(start, end) for h in histories],
                                   device=self.key.address, scope_kind=scope.kind,
                                   scope_id=scope.scope_id, source=scope.source,
                                   quantity=scope.quantity, methodology=methodology,
                                   salt=new_salt())
            except NoFactorForPeriod:
                settled.append((replace(mark, outcome="no_factor"), None))
                continue
            except UnknownSource:
                settled.append((replace(mark, outcome="no_source"), None))
                continue
            except MrvError as exc:
                self._tell(("summary", scope.path, scope.source, str(exc)),
                           "summaries_waiting", scope=scope.path, source=scope.source,
                           error=str(exc))
                break
            settled.append((mark, self.key.sign_record(record, self.store.domain, scope.path)))
        return settled

    def _commit(self, settled: Sequence[tuple[SummaryMark, SignedRecord | None]],
                now: int) -> list[SignedRecord]:
        """Store the signed summaries as record leaves and every mark, in one transaction;
        return the summaries."""
        signed = [s for _, s in settled if s is not None]
        if not settled:
            return signed
        with self.store.write() as session:
            ordinals = iter(self.store.add_records(session, [new_record(s) for s in signed],
                                                   now=now))
            add_marks(session, [mark if record is None else replace(mark, ordinal=next(ordinals))
                                for mark, record in settled], now=now)
        for mark, _record in settled:  # committed: the cursors move on
            key = (mark.scope_kind, mark.scope_path, mark.source, mark.granularity)
            self._cursors[key] = max(self._cursors.get(key) or 0, mark.period_end)
        for mark, record in settled:
            if record is None:
                self._log.info("summary_not_made", scope=mark.scope_path, source=mark.source,
                               period_start=mark.period_start, period_end=mark.period_end,
                               reason=mark.outcome)
        return signed



def node_summaries(config: NodeConfig, store: Store, key: DeviceKey,
                   profiles: Mapping[str, Profile],
                   rules: Mapping[tuple[str, str], RolloverRule | None]) -> SummaryTask | None:
    """The node's summary task (``None`` when ``[summaries]`` is disabled or names no source):
    the meters of :func:`summary_meters`, the node's site, the zone of ``[summaries]``, and an
    empty table of methodology versions for the node to :meth:`~MethodologyVersions.refresh`.
    Raises :class:`SummaryConfigError` as :func:`summary_meters` does."""
    if not config.summaries.enabled or not config.summaries.sources:
        return None
    meters = summary_meters(config, profiles, rules)
    ids = [methodology_for_source(m.source) for m in meters]
    return SummaryTask(store, key, config.device.site, meters, MethodologyVersions(ids),
                       SummarySettings(zone=config.summaries.timezone))
