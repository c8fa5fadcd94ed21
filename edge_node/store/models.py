"""The edge store's tables, as SQLAlchemy 2 typed models.

One SQLite file per device. Every signed item (a reading, or a record: gap, meter change,
emission summary...) is one row of ``leaves``, numbered by ``ordinal`` in commit order, with its
Merkle leaf hash and, once batched, its ``batch_seq``; the item's own columns sit in ``readings``
or ``records`` under the same ordinal. Batching, the uplink cursor and retention work on
``leaves`` alone, whatever the kind.

Integers that may exceed SQLite's 64-bit INTEGER are never stored in one: an ``int256`` reading
value is its canonical decimal text (:class:`Int256Text`). Timestamps and sequence numbers are
``uint64`` in the protocol; the store keeps them in INTEGER columns and the signer refuses values
at or above 2**63 (a Unix time past the year 292 billion, a seq no meter reaches).
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import (
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from mrv_core.batch import BatchHeader
from mrv_core.codec import INT256_MAX, INT256_MIN

__all__ = [
    "Base",
    "BatchRow",
    "Flag",
    "Int256Text",
    "LeafRow",
    "MeterQuantityRow",
    "MeterRow",
    "NodeRow",
    "OutboxRow",
    "ReadingRow",
    "RecordRow",
    "SignedHeaderColumns",
    "SummaryRow",
    "UplinkAckRow",
]


class Int256Text(TypeDecorator[int]):
    """An ``int256`` stored exactly, as its canonical base-10 text (no float, no truncation)."""

    impl = String(80)
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if type(value) is not int or not INT256_MIN <= value <= INT256_MAX:
            raise ValueError(f"an int256 column takes an int in [-2**255, 2**255 - 1], got "
                             f"{value!r:.80}")
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


class Flag(enum.IntFlag):
    """Marks on a leaf, for verifiers and operators (THREATS.md, clock rule)."""

    #: The timestamp is earlier than the previous anchor's block time minus the allowed skew
    #: (set when signed).
    CLOCK_BEHIND = 1
    #: The time span ends after its batch's anchor block time plus the allowed skew (set when
    #: the batch is anchored).
    CLOCK_AHEAD = 2


class Base(DeclarativeBase):
    pass


class NodeRow(Base):
    """Facts the store is bound to (``device``, ``chain_id``, ``verifying_contract``), and
    run state kept across a crash (``polling_stopped_at``: ``Store.polling_stopped_at``)."""

    __tablename__ = "node"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MeterRow(Base):
    """One physical meter at one ISA-95 path, and its signing state."""

    __tablename__ = "meters"
    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(256), unique=True)
    meter_id: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    #: The seq the next reading of this meter gets (per (device, meter), any quantity).
    next_seq: Mapped[int] = mapped_column(default=0)
    #: Timestamp of the last signed reading of any quantity: none may go backwards.
    last_timestamp: Mapped[int | None]
    #: ``ok`` or ``awaiting_meter_change`` (an unexplained counter decrease was seen).
    state: Mapped[str] = mapped_column(String(32), default="ok")
    #: The reading that put the meter in its state (its seq), for the operator.
    state_seq: Mapped[int | None]
    #: Samples refused because their timestamp went backwards (THREATS.md clock rule).
    clock_refusals: Mapped[int] = mapped_column(default=0)


class MeterQuantityRow(Base):
    """Per meter and quantity: the last signed time and, for a cumulative quantity, value."""

    __tablename__ = "meter_quantities"
    meter_pk: Mapped[int] = mapped_column(ForeignKey("meters.id"), primary_key=True)
    quantity: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_timestamp: Mapped[int]
    last_value: Mapped[int | None] = mapped_column(Int256Text)


class LeafRow(Base):
    """One signed item of the device, whatever its kind, in commit order."""

    __tablename__ = "leaves"
    ordinal: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    device: Mapped[bytes] = mapped_column(LargeBinary(20))
    #: ``reading`` or a record kind (``gap``, ``meter_change``, ``emission_summary``...).
    kind: Mapped[str] = mapped_column(String(32))
    leaf: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: The measurement time span the item covers (a reading: its timestamp twice).
    time_from: Mapped[int]
    time_to: Mapped[int]
    #: Local Unix time of the commit (batch age is measured from the oldest unbatched leaf).
    committed_at: Mapped[int]
    batch_seq: Mapped[int | None]
    #: Bit set of :class:`Flag`.
    flags: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_leaves_unbatched", "device", "batch_seq", "ordinal"),)


class ReadingRow(Base):
    """A signed reading: the struct's fields, salt, signature, and the raw registers behind it."""

    __tablename__ = "readings"
    ordinal: Mapped[int] = mapped_column(ForeignKey("leaves.ordinal"), primary_key=True,
                                         autoincrement=False)
    device: Mapped[bytes] = mapped_column(LargeBinary(20))
    meter_pk: Mapped[int] = mapped_column(ForeignKey("meters.id"))
    seq: Mapped[int]
    timestamp: Mapped[int]
    quantity: Mapped[str] = mapped_column(String(32))
    value: Mapped[int] = mapped_column(Int256Text)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(65))
    #: The profile point read (``import_energy``...).
    point: Mapped[str] = mapped_column(String(64))
    #: The 16-bit registers as read, in wire order, two big-endian bytes each.
    raw_registers: Mapped[bytes] = mapped_column(LargeBinary)
    #: ``rollover`` or ``unexplained_decrease`` when the counter went down, else NULL.
    counter_event: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (UniqueConstraint("device", "meter_pk", "seq", name="uq_reading_seq"),
                      Index("ix_readings_meter_time", "meter_pk", "timestamp"))


class RecordRow(Base):
    """A signed record (gap, meter change, emission summary...), kept generically: its kind,
    its canonical wire JSON text (the records' codec in ``mrv_core`` reads it back) and its
    signature; meter and timestamp are copied out for queries."""

    __tablename__ = "records"
    ordinal: Mapped[int] = mapped_column(ForeignKey("leaves.ordinal"), primary_key=True,
                                         autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    meter_pk: Mapped[int | None] = mapped_column(ForeignKey("meters.id"))
    timestamp: Mapped[int]
    signature: Mapped[bytes] = mapped_column(LargeBinary(65))
    wire: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_records_meter_time", "meter_pk", "timestamp"),)


class SignedHeaderColumns:
    """The columns of a batch header and the device's signature over it, keyed by (device,
    batch_seq): the store's batches and the relayer's jobs."""

    device: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    batch_seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    leaf_count: Mapped[int]
    from_timestamp: Mapped[int]
    to_timestamp: Mapped[int]
    signature: Mapped[bytes] = mapped_column(LargeBinary(65))

    def header(self) -> BatchHeader:
        return BatchHeader(device=self.device, batch_seq=self.batch_seq, root=self.root,
                           leaf_count=self.leaf_count, from_timestamp=self.from_timestamp,
                           to_timestamp=self.to_timestamp)


class BatchRow(SignedHeaderColumns, Base):
    """A closed batch: the header the device signed, and whether it is anchored final."""

    __tablename__ = "batches"
    closed_at: Mapped[int]
    #: ``closed``, then ``anchored`` once its outbox row is final.
    state: Mapped[str] = mapped_column(String(16), default="closed")


class OutboxRow(Base):
    """The anchoring of one batch: pending -> sent(nonce, tx hash) -> final."""

    __tablename__ = "outbox"
    device: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    batch_seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    nonce: Mapped[int | None]
    tx_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    block_number: Mapped[int | None]
    block_timestamp: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[int]

    __table_args__ = (ForeignKeyConstraint(["device", "batch_seq"],
                                           ["batches.device", "batches.batch_seq"]),
                      Index("ix_outbox_state", "state", "batch_seq"))


class UplinkAckRow(Base):
    """How far the ledger API acknowledged one stream (``leaves`` by ordinal, ``batches`` by
    batch_seq): everything up to and including ``through``."""

    __tablename__ = "uplink_acks"
    stream: Mapped[str] = mapped_column(String(16), primary_key=True)
    through: Mapped[int]
    acknowledged_at: Mapped[int]


class SummaryRow(Base):
    """One (scope, emission source, period) the summary task settled, so that none is signed
    twice and a restart goes on where it stopped (``edge_node.summaries``): ``signed`` (the
    ``EmissionSummary`` leaf's ``ordinal``, methodology id and version) or skipped for good
    (``no_version``: the period starts before the source's methodology's first version;
    ``no_factor`` / ``no_source``: the version in force has no factor row for the period, or no
    such source; ``pruned``: retention removed the readings it needs). ``scope_path`` is the
    meter path (``scope_kind`` 1) or the site path ``enterprise/site`` (2). ``ordinal`` is not a
    foreign key: retention may prune the leaf, the mark stays."""

    __tablename__ = "summaries"
    scope_kind: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    scope_path: Mapped[str] = mapped_column(String(256), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    period_start: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    period_end: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: ``hour`` or ``day``.
    granularity: Mapped[str] = mapped_column(String(8))
    #: ``signed``, ``no_version``, ``no_factor``, ``no_source`` or ``pruned``.
    outcome: Mapped[str] = mapped_column(String(16))
    ordinal: Mapped[int | None]
    methodology: Mapped[str | None] = mapped_column(String(32))
    methodology_version: Mapped[int | None]
    #: Local Unix time the period was settled.
    settled_at: Mapped[int]

    __table_args__ = (Index("ix_summaries_cursor", "scope_kind", "scope_path", "source",
                            "granularity", "period_end"),)
