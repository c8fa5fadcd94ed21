"""The signer stage: samples in, signed readings committed to the store.

For each poll cycle, :meth:`ReadingSigner.sign_cycle` runs one store transaction:

1. Each sample's meter gets its next ``seq`` (per device and meter, whatever the quantity).
2. A sample whose timestamp is before the meter's last signed timestamp is refused
   (:class:`~edge_node.errors.ClockWentBackwards`, logged, counted on the meter; the caller
   turns it into a gap of class ``clock``): it consumes no seq.
3. A fresh salt (:func:`mrv_core.new_salt`) is drawn, the reading is signed with the device key
   under the chain's EIP-712 domain, its leaf computed from the same struct hash.
4. A reading earlier than the previous anchor's block time minus the allowed clock skew is
   flagged :attr:`~edge_node.store.Flag.CLOCK_BEHIND` (THREATS.md: readings outside
   (previous anchor, next anchor + skew) are flagged; the upper bound is the anchorer's).
5. A cumulative counter that went down is classified (:func:`classify_decrease`, the rule of
   ``accounting_rules.counters``): a rollover at the counter's width, or an unexplained
   decrease, which puts the meter in ``awaiting_meter_change`` until the operator's signed
   meter-change event; readings go on being signed and stored meanwhile.
6. The readings and the seq advances commit together: a reading counts as taken only then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from accounting_rules.counters import RolloverRule
from mrv_core.eip712 import leaf_from_struct_hash, struct_hash, typed_digest
from mrv_core.keys import DeviceKey
from mrv_core.quantities import QUANTITIES, QuantityKind
from mrv_core.reading import Reading, new_salt

from .._internal.crashpoints import NEVER, CrashPoints
from ..errors import ClockWentBackwards, StoreMismatch
from ..store import AWAITING_METER_CHANGE, Flag, Store, pack_registers
from ..store.models import Base, LeafRow, MeterQuantityRow, MeterRow, OutboxRow, ReadingRow
from .sample import Sample

__all__ = ["CycleResult", "ReadingSigner", "SigningSettings", "classify_decrease"]

ROLLOVER = "rollover"
UNEXPLAINED = "unexplained_decrease"


@dataclass(frozen=True)
class SigningSettings:
    """``max_clock_skew_s``: seconds a timestamp may lie before the previous anchor's block time
    without being flagged; use the AnchorRegistry's ``maxClockSkew`` (300 s in the deployment
    defaults)."""

    max_clock_skew_s: int = 300


@dataclass(frozen=True)
class CounterEvent:
    """A counter decrease seen while signing: which reading, and how it was classified."""

    meter_path: str
    quantity: str
    seq: int
    previous: int
    value: int
    kind: str  # ``rollover`` or ``unexplained_decrease``


@dataclass(frozen=True)
class CycleResult:
    """What one cycle committed: leaf ordinals of the new readings (in sample order), the
    refused samples with their errors, and the counter decreases seen."""

    ordinals: tuple[int, ...]
    refused: tuple[ClockWentBackwards, ...]
    counter_events: tuple[CounterEvent, ...]


def classify_decrease(previous: int, value: int, seconds: int,
                      rule: RolloverRule | None) -> str:
    """Classify a cumulative counter going from ``previous`` down to ``value`` in ``seconds``.

    A rollover exactly when the accounting rule says so (``RolloverRule.is_rollover``: the
    counter wraps and the wrapped increase is plausible at the meter's maximum rate), so the
    node and the ledger's recomputation agree; anything else is an unexplained decrease (a
    reset, a replaced meter) that only an operator's signed meter-change event can explain
    (THREATS.md: never guessed)."""
    if rule is not None and rule.is_rollover(previous, value, seconds):
        return ROLLOVER
    return UNEXPLAINED


class ReadingSigner:
    """Signs and commits samples for one device (see the module docstring)."""

    def __init__(self, store: Store, key: DeviceKey, *,
                 settings: SigningSettings | None = None, crash: CrashPoints = NEVER) -> None:
        if key.address != store.device:
            raise StoreMismatch(f"the key is {key!r}, the store belongs to another device")
        self._store = store
        self._key = key
        self._settings = settings or SigningSettings()
        self._crash = crash
        self._log: Any = structlog.get_logger("edge_node.signing")

    def sign_cycle(self, samples: Sequence[Sample], *, now: int) -> CycleResult:
        """Sign and commit one poll cycle's ``samples`` in one transaction; ``now`` is the local
        Unix time (batch age counts from it). Returns what was committed and refused.

        The meters' and baselines' state is read once, kept in plain dictionaries while the
        cycle is signed, and written back with one executemany per table (SQLAlchemy Core, no
        per-row ORM bookkeeping): the profile of ``python -m benchmarks`` (section 7) put the
        ORM's unit of work at a third of the cycle's time."""
        refused: list[ClockWentBackwards] = []
        events: list[CounterEvent] = []
        key, domain, skew = self._key, self._store.domain, self._settings.max_clock_skew_s
        device = key.address
        with self._store.write() as session:
            anchor_time = session.scalar(select(func.max(OutboxRow.block_timestamp)))
            behind = None if anchor_time is None else anchor_time - skew
            meters = self._meters(session, {s.meter_path for s in samples})
            baselines = self._baselines(session, [m.id for m in meters.values()])
            first = Store.next_ordinal(session)
            leaves: list[tuple[Any, ...]] = []
            readings: list[tuple[Any, ...]] = []
            ordinals: list[int] = []
            for sample in samples:
                meter = meters[sample.meter_path]
                timestamp = sample.timestamp
                if meter.last_timestamp is not None and timestamp < meter.last_timestamp:
                    meter.clock_refusals += 1
                    meter.changed = True
                    refused.append(ClockWentBackwards(sample.meter_path, meter.last_timestamp,
                                                      timestamp))
                    continue
                seq = meter.next_seq
                event = self._counter(meter, baselines, sample, seq)
                if event is not None:
                    events.append(event)
                meter.next_seq = seq + 1
                meter.last_timestamp = timestamp
                meter.changed = True
                salt = new_salt()
                hashed = struct_hash(Reading(device=device, meter=meter.meter_id, seq=seq,
                                             timestamp=timestamp, quantity=sample.quantity,
                                             value=sample.value, salt=salt))
                ordinal = first + len(leaves)
                ordinals.append(ordinal)
                leaves.append((ordinal, device, "reading", leaf_from_struct_hash(hashed),
                               timestamp, timestamp, now, None,
                               Flag.CLOCK_BEHIND.value
                               if behind is not None and timestamp < behind else 0))
                readings.append((
                    ordinal, device, meter.id, seq, timestamp, sample.quantity,
                    str(sample.value), salt, key.sign_digest(typed_digest(hashed, domain)),
                    sample.point, pack_registers(sample.raw_registers),
                    None if event is None else event.kind))
            connection = session.connection()
            _write_back(connection, meters, baselines)
            if leaves:
                connection.exec_driver_sql(_INSERT_LEAVES, leaves)
                connection.exec_driver_sql(_INSERT_READINGS, readings)
            self._crash.reached("signed-before-commit")
        for error in refused:
            self._log.warning("sample_refused", error_class="clock", meter=error.meter_path,
                              previous=error.previous, timestamp=error.actual)
        for event in events:
            log = self._log.warning if event.kind == UNEXPLAINED else self._log.info
            log("counter_decrease", meter=event.meter_path, quantity=event.quantity,
                seq=event.seq, previous=str(event.previous), value=str(event.value),
                classified=event.kind)
        return CycleResult(ordinals=tuple(ordinals),
                           refused=tuple(refused), counter_events=tuple(events))

    # -- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _meters(session: Session, paths: set[str]) -> dict[str, _MeterState]:
        columns = _METERS.c
        found = {row.path: _MeterState(row.id, row.path, row.meter_id, row.next_seq,
                                       row.last_timestamp, row.state, row.state_seq,
                                       row.clock_refusals)
                 for row in session.connection().execute(
                     select(_METERS).where(columns.path.in_(paths)))}
        for path in sorted(paths - found.keys()):
            row = Store.meter_row(session, path)
            found[path] = _MeterState(row.id, row.path, row.meter_id, row.next_seq,
                                      row.last_timestamp, row.state, row.state_seq,
                                      row.clock_refusals)
        return found

    @staticmethod
    def _baselines(session: Session, meter_pks: list[int]) -> dict[tuple[int, str], _Baseline]:
        found: dict[tuple[int, str], _Baseline] = {}
        connection = session.connection()
        for start in range(0, len(meter_pks), _IN_LIMIT):
            chunk = meter_pks[start:start + _IN_LIMIT]
            rows = connection.exec_driver_sql(
                _SELECT_BASELINES.format(", ".join("?" * len(chunk))), tuple(chunk)).fetchall()
            for meter_pk, quantity, last_timestamp, last_value in rows:
                found[(meter_pk, quantity)] = _Baseline(
                    last_timestamp, None if last_value is None else int(last_value))
        return found

    @staticmethod
    def _counter(meter: _MeterState, baselines: dict[tuple[int, str], _Baseline],
                 sample: Sample, seq: int) -> CounterEvent | None:
        """Update the per-quantity baseline; classify a cumulative counter's decrease."""
        cumulative = QUANTITIES[sample.quantity].kind is QuantityKind.CUMULATIVE
        row = baselines.get((meter.id, sample.quantity))
        if row is None:
            row = _Baseline(sample.timestamp, None, new=True)
            baselines[(meter.id, sample.quantity)] = row
        previous, previous_time = row.last_value, row.last_timestamp
        row.last_timestamp = sample.timestamp
        row.last_value = sample.value if cumulative else None
        row.changed = True
        if not cumulative or previous is None or sample.value >= previous:
            return None
        kind = classify_decrease(previous, sample.value, sample.timestamp - previous_time,
                                 sample.rollover)
        if kind == UNEXPLAINED and meter.state != AWAITING_METER_CHANGE:
            meter.state = AWAITING_METER_CHANGE
            meter.state_seq = seq
        return CounterEvent(meter_path=meter.path, quantity=sample.quantity, seq=seq,
                            previous=previous, value=sample.value, kind=kind)


_METERS = MeterRow.__table__


def _sql(model: type[Base], statement: str, *columns: str) -> str:
    """``statement`` with its column names checked against ``model``'s table (a model change
    that renames one fails at import, not at the first commit)."""
    missing = [c for c in columns if c not in model.__table__.c]
    if missing:
        raise AssertionError(f"{model.__name__} has no column {missing}")
    return statement


# The cycle's rows go to SQLite's executemany directly, as positional tuples, inside the
# session's transaction: SQLAlchemy's per-row parameter processing cost as much as signing
# (profile of ``python -m benchmarks``, section 7). The values are the column types' own
# (Int256Text: canonical decimal text; bytes for LargeBinary).
_LEAF_COLUMNS = ("ordinal", "device", "kind", "leaf", "time_from", "time_to", "committed_at",
                 "batch_seq", "flags")
_INSERT_LEAVES = _sql(LeafRow,
                      f"INSERT INTO leaves ({', '.join(_LEAF_COLUMNS)}) "
                      f"VALUES ({', '.join('?' * len(_LEAF_COLUMNS))})", *_LEAF_COLUMNS)
_READING_COLUMNS = ("ordinal", "device", "meter_pk", "seq", "timestamp", "quantity", "value",
                    "salt", "signature", "point", "raw_registers", "counter_event")
_INSERT_READINGS = _sql(ReadingRow,
                        f"INSERT INTO readings ({', '.join(_READING_COLUMNS)}) "
                        f"VALUES ({', '.join('?' * len(_READING_COLUMNS))})", *_READING_COLUMNS)
_UPDATE_METER = _sql(MeterRow, "UPDATE meters SET next_seq = ?, last_timestamp = ?, state = ?, "
                     "state_seq = ?, clock_refusals = ? WHERE id = ?", "next_seq",
                     "last_timestamp", "state", "state_seq", "clock_refusals", "id")
_INSERT_BASELINE = _sql(MeterQuantityRow, "INSERT INTO meter_quantities (meter_pk, quantity, "
                        "last_timestamp, last_value) VALUES (?, ?, ?, ?)", "meter_pk",
                        "quantity", "last_timestamp", "last_value")
#: Bound parameters per ``IN`` list (SQLite's historical limit is 999 per statement).
_IN_LIMIT = 900
_SELECT_BASELINES = _sql(MeterQuantityRow, "SELECT meter_pk, quantity, last_timestamp, last_value "
                         "FROM meter_quantities WHERE meter_pk IN ({})", "meter_pk", "quantity",
                         "last_timestamp", "last_value")
_UPDATE_BASELINE = _sql(MeterQuantityRow, "UPDATE meter_quantities SET last_timestamp = ?, "
                        "last_value = ? WHERE meter_pk = ? AND quantity = ?", "last_timestamp",
                        "last_value", "meter_pk", "quantity")


@dataclass(slots=True)
class _MeterState:
    """A ``meters`` row while a cycle is signed (written back when ``changed``)."""

    id: int
    path: str
    meter_id: bytes
    next_seq: int
    last_timestamp: int | None
    state: str
    state_seq: int | None
    clock_refusals: int
    changed: bool = False


@dataclass(slots=True)
class _Baseline:
    """A ``meter_quantities`` row while a cycle is signed (inserted when ``new``)."""

    last_timestamp: int
    last_value: int | None
    new: bool = False
    changed: bool = False


def _write_back(connection: Connection, meters: dict[str, _MeterState],
                baselines: dict[tuple[int, str], _Baseline]) -> None:
    """The cycle's meter and baseline changes, one executemany per kind of statement."""
    changed = [(m.next_seq, m.last_timestamp, m.state, m.state_seq, m.clock_refusals, m.id)
               for m in meters.values() if m.changed]
    if changed:
        connection.exec_driver_sql(_UPDATE_METER, changed)
    new, moved = [], []
    for (pk, quantity), b in baselines.items():
        value = None if b.last_value is None else str(b.last_value)
        if b.new:
            new.append((pk, quantity, b.last_timestamp, value))
        elif b.changed:
            moved.append((b.last_timestamp, value, pk, quantity))
    if new:
        connection.exec_driver_sql(_INSERT_BASELINE, new)
    if moved:
        connection.exec_driver_sql(_UPDATE_BASELINE, moved)
