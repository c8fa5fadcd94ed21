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
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from accounting_rules.counters import RolloverRule
from mrv_core.eip712 import leaf_from_struct_hash, struct_hash, typed_digest
from mrv_core.keys import DeviceKey
from mrv_core.quantities import QUANTITIES, QuantityKind
from mrv_core.reading import Reading, new_salt

from .._internal.crashpoints import NEVER, CrashPoints
from ..errors import ClockWentBackwards, StoreMismatch
from ..store import AWAITING_METER_CHANGE, Flag, Store, pack_registers
from ..store.models import LeafRow, MeterQuantityRow, MeterRow, OutboxRow, ReadingRow
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
        Unix time (batch age counts from it). Returns what was committed and refused."""
        refused: list[ClockWentBackwards] = []
        events: list[CounterEvent] = []
        with self._store.write() as session:
            anchor_time = session.scalar(select(func.max(OutboxRow.block_timestamp)))
            meters = self._meters(session, {s.meter_path for s in samples})
            baselines = self._baselines(session, [m.id for m in meters.values()])
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
                event = self._counter(session, meter, baselines, sample, seq)
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
                    "value": sample.value, "salt": reading.salt,
                    "signature": self._key.sign_digest(typed_digest(hashed, self._store.domain)),
                    "point": sample.point, "raw_registers": pack_registers(sample.raw_registers),
                    "counter_event": None if event is None else event.kind})
            if leaves:
                session.execute(insert(LeafRow), leaves)
                session.execute(insert(ReadingRow), readings)
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

    # -- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _meters(session: Session, paths: set[str]) -> dict[str, MeterRow]:
        found = {m.path: m for m in session.scalars(select(MeterRow)
                                                    .where(MeterRow.path.in_(paths)))}
        for path in sorted(paths - found.keys()):
            found[path] = Store.meter_row(session, path)
        return found

    @staticmethod
    def _baselines(session: Session,
                   meter_pks: list[int]) -> dict[tuple[int, str], MeterQuantityRow]:
        rows = session.scalars(select(MeterQuantityRow)
                               .where(MeterQuantityRow.meter_pk.in_(meter_pks)))
        return {(row.meter_pk, row.quantity): row for row in rows}

    @staticmethod
    def _counter(session: Session, meter: MeterRow,
                 baselines: dict[tuple[int, str], MeterQuantityRow], sample: Sample,
                 seq: int) -> CounterEvent | None:
        """Update the per-quantity baseline; classify a cumulative counter's decrease."""
        cumulative = QUANTITIES[sample.quantity].kind is QuantityKind.CUMULATIVE
        row = baselines.get((meter.id, sample.quantity))
        if row is None:
            row = MeterQuantityRow(meter_pk=meter.id, quantity=sample.quantity,
                                   last_timestamp=sample.timestamp, last_value=None)
            session.add(row)
            baselines[(meter.id, sample.quantity)] = row
        previous, previous_time = row.last_value, row.last_timestamp
        row.last_timestamp = sample.timestamp
        row.last_value = sample.value if cumulative else None
        if not cumulative or previous is None or sample.value >= previous:
            return None
        kind = classify_decrease(previous, sample.value, sample.timestamp - previous_time,
                                 sample.rollover)
        if kind == UNEXPLAINED and meter.state != AWAITING_METER_CHANGE:
            meter.state = AWAITING_METER_CHANGE
            meter.state_seq = seq
        return CounterEvent(meter_path=meter.path, quantity=sample.quantity, seq=seq,
                            previous=previous, value=sample.value, kind=kind)
