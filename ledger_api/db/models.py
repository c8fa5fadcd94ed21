"""The ledger's tables (SQLAlchemy 2 typed models); the schema itself is made only by the
Alembic migrations in ``ledger_api/migrations`` (``mrv api migrate``).

Every signed item a device delivers is one row of ``leaves`` (its Merkle leaf, its kind, the
time span it covers), numbered per device by ``position`` in the order the ledger accepted it;
the item's own fields sit in ``readings`` or ``records`` under the same key. A device's
batches cover consecutive positions: batch ``n`` holds the ``leafCount`` leaves after batch
``n - 1``'s, which is how the edge node (docs/protocol.md 10.5) sends them, and the ingest
rebuilds each batch's root from exactly those leaves before it accepts the header.

Integers of the protocol are stored exactly (:mod:`ledger_api.db.types`): ``seq``, timestamps
and ``batchSeq`` are ``uint64``, a reading's value ``int256``. Times the ledger itself records
(``received_at``) are timezone-aware UTC timestamps.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mrv_core.batch import BatchHeader
from mrv_core.reading import Reading, SignedReading

from .types import Int256, Uint64

__all__ = [
    "COUNTER_BUCKET_SEQS",
    "AnchorRow",
    "ApiKeyRow",
    "AttestationStatementRow",
    "Base",
    "BatchRow",
    "ChainEventRow",
    "ConflictRow",
    "CounterBucketRow",
    "CounterMarkRow",
    "CounterTopRow",
    "DeviceEventRow",
    "DeviceStreamRow",
    "EvidenceFileRow",
    "LeafRow",
    "ManualActivityRow",
    "MeterStreamRow",
    "PlanPointRow",
    "PrincipalRow",
    "ReadingRow",
    "RecordRow",
    "RegulatorGrantRow",
    "RejectionRow",
    "ReportRow",
    "RetentionPurgeRow",
    "SeqGapRow",
    "WatcherCursorRow",
    "as_utc",
]

#: A 64-bit surrogate key that is SQLite's rowid there (so it autoincrements on both).
_Id = BigInteger().with_variant(Integer(), "sqlite")
#: An ISA-95 path, compared byte-wise on both databases (PostgreSQL's "C" collation; SQLite's
#: default BINARY), so a path prefix is an index range: ``[prefix + "/", prefix + "0")``.
_Path = String(256).with_variant(String(256, collation="C"), "postgresql")


class Base(DeclarativeBase):
    pass


def as_utc(moment: datetime) -> datetime:
    """A time read from a ``DateTime(timezone=True)`` column as an aware UTC datetime: SQLite
    gives them back naive, and the ledger writes only UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class DeviceStreamRow(Base):
    """Per device: how far its leaves and batches have come. Ingest locks this row, so one
    device's requests apply one after the other, whatever the number of API workers."""

    __tablename__ = "device_streams"
    device: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    #: The position the device's next accepted leaf gets (0, 1, 2...).
    next_position: Mapped[int] = mapped_column(BigInteger)
    #: The first position not yet in an accepted batch.
    batched_through: Mapped[int] = mapped_column(BigInteger)
    #: The batchSeq the next accepted header must carry.
    next_batch_seq: Mapped[int] = mapped_column(Uint64)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The device's enterprise (DeviceRegistry ``DeviceRegistered.enterprise``), set by ingest;
    #: ``None`` on rows from before revision 0003_access until the device delivers again. Access
    #: scoping joins on it: a row without one is visible to nobody.
    enterprise: Mapped[bytes | None] = mapped_column(LargeBinary(20))
    #: The latest data time (Unix s, a batch's ``to_timestamp``) of the device's batches
    #: deleted under retention (``ledger_api.retention``; ``None``: none). Ingest refuses a
    #: new item whose time span ends at or before it, so deleted data cannot come back as new
    #: leaves (revision 0004_retention).
    purged_through: Mapped[int | None] = mapped_column(Uint64)

    __table_args__ = (Index("ix_device_streams_enterprise", "enterprise", "device"),)


class LeafRow(Base):
    """One signed item of a device (a reading or a record), in the order it was accepted."""

    __tablename__ = "leaves"
    device: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: ``reading``, ``gap``, ``meter_change`` or ``emission_summary``.
    kind: Mapped[str] = mapped_column(String(24))
    leaf: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: The measurement time span the item covers (a reading: its timestamp twice).
    time_from: Mapped[int] = mapped_column(Uint64)
    time_to: Mapped[int] = mapped_column(Uint64)
    batch_seq: Mapped[int | None] = mapped_column(Uint64)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Seconds from the end of the item's time span to its receipt (negative when the device's
    #: clock runs ahead): "late" data in the quality summary.
    lag_s: Mapped[int] = mapped_column(BigInteger)



class ReadingRow(Base):
    """A signed reading: the struct's fields, the meter path, the salt and the signature."""

    __tablename__ = "readings"
    device: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    meter: Mapped[bytes] = mapped_column(LargeBinary(32))
    meter_path: Mapped[str] = mapped_column(_Path)
    seq: Mapped[int] = mapped_column(Uint64)
    timestamp: Mapped[int] = mapped_column(Uint64)
    quantity: Mapped[str] = mapped_column(String(32))
    value: Mapped[int] = mapped_column(Int256)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(65))

    def signed(self) -> SignedReading:
        """The signed reading this row holds."""
        return SignedReading(Reading(device=self.device, meter=self.meter, seq=self.seq,
                                     timestamp=self.timestamp, quantity=self.quantity,
                                     value=self.value, salt=self.salt), self.signature,
                             self.meter_path)

    __table_args__ = (ForeignKeyConstraint(["device", "position"],
                                           ["leaves.device", "leaves.position"]),
                      UniqueConstraint("device", "meter", "seq", name="uq_readings_key"),
                      Index("ix_readings_path_time", "meter_path", "timestamp"),
                      # A counter's readings by seq (revision 0005_recompute): a recompute
                      # counts them and finds a step's neighbours without reading the
                      # meter's other points (ledger_api.recompute.evidence).
                      Index("ix_readings_counter", "device", "meter", "quantity", "seq"))


class RecordRow(Base):
    """A signed record (gap, meter change, emission summary), kept as its canonical wire JSON
    (``mrv_core.wire``) with its identity key hashed for deduplication; path and time copied
    out for queries."""

    __tablename__ = "records"
    device: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(24))
    #: keccak256 of the identity key's canonical text (docs/protocol.md 10.4).
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    path: Mapped[str] = mapped_column(_Path)
    time_from: Mapped[int] = mapped_column(Uint64)
    wire: Mapped[str] = mapped_column(Text)

    __table_args__ = (ForeignKeyConstraint(["device", "position"],
                                           ["leaves.device", "leaves.position"]),
                      UniqueConstraint("device", "kind", "key_hash", name="uq_records_key"),
                      Index("ix_records_path_time", "path", "time_from"))


class BatchRow(Base):
    """A batch header the device signed, accepted once its leaves rebuilt its root."""

    __tablename__ = "batches"
    device: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    batch_seq: Mapped[int] = mapped_column(Uint64, primary_key=True)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    leaf_count: Mapped[int] = mapped_column(BigInteger)
    from_timestamp: Mapped[int] = mapped_column(Uint64)
    to_timestamp: Mapped[int] = mapped_column(Uint64)
    signature: Mapped[bytes] = mapped_column(LargeBinary(65))
    #: The position of the batch's first leaf (its leaves are the next ``leaf_count``).
    first_position: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: ``unanchored``, ``anchored``, ``final`` or ``mismatch``, kept by the chain watcher
    #: (:class:`ledger_api.chain.anchors.AnchorState`).
    anchor_state: Mapped[str] = mapped_column(String(16), default="unanchored",
                                              server_default="unanchored")

    def header(self) -> BatchHeader:
        """The batch header this row holds (without its signature)."""
        return BatchHeader(device=self.device, batch_seq=self.batch_seq, root=self.root,
                           leaf_count=self.leaf_count, from_timestamp=self.from_timestamp,
                           to_timestamp=self.to_timestamp)

    __table_args__ = (Index("ix_batches_anchor_state", "anchor_state", "received_at"),)


class MeterStreamRow(Base):
    """Per (device, meter): the highest reading seq held, for seq continuity."""

    __tablename__ = "meter_streams"
    device: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    meter: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    meter_path: Mapped[str] = mapped_column(_Path)
    max_seq: Mapped[int] = mapped_column(Uint64)


class SeqGapRow(Base):
    """Readings seqs a meter skipped: ``[from_seq, to_seq]`` not held (yet). Recorded when a
    later seq arrives, narrowed or removed when the missing ones do; never filled in."""

    __tablename__ = "seq_gaps"
    device: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    meter: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    from_seq: Mapped[int] = mapped_column(Uint64, primary_key=True)
    to_seq: Mapped[int] = mapped_column(Uint64)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConflictRow(Base):
    """Evidence: an item offered under an identity key the ledger already holds with other
    content. The held item stays; the offered one is kept here, never stored over it."""

    __tablename__ = "conflicts"
    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    device: Mapped[bytes] = mapped_column(LargeBinary(20))
    #: ``reading``, a record kind, or ``batch``.
    kind: Mapped[str] = mapped_column(String(24))
    #: The identity key, human-readable (``meter 0x.. seq 41``).
    identity: Mapped[str] = mapped_column(String(512))
    held_id: Mapped[bytes] = mapped_column(LargeBinary(32))
    offered_id: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: The offered item's wire JSON, with its signature.
    offered: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_conflicts_device", "device", "received_at"),)


class RejectionRow(Base):
    """Evidence: an item the ledger refused (bad signature, inactive device, a header whose
    root its leaves do not rebuild...), once per (device, item id), with the failed check."""

    __tablename__ = "rejections"
    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    device: Mapped[bytes] = mapped_column(LargeBinary(20))
    kind: Mapped[str] = mapped_column(String(24))
    item_id: Mapped[bytes] = mapped_column(LargeBinary(32))
    check: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    #: The refused item's wire JSON, with its signature.
    offered: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("device", "item_id", name="uq_rejections_item"),)


class _InBlock:
    """Where an event is: its block (number, hash, time) and its index among the block's
    logs."""

    block_number: Mapped[int] = mapped_column(Uint64)
    block_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: The block's time (Unix seconds), not the ledger's clock.
    block_timestamp: Mapped[int] = mapped_column(Uint64)
    log_index: Mapped[int] = mapped_column(BigInteger)


class _OnChain(_InBlock):
    """Where an event was mined, when the watcher saw it, and whether its block is still on the
    chain."""

    tx_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: When the watcher found the block gone from the chain (``None``: on the chain).
    orphaned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AnchorRow(_OnChain, Base):
    """A ``BatchAnchored`` event the chain watcher read, and the block that held it. Never
    deleted: when a reorganisation removes its block, ``orphaned_at`` is set and the event,
    if mined again, is a new row (another block hash)."""

    __tablename__ = "anchors"
    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    device: Mapped[bytes] = mapped_column(LargeBinary(20))
    batch_seq: Mapped[int] = mapped_column(Uint64)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    leaf_count: Mapped[int] = mapped_column(BigInteger)
    from_timestamp: Mapped[int] = mapped_column(Uint64)
    to_timestamp: Mapped[int] = mapped_column(Uint64)

    def header(self) -> BatchHeader:
        """The batch header the event carries."""
        return BatchHeader(device=self.device, batch_seq=self.batch_seq, root=self.root,
                           leaf_count=self.leaf_count, from_timestamp=self.from_timestamp,
                           to_timestamp=self.to_timestamp)

    __table_args__ = (UniqueConstraint("block_hash", "log_index", name="uq_anchors_log"),
                      Index("ix_anchors_batch", "device", "batch_seq"),
                      Index("ix_anchors_block", "block_number"))


class ChainEventRow(_OnChain, Base):
    """An event of the Consortium, MethodologyRegistry or ReportRegistry, kept as read
    (arguments as canonical JSON: addresses and bytes ``0x`` hex, integers as numbers) for later
    queries. Orphaned like :class:`AnchorRow`."""

    __tablename__ = "chain_events"
    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    #: The deployment's name of the contract (``Consortium``...) and its address.
    contract: Mapped[str] = mapped_column(String(32))
    address: Mapped[bytes] = mapped_column(LargeBinary(20))
    event: Mapped[str] = mapped_column(String(64))
    args: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("block_hash", "log_index", name="uq_chain_events_log"),
                      Index("ix_chain_events_event", "contract", "event", "block_number"),
                      Index("ix_chain_events_block", "block_number"))


class WatcherCursorRow(Base):
    """A cursor of the chain watcher: the last block processed, for the AnchorRegistry (the
    deployment) it follows; a restart resumes after it. ``anchors``: the watcher's own;
    ``devices``: the device directory's (with the block's time, which it needs)."""

    __tablename__ = "watcher_cursor"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    anchor_registry: Mapped[bytes] = mapped_column(LargeBinary(20))
    block_number: Mapped[int] = mapped_column(Uint64)
    block_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    block_timestamp: Mapped[int | None] = mapped_column(Uint64)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeviceEventRow(_InBlock, Base):
    """The device directory's DeviceRegistry events (``ledger_api.chain.devices``), in chain
    order (``position`` 0, 1, 2...), so a restart resumes from the ``devices`` cursor instead of
    reading the registry from the deployment block. A cache of the chain, rewritten whole when
    the directory's events change."""

    __tablename__ = "device_events"
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: The event's class name (``DeviceRegistered``...).
    event: Mapped[str] = mapped_column(String(32))
    #: The event's own fields as JSON: bytes as ``0x`` hex, integers as numbers.
    fields: Mapped[str] = mapped_column(Text)
# -- access (ledger_api.access): principals, their keys, regulators' grants -----------------------


class PrincipalRow(Base):
    """A caller of the API (``ledger_api.access.principals.Principal``): a role and, for the
    enterprise roles and devices, the enterprise it acts for. Never deleted: revoked."""

    __tablename__ = "principals"
    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: A ``Role`` value.
    role: Mapped[str] = mapped_column(String(24))
    enterprise: Mapped[bytes | None] = mapped_column(LargeBinary(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("role IN ('enterprise_admin', 'enterprise_reader', 'regulator', "
                        "'association', 'device')", name="ck_principals_role"),
        CheckConstraint("(enterprise IS NULL) = (role IN ('regulator', 'association'))",
                        name="ck_principals_enterprise"),
    )


class ApiKeyRow(Base):
    """An API key of a principal: its id in clear (the lookup) and its HMAC-SHA256 under the
    server secret (``ledger_api.access.keys``); the key itself is never stored."""

    __tablename__ = "api_keys"
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), index=True)
    mac: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RegulatorGrantRow(Base):
    """A regulator's right to see one enterprise's data; revoked, never deleted. At most one
    grant in force per (regulator, enterprise)."""

    __tablename__ = "regulator_grants"
    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    regulator_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    enterprise: Mapped[bytes] = mapped_column(LargeBinary(20))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Who granted it (``cli:<login>`` from ``mrv api principal grant``).
    granted_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_regulator_grants_in_force", "regulator_id", "enterprise", unique=True,
              sqlite_where=text("revoked_at IS NULL"),
              postgresql_where=text("revoked_at IS NULL")),
    )


# -- retention (ledger_api.retention) ------------------------------------------------------------


class RetentionPurgeRow(Base):
    """One run of a retention purge that deleted data (``ledger_api.retention``): who, when,
    whose data, up to which time and why, and what it removed. Append-only: no operation of
    the ledger updates or deletes these rows."""

    __tablename__ = "retention_purges"
    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    purged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: ``principal <id>`` (the API) or ``cli operator <login>`` (``mrv api retention purge``).
    actor: Mapped[str] = mapped_column(String(200))
    #: The principal's id when the API ran it (``None``: the command line).
    principal_id: Mapped[int | None] = mapped_column(BigInteger)
    enterprise: Mapped[bytes] = mapped_column(LargeBinary(20))
    #: Batches whose data ended before this time (Unix s) were eligible.
    cutoff: Mapped[int] = mapped_column(Uint64)
    #: The minimum retention in force (years, ``MRV_RETENTION_YEARS``).
    retention_years: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    #: Rows deleted per table.
    batches: Mapped[int] = mapped_column(BigInteger)
    leaves: Mapped[int] = mapped_column(BigInteger)
    readings: Mapped[int] = mapped_column(BigInteger)
    records: Mapped[int] = mapped_column(BigInteger)
    anchors: Mapped[int] = mapped_column(BigInteger)
    #: Batches older than the cutoff kept because the watcher has not marked them final.
    kept_batches: Mapped[int] = mapped_column(BigInteger)
    #: The batches removed as JSON: ``[{"device": "0x..", "first": n, "last": m}, ...]``, one
    #: entry per run of consecutive batchSeqs.
    ranges: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_retention_purges_enterprise", "enterprise", "purged_at"),)


# -- reports and manual activity data (ledger_api.reports) ---------------------------------------


class EvidenceFileRow(Base):
    """An evidence file of an enterprise (an invoice, a photo of a purchase ledger): its
    keccak256, its media type as its magic bytes say (PDF, PNG, JPEG), its bytes. Keyed by
    (enterprise, hash): two enterprises holding the same file each store their own, and
    neither learns of the other's. Never deleted."""

    __tablename__ = "evidence_files"
    enterprise: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    #: The file name given at upload (what a report line shows as ``evidenceName``).
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    stored_by: Mapped[int] = mapped_column(BigInteger)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("media_type IN ('application/pdf', 'image/png', 'image/jpeg')",
                        name="ck_evidence_files_media_type"),
        CheckConstraint("size > 0 AND size <= 16777216", name="ck_evidence_files_size"),
    )


class ManualActivityRow(Base):
    """Activity data entered by hand with its evidence: an amount of an emission source in the
    source's integer unit, for a site and a period. Withdrawn (``withdrawn_at``), never
    deleted."""

    __tablename__ = "manual_activities"
    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    enterprise: Mapped[bytes] = mapped_column(LargeBinary(20))
    site_path: Mapped[str] = mapped_column(_Path)
    source: Mapped[str] = mapped_column(String(32))
    #: The source's integer unit when entered (``dm3``, ``g``, ``Wh``, ``kJ``).
    unit: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(Int256)
    period_start: Mapped[int] = mapped_column(Uint64)
    period_end: Mapped[int] = mapped_column(Uint64)
    evidence: Mapped[bytes] = mapped_column(LargeBinary(32))
    description: Mapped[str] = mapped_column(Text)
    entered_by: Mapped[int] = mapped_column(BigInteger)
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        ForeignKeyConstraint(["enterprise", "evidence"],
                             ["evidence_files.enterprise", "evidence_files.hash"]),
        Index("ix_manual_activities_site", "enterprise", "site_path", "period_start"),
    )


class ReportRow(Base):
    """A report document the ledger built (``trustmrv-report/1``), kept as its canonical text
    under its report hash (the EIP-712 struct hash of its on-chain Report)."""

    __tablename__ = "reports"
    report_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    document_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    document: Mapped[str] = mapped_column(Text)
    enterprise: Mapped[bytes] = mapped_column(LargeBinary(20))
    #: ``None``: a report of the whole enterprise.
    site_path: Mapped[str | None] = mapped_column(_Path)
    period_start: Mapped[int] = mapped_column(Uint64)
    period_end: Mapped[int] = mapped_column(Uint64)
    methodology: Mapped[str] = mapped_column(String(32))
    methodology_version: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The report hash this one corrects (``None``: none).
    supersedes: Mapped[bytes | None] = mapped_column(LargeBinary(32))

    __table_args__ = (Index("ix_reports_enterprise", "enterprise", "period_start"),)


class AttestationStatementRow(Base):
    """A regulator's attestation statement (``trustmrv-attestation/1``) as canonical text, kept
    once the chain holds an attestation of its report by its regulator with its hash."""

    __tablename__ = "attestation_statements"
    statement_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    report_hash: Mapped[bytes] = mapped_column(ForeignKey("reports.report_hash"), index=True)
    regulator: Mapped[bytes] = mapped_column(LargeBinary(20))
    statement: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

# -- recompute (ledger_api.recompute): the monitoring plan, counter marks ------------------------


class PlanPointRow(Base):
    """One line of an enterprise's monitoring plan (docs/api.md, "Monitoring plan and
    recompute"): the meter path whose cumulative ``quantity`` feeds emission ``source``, and the
    counter's rollover rule (``counter_modulus``: ``None`` never wraps; ``max_rate``:
    ``"num/den"`` quantity units per second, ``None``: 0). Replaced whole by ``PUT /v1/plan``
    or ``mrv api plan set``."""

    __tablename__ = "plan_points"
    enterprise: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    meter_path: Mapped[str] = mapped_column(_Path, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[str] = mapped_column(String(32))
    counter_modulus: Mapped[int | None] = mapped_column(Int256)
    max_rate: Mapped[str | None] = mapped_column(String(160))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: ``principal <id>`` (the API) or ``cli operator <login>`` (``mrv api plan set``).
    updated_by: Mapped[str] = mapped_column(String(200))


class CounterMarkRow(Base):
    """A reading ``seq`` of (device, meter) whose value is below the value of its counter's
    previous held reading (the counter: the meter's readings of one cumulative quantity;
    :mod:`ledger_api.ingest.marks`): the decreasing steps a period's recompute must see
    (spec11 section 1). Kept exact by ingest in every arrival order; backfilled by revision
    0005_recompute."""

    __tablename__ = "counter_marks"
    device: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    meter: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Uint64, primary_key=True)


class CounterTopRow(Base):
    """Per counter (device, meter, cumulative quantity): the seq and value of its highest held
    reading, from which ingest marks in-order readings without reading back
    (:mod:`ledger_api.ingest.marks`; revision 0005_recompute)."""

    __tablename__ = "counter_tops"
    device: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    meter: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    quantity: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Uint64)
    value: Mapped[int] = mapped_column(Int256)


#: Seqs per counter bucket (``counter_buckets``): bucket ``b`` holds seqs ``100 b`` to
#: ``100 b + 99``. Fixed by revision 0007_counter_buckets, whose triggers compute it (on SQLite
#: from ``Uint64``'s 20 digits: the first 18 are ``seq // 100``); a new size is a new migration.
COUNTER_BUCKET_SEQS = 100


class CounterBucketRow(Base):
    """How many readings of one counter key (device, meter, quantity) the ledger holds with a
    seq in one bucket of :data:`COUNTER_BUCKET_SEQS` seqs (``bucket`` is ``seq // 100``): the
    recompute counts a period's readings from these and two short index ranges
    (``ledger_api.recompute.buckets``). Kept by the database itself, not by Python: triggers
    on ``readings`` (revision 0007_counter_buckets) add every inserted row, subtract every
    deleted one (a retention purge's) and move a row whose key columns change, so every writer
    (ingest, the bulk loads of benchmarks and tests, a purge) keeps them exact. A bucket whose
    last reading is deleted is deleted."""

    __tablename__ = "counter_buckets"
    device: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    meter: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    quantity: Mapped[str] = mapped_column(String(32), primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: Readings held in the bucket (more than 0).
    held: Mapped[int] = mapped_column(BigInteger)
