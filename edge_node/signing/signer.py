"""The signer stage: samples in, signed readings committed to the store.

For each poll cycle, :meth:`ReadingSigner.sign_cycle` runs one store transaction:

1. Each sample's meter gets its next ``seq`` (per device and meter, whatever the quantity).
2. A sample whose timestamp is before the meter's last signed timestamp is refused
   (:class:`~edge_node.errors.ClockWentBackwards`, logged, counted on the meter; the caller
   turns it into a gap of class ``clock``): it consumes no seq.
3. A fresh salt (:func:`mrv_core.reading.new_salts`) is drawn, the reading is signed with the
   device key under the chain's EIP-712 domain, its leaf computed from the same struct hash.
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
from mrv_core.eip712 import encode_reading_fields, leaf_from_struct_hash, typed_digest
from mrv_core.errors import ConfigError
from mrv_core.hashing import keccak_256
from mrv_core.keys import DeviceKey
from mrv_core.quantities import QUANTITIES, QuantityKind
from mrv_core.reading import new_salts

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
    refused samples with their errors, the counter decreases seen, and the seq each sample got
    (``seqs[i]`` for ``samples[i]``; None: refused, it consumed no seq)."""

    ordinals: tuple[int, ...]
    refused: tuple[ClockWentBackwards, ...]
    counter_events: tuple[CounterEvent, ...]
    seqs: tuple[int | None, ...] = ()


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

        This is the node's hot path, where a reading costs a little more than its signature
        (``make bench`` section 7): the cycle's meters and baselines are read once and written
        back once, each with one statement on the driver, the two bulk inserts are plain
        ``executemany`` (one per table per cycle), the salts come from one read of the CSPRNG,
        and the struct hash is encoded from the sample's fields, which :class:`Sample` checked
        when it was made, rather than through a second check in a ``Reading``."""
        refused: list[ClockWentBackwards] = []
        events: list[CounterEvent] = []
        seqs: list[int | None] = []
        device, domain, sign = self._key.address, self._store.domain, self._key.sign_digest
        skew = self._settings.max_clock_skew_s
        salts = new_salts(len(samples))
        with self._store.write() as session:
            connection = session.connection()
            anchor_time = connection.scalar(select(func.max(OutboxRow.block_timestamp)))
            behind = -1 if anchor_time is None else anchor_time - skew
            meters = _load_meters(session, {s.meter_path for s in samples})
            baselines = _load_baselines(connection, [m.id for m in meters.values()])
            first = Store.next_ordinal(session)
            leaves: list[tuple[Any, ...]] = []
            readings: list[tuple[Any, ...]] = []
            for sample, salt in zip(samples, salts, strict=True):
                meter = meters[sample.meter_path]
                timestamp = sample.timestamp
                if meter.last_timestamp is not None and timestamp < meter.last_timestamp:
                    meter.clock_refusals += 1
                    refused.append(ClockWentBackwards(sample.meter_path, meter.last_timestamp,
                                                      timestamp))
                    seqs.append(None)
                    continue
                seq = meter.next_seq
                seqs.append(seq)
                event = _counter(meter, baselines, sample, seq)
                if event is not None:
                    events.append(event)
                meter.next_seq = seq + 1
                meter.last_timestamp = timestamp
                hashed = keccak_256(encode_reading_fields(
                    device, meter.meter_id, seq, timestamp, sample.quantity, sample.value,
                    salt)).digest()
                ordinal = first + len(leaves)
                flags = int(Flag.CLOCK_BEHIND) if timestamp < behind else 0
                # In the column order of _LEAF_COLUMNS and _READING_COLUMNS.
                leaves.append((ordinal, device, "reading", leaf_from_struct_hash(hashed),
                               timestamp, timestamp, now, None, flags))
                readings.append((ordinal, device, meter.id, seq, timestamp, sample.quantity,
                                 str(sample.value), salt,
                                 sign(typed_digest(hashed, domain)), sample.point,
                                 pack_registers(sample.raw_registers),
                                 None if event is None else event.kind))
            _save(connection, meters, baselines)
            _insert_rows(connection, _LEAVES, _LEAF_COLUMNS, leaves)
            _insert_rows(connection, _READINGS, _READING_COLUMNS, readings)
            self._crash.reached("signed-before-commit")
        for error in refused:
            self._log.warning("sample_refused", error_class="clock", meter=error.meter_path,
                              previous=error.previous, timestamp=error.actual)
        for event in events:
            log = self._log.warning if event.kind == UNEXPLAINED else self._log.info
            log("counter_decrease", meter=event.meter_path, quantity=event.quantity,
                seq=event.seq, previous=str(event.previous), value=str(event.value),
                classified=event.kind)
        return CycleResult(ordinals=tuple(row[0] for row in readings),
                           refused=tuple(refused), counter_events=tuple(events),
                           seqs=tuple(seqs))


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
_BASELINE_COLUMNS = ("meter_pk", "quantity", "last_timestamp", "last_value")
_LEAF_COLUMNS = ("ordinal", "device", "kind", "leaf", "time_from", "time_to", "committed_at",
                 "batch_seq", "flags")
_READING_COLUMNS = ("ordinal", "device", "meter_pk", "seq", "timestamp", "quantity", "value",
                    "salt", "signature", "point", "raw_registers", "counter_event")
_METERS = Base.metadata.tables[MeterRow.__tablename__]
_BASELINES = Base.metadata.tables[MeterQuantityRow.__tablename__]
_LEAVES = Base.metadata.tables[LeafRow.__tablename__]
_READINGS = Base.metadata.tables[ReadingRow.__tablename__]
_CUMULATIVE = frozenset(code for code, quantity in QUANTITIES.items()
                        if quantity.kind is QuantityKind.CUMULATIVE)
#: Bound parameters per ``IN (...)`` statement, well under SQLite's limit (32,766).
_IN_CHUNK = 500


def _check_columns(table: Table, names: tuple[str, ...]) -> None:
    """The hand-written column lists must name every column of the model, once: a column
    added to a model without being written here fails at import, not as a NULL in a row."""
    if sorted(names) != sorted(column.name for column in table.columns):
        raise RuntimeError(f"{table.name}: the signer writes {names}, the model has "
                           f"{tuple(column.name for column in table.columns)}")


for _table, _names in ((_LEAVES, _LEAF_COLUMNS), (_READINGS, _READING_COLUMNS),
                       (_BASELINES, _BASELINE_COLUMNS)):
    _check_columns(_table, _names)


def _select_in(connection: Connection, table: Table, columns: tuple[str, ...], key: str,
               values: Sequence[Any]) -> list[tuple[Any, ...]]:
    """``SELECT columns FROM table WHERE key IN values`` on the driver, in chunks: the rows as
    plain tuples, in stored form."""
    rows: list[tuple[Any, ...]] = []
    for i in range(0, len(values), _IN_CHUNK):
        chunk = tuple(values[i:i + _IN_CHUNK])
        statement = (f"SELECT {', '.join(columns)} FROM {table.name} "
                     f"WHERE {key} IN ({', '.join('?' * len(chunk))})")
        rows += connection.exec_driver_sql(statement, chunk).all()
    return rows


def _load_meters(session: Session, paths: set[str]) -> dict[str, _Meter]:
    connection = session.connection()
    found = {row[1]: _Meter(*row)
             for row in _select_in(connection, _METERS, _METER_COLUMNS, "path", sorted(paths))}
    missing = sorted(paths - found.keys())
    if missing:
        for path in missing:
            Store.meter_row(session, path)  # created once, through the one place that does
        found.update({row[1]: _Meter(*row) for row in
                      _select_in(connection, _METERS, _METER_COLUMNS, "path", missing)})
    return found


def _load_baselines(connection: Connection,
                    meter_pks: list[int]) -> dict[tuple[int, str], _Baseline]:
    return {(pk, quantity): _Baseline(pk, quantity, last_timestamp,
                                      None if value is None else int(value), new=False)
            for pk, quantity, last_timestamp, value in
            _select_in(connection, _BASELINES, _BASELINE_COLUMNS, "meter_pk", meter_pks)}


def _insert_rows(connection: Connection, table: Table, columns: tuple[str, ...],
                 rows: list[tuple[Any, ...]]) -> None:
    """``INSERT`` every row (a tuple in the order of ``columns``, values in stored form:
    ``Int256Text`` as its decimal text) with the driver's ``executemany``."""
    if not rows:
        return
    statement = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
                 f"VALUES ({', '.join('?' * len(columns))})")
    connection.exec_driver_sql(statement, rows)


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
    _insert_rows(connection, _BASELINES, _BASELINE_COLUMNS,
                 [(b.meter_pk, b.quantity, b.last_timestamp, _int256_text(b.last_value))
                  for b in new])
    _update_many(connection, _BASELINES, ("meter_pk", "quantity"),
                 ("last_timestamp", "last_value"),
                 [(b.last_timestamp, _int256_text(b.last_value), b.meter_pk, b.quantity)
                  for b in old])


def _int256_text(value: int | None) -> str | None:
    """:class:`~edge_node.store.models.Int256Text`'s stored form."""
    return None if value is None else str(value)


def _counter(meter: _Meter, baselines: dict[tuple[int, str], _Baseline], sample: Sample,
             seq: int) -> CounterEvent | None:
    """Update a cumulative quantity's baseline; classify a decrease. Instantaneous quantities
    have none (nothing compares with their previous value)."""
    if sample.quantity not in _CUMULATIVE:
        return None
    baseline = baselines.get((meter.id, sample.quantity))
    if baseline is None:
        baseline = _Baseline(meter.id, sample.quantity, sample.timestamp, None, new=True)
        baselines[(meter.id, sample.quantity)] = baseline
    previous, previous_time = baseline.last_value, baseline.last_timestamp
    baseline.last_timestamp = sample.timestamp
    baseline.last_value = sample.value
    if previous is None or sample.value >= previous:
        return None
    kind = classify_decrease(previous, sample.value, sample.timestamp - previous_time,
                             sample.rollover)
    if kind == UNEXPLAINED and meter.state != AWAITING_METER_CHANGE:
        meter.state = AWAITING_METER_CHANGE
        meter.state_seq = seq
    return CounterEvent(meter_path=meter.path, quantity=sample.quantity, seq=seq,
                        previous=previous, value=sample.value, kind=kind)
