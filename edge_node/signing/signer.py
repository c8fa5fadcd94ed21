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
from sqlalchemy import Connection, Table, func, select
from sqlalchemy.orm import Session

from accounting_rules.counters import RolloverRule
from mrv_core.eip712 import leaf_from_struct_hash, struct_hash, typed_digest
from mrv_core.errors import ConfigError
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

    def __post_init__(self) -> None:
        if type(self.max_clock_skew_s) is not int or self.max_clock_skew_s < 0:
            raise ConfigError(f"max_clock_skew_s must be an int >= 0, got "
                              f"{self.max_clock_skew_s!r}")


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

        The rows are read and written with SQLAlchemy Core statements, and the two bulk inserts
        as plain ``executemany`` on the driver (one per table per cycle), not through the ORM's
        unit of work: a cycle of a thousand meters is a handful of statements, and storing a
        reading costs a fraction of signing it."""
        refused: list[ClockWentBackwards] = []
        events: list[CounterEvent] = []
        with self._store.write() as session:
            connection = session.connection()
            anchor_time = connection.scalar(select(func.max(OutboxRow.block_timestamp)))
            meters = _load_meters(session, {s.meter_path for s in samples})
            baselines = _load_baselines(connection, [m.id for m in meters.values()])
            first = Store.next_ordinal(session)
            leaves: list[dict[str, Any]] = []
            readings: list[dict[str, Any]] = []
            for sample in samples:
                meter = meters[sample.meter_path]
                if meter.last_timestamp is not None and sample.timestamp < meter.last_timestamp:
                    meter.clock_refusals += 1
                    refused.append(ClockWentBackwards(sample.meter_path, meter.last_timestamp,
                                                      sample.timestamp))
                    continue
                seq = meter.next_seq
                event = _counter(meter, baselines, sample, seq)
                if event is not None:
                    events.append(event)
                meter.next_seq = seq + 1
                meter.last_timestamp = sample.timestamp
                reading = Reading(device=self._key.address, meter=meter.meter_id, seq=seq,
                                  timestamp=sample.timestamp, quantity=sample.quantity,
                                  value=sample.value, salt=new_salt())
                hashed = struct_hash(reading)
                flags = Flag(0)
                if (anchor_time is not None
                        and sample.timestamp < anchor_time - self._settings.max_clock_skew_s):
                    flags |= Flag.CLOCK_BEHIND
                ordinal = first + len(leaves)
                leaves.append({"ordinal": ordinal, "device": reading.device, "kind": "reading",
                               "leaf": leaf_from_struct_hash(hashed),
                               "time_from": sample.timestamp, "time_to": sample.timestamp,
                               "committed_at": now, "batch_seq": None, "flags": int(flags)})
                readings.append({
                    "ordinal": ordinal, "device": reading.device, "meter_pk": meter.id,
                    "seq": seq, "timestamp": sample.timestamp, "quantity": sample.quantity,
                    "value": _int256_text(sample.value), "salt": reading.salt,
                    "signature": self._key.sign_digest(typed_digest(hashed, self._store.domain)),
                    "point": sample.point, "raw_registers": pack_registers(sample.raw_registers),
                    "counter_event": None if event is None else event.kind})
            _save(connection, meters, baselines)
            _insert_many(connection, _LEAVES, leaves)
            _insert_many(connection, _READINGS, readings)
            self._crash.reached("signed-before-commit")
        for error in refused:
            self._log.warning("sample_refused", error_class="clock", meter=error.meter_path,
                              previous=error.previous, timestamp=error.actual)
        for event in events:
            log = self._log.warning if event.kind == UNEXPLAINED else self._log.info
            log("counter_decrease", meter=event.meter_path, quantity=event.quantity,
                seq=event.seq, previous=str(event.previous), value=str(event.value),
                classified=event.kind)
        return CycleResult(ordinals=tuple(r["ordinal"] for r in readings),
                           refused=tuple(refused), counter_events=tuple(events))


# -- the cycle's working state: plain values read once, written back once ------------------------


@dataclass(slots=True)
class _Meter:
    id: int
    path: str
    meter_id: bytes
    next_seq: int
    last_timestamp: int | None
    state: str
    state_seq: int | None
    clock_refusals: int


@dataclass(slots=True)
class _Baseline:
    meter_pk: int
    quantity: str
    last_timestamp: int
    last_value: int | None
    new: bool


_METER_COLUMNS = ("id", "path", "meter_id", "next_seq", "last_timestamp", "state", "state_seq",
                  "clock_refusals")
_METERS = Base.metadata.tables[MeterRow.__tablename__]
_BASELINES = Base.metadata.tables[MeterQuantityRow.__tablename__]
_LEAVES = Base.metadata.tables[LeafRow.__tablename__]
_READINGS = Base.metadata.tables[ReadingRow.__tablename__]


def _load_meters(session: Session, paths: set[str]) -> dict[str, _Meter]:
    connection = session.connection()
    query = select(*(_METERS.c[name] for name in _METER_COLUMNS))
    found = {row.path: _Meter(*row) for row in
             connection.execute(query.where(_METERS.c.path.in_(paths)))}
    missing = sorted(paths - found.keys())
    if missing:
        for path in missing:
            Store.meter_row(session, path)  # created once, through the one place that does
        found.update({row.path: _Meter(*row) for row in
                      connection.execute(query.where(_METERS.c.path.in_(missing)))})
    return found


def _load_baselines(connection: Connection,
                    meter_pks: list[int]) -> dict[tuple[int, str], _Baseline]:
    rows = connection.execute(select(_BASELINES.c.meter_pk, _BASELINES.c.quantity,
                                     _BASELINES.c.last_timestamp, _BASELINES.c.last_value)
                              .where(_BASELINES.c.meter_pk.in_(meter_pks)))
    return {(r.meter_pk, r.quantity): _Baseline(*r, new=False) for r in rows}


def _insert_many(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """``INSERT`` every row with the driver's ``executemany``: values must already be in their
    stored form (``Int256Text`` as its decimal text). The column list comes from the table, so
    it cannot drift from the models; a missing key raises ``KeyError``."""
    if not rows:
        return
    names = [column.name for column in table.columns]
    statement = (f"INSERT INTO {table.name} ({', '.join(names)}) "
                 f"VALUES ({', '.join('?' * len(names))})")
    connection.exec_driver_sql(statement, [tuple(row[name] for name in names) for row in rows])


def _update_many(connection: Connection, table: Table, keys: tuple[str, ...],
                 values: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """``UPDATE table SET values WHERE keys`` with the driver's ``executemany``; each row is the
    values then the keys, in stored form."""
    if not rows:
        return
    unknown = [name for name in (*keys, *values) if name not in table.c]
    if unknown:
        raise KeyError(f"{table.name} has no column {', '.join(unknown)}")
    statement = (f"UPDATE {table.name} SET {', '.join(f'{v} = ?' for v in values)} "
                 f"WHERE {' AND '.join(f'{k} = ?' for k in keys)}")
    connection.exec_driver_sql(statement, rows)


def _save(connection: Connection, meters: dict[str, _Meter],
          baselines: dict[tuple[int, str], _Baseline]) -> None:
    """Write the cycle's meter and baseline state back: one executemany per statement."""
    columns = _METER_COLUMNS[3:]
    _update_many(connection, _METERS, ("id",), columns,
                 [(*(getattr(m, name) for name in columns), m.id) for m in meters.values()])
    new = [b for b in baselines.values() if b.new]
    old = [b for b in baselines.values() if not b.new]
    if new:
        _insert_many(connection, _BASELINES, [
            {"meter_pk": b.meter_pk, "quantity": b.quantity, "last_timestamp": b.last_timestamp,
             "last_value": _int256_text(b.last_value)} for b in new])
    _update_many(connection, _BASELINES, ("meter_pk", "quantity"),
                 ("last_timestamp", "last_value"),
                 [(b.last_timestamp, _int256_text(b.last_value), b.meter_pk, b.quantity)
                  for b in old])


def _int256_text(value: int | None) -> str | None:
    """:class:`~edge_node.store.models.Int256Text`'s stored form."""
    return None if value is None else str(value)


def _counter(meter: _Meter, baselines: dict[tuple[int, str], _Baseline], sample: Sample,
             seq: int) -> CounterEvent | None:
    """Update the per-quantity baseline; classify a cumulative counter's decrease."""
    cumulative = QUANTITIES[sample.quantity].kind is QuantityKind.CUMULATIVE
    baseline = baselines.get((meter.id, sample.quantity))
    if baseline is None:
        baseline = _Baseline(meter.id, sample.quantity, sample.timestamp, None, new=True)
        baselines[(meter.id, sample.quantity)] = baseline
    previous, previous_time = baseline.last_value, baseline.last_timestamp
    baseline.last_timestamp = sample.timestamp
    baseline.last_value = sample.value if cumulative else None
    if not cumulative or previous is None or sample.value >= previous:
        return None
    kind = classify_decrease(previous, sample.value, sample.timestamp - previous_time,
                             sample.rollover)
    if kind == UNEXPLAINED and meter.state != AWAITING_METER_CHANGE:
        meter.state = AWAITING_METER_CHANGE
        meter.state_seq = seq
    return CounterEvent(meter_path=meter.path, quantity=sample.quantity, seq=seq,
                        previous=previous, value=sample.value, kind=kind)
