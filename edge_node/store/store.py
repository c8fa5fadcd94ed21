"""The edge store: one SQLite file per device, opened, migrated and bound to its device.

:meth:`Store.write` is one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``): the signer commits
a whole poll cycle in one, the batcher a whole batch closing. A reading counts as taken only
once its transaction committed (``synchronous=FULL``: it is on disk then).

The store is bound, on first open, to the device address and the EIP-712 domain its readings
are signed under (chain id and AnchorRegistry); opening it with another raises
:class:`~edge_node.errors.StoreMismatch`, so a configuration change can never mix two devices'
or two deployments' leaves in one batch.

The same ``node`` key/value table keeps one piece of run state across a crash:
``polling_stopped_at`` (:meth:`Store.polling_stopped_at`), the Unix second polling stopped at the
disk hard limit, written when it stops and deleted in the transaction that commits the stretch's
signed ``storage`` gaps (``edge_node.signing.storage``), so a node killed while stopped signs
that stretch on its next start, exactly once. A new key in an existing table: no migration.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from mrv_core.codec import format_address
from mrv_core.eip712 import Domain
from mrv_core.reading import meter_id

from ..errors import StoreMismatch
from .items import MeterState, NewRecord
from .models import LeafRow, MeterQuantityRow, MeterRow, NodeRow, RecordRow
from .schema import connect_engine, migrate

__all__ = ["AWAITING_METER_CHANGE", "METER_OK", "Store", "disk_usage"]

METER_OK = "ok"
AWAITING_METER_CHANGE = "awaiting_meter_change"
#: The ``node`` keys the store is bound by (compared on open); other keys are run state.
_BINDING = ("device", "chain_id", "verifying_contract")
_POLLING_STOPPED_AT = "polling_stopped_at"


def disk_usage(path: Path) -> int:
    """Bytes used by the SQLite store at ``path``: the file, its WAL and its shared memory."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        try:
            total += (path.parent / (path.name + suffix)).stat().st_size
        except FileNotFoundError:
            continue
    return total


class Store:
    """An open edge store (see the module docstring). Not thread-safe: one pipeline owns it."""

    def __init__(self, path: Path, device: bytes, domain: Domain, *,
                 busy_timeout_ms: int = 5000) -> None:
        """Open (creating or migrating) the store at ``path`` for ``device`` under ``domain``.

        Raises :class:`~edge_node.errors.SchemaTooNew`, :class:`StoreMismatch`, or
        :class:`StoreError` when the file cannot be used (journal mode other than WAL)."""
        self.path = path
        self.device = device
        self.domain = domain
        self._engine = connect_engine(path, busy_timeout_ms=busy_timeout_ms)
        self._reader = self._engine.execution_options(sqlite_begin="DEFERRED")
        try:
            migrate(self._engine, path)
            self._bind()
        except BaseException:
            self._engine.dispose()
            raise

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- transactions -----------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """One read transaction (a consistent snapshot; takes no write lock)."""
        with Session(self._reader) as session, session.begin():
            yield session

    def _bind(self) -> None:
        wanted = {"device": format_address(self.device),
                  "chain_id": str(self.domain.chain_id),
                  "verifying_contract": format_address(self.domain.verifying_contract)}
        with self.write() as session:
            found = {row.key: row.value for row in session.scalars(
                select(NodeRow).where(NodeRow.key.in_(_BINDING)))}
            if not found:
                session.add_all(NodeRow(key=k, value=v) for k, v in wanted.items())
                return
        if found != wanted:
            names = {"device": "device", "chain_id": "chain id",
                     "verifying_contract": "AnchorRegistry"}
            differ = "; ".join(f"{names.get(k, k)} {found.get(k)} in the store, {wanted.get(k)} "
                               f"now" for k in sorted(wanted.keys() | found.keys())
                               if found.get(k) != wanted.get(k))
            raise StoreMismatch(f"store {self.path} was made for another device or deployment "
                                f"({differ}): one store per device and deployment; after a "
                                f"new deployment, start the node afresh (mrv edge init in a new "
                                f"directory)")

    # -- run state kept across a crash -------------------------------------------------------------

    def polling_stopped_at(self) -> int | None:
        """The Unix second polling stopped at the disk hard limit, while its stretch is not
        yet signed (``None`` when polling was not stopped, or its gaps are committed)."""
        with self.read() as session:
            row = session.get(NodeRow, _POLLING_STOPPED_AT)
            return None if row is None else int(row.value)

    @staticmethod
    def set_polling_stopped_at(session: Session, at: int | None) -> None:
        """Record (``at``, Unix seconds) or clear (``None``) the polling stop, inside a write
        transaction (clear it in the one that commits the stretch's ``storage`` gaps)."""
        row = session.get(NodeRow, _POLLING_STOPPED_AT)
        if at is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(NodeRow(key=_POLLING_STOPPED_AT, value=str(at)))
        else:
            row.value = str(at)

    # -- checks -----------------------------------------------------------------------------------

    def integrity_check(self) -> list[str]:
        """``PRAGMA integrity_check``'s answer: ``["ok"]`` for a sound file."""
        with self._engine.connect() as connection:
            return [str(r[0]) for r in connection.execute(text("PRAGMA integrity_check"))]

    # -- shared steps inside a transaction --------------------------------------------------------

    @staticmethod
    def next_ordinal(session: Session) -> int:
        """The ordinal the next leaf gets (leaves are numbered 1, 2, ... in commit order)."""
        return int(session.scalar(select(func.max(LeafRow.ordinal))) or 0) + 1

    @staticmethod
    def meter_row(session: Session, path: str) -> MeterRow:
        """The meter at ``path``, created (seq 0) on its first use."""
        row = session.scalars(select(MeterRow).where(MeterRow.path == path)).one_or_none()
        if row is None:
            row = MeterRow(path=path, meter_id=meter_id(path), next_seq=0, state=METER_OK,
                           clock_refusals=0)
            session.add(row)
            session.flush()
        return row

    def add_records(self, session: Session, records: Sequence[NewRecord],
                    *, now: int | None = None) -> list[int]:
        """Insert signed records as leaves of the device's next batch; return their ordinals."""
        if not records:
            return []
        committed_at = int(time.time()) if now is None else now
        first = self.next_ordinal(session)
        leaves, rows = [], []
        for ordinal, record in enumerate(records, start=first):
            meter_pk = (self.meter_row(session, record.meter_path).id
                        if record.meter_path is not None else None)
            leaves.append({"ordinal": ordinal, "device": self.device, "kind": record.kind,
                           "leaf": record.leaf, "time_from": record.time_from,
                           "time_to": record.time_to, "committed_at": committed_at,
                           "batch_seq": None, "flags": 0})
            rows.append({"ordinal": ordinal, "kind": record.kind, "meter_pk": meter_pk,
                         "timestamp": record.time_to, "signature": record.signature,
                         "wire": record.wire})
        session.execute(insert(LeafRow), leaves)
        session.execute(insert(RecordRow), rows)
        return list(range(first, first + len(records)))

    # -- meters -----------------------------------------------------------------------------------

    def meters(self) -> list[MeterState]:
        with self.read() as session:
            return [MeterState(path=m.path, next_seq=m.next_seq, last_timestamp=m.last_timestamp,
                               state=m.state, clock_refusals=m.clock_refusals)
                    for m in session.scalars(select(MeterRow).order_by(MeterRow.path))]

    @staticmethod
    def clear_meter_change(session: Session, meter: MeterRow) -> None:
        """Clear ``awaiting_meter_change`` and the meter's counter baselines (the signed
        meter-change event, stored in the same transaction, explains the jump: the next reading
        of each counter is compared with nothing). Inside a write transaction."""
        meter.state = METER_OK
        meter.state_seq = None
        for baseline in session.scalars(
                select(MeterQuantityRow).where(MeterQuantityRow.meter_pk == meter.id)):
            baseline.last_value = None
