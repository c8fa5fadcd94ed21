"""Signed records (``mrv_core.records``: gaps, meter changes, emission summaries) into the store.

:func:`new_record` turns a :class:`~mrv_core.records.SignedRecord` into the store's generic
:class:`~edge_node.store.NewRecord`: its kind, leaf (``keccak256(structHash)``), signature, its
wire object (``mrv_core.wire.encode_signed_record``) as compact JSON text, the times it covers
and its meter. :func:`read_record` reads a stored one back (strictly, through the same codec).

:func:`commit_meter_change` is the store step behind ``mrv edge meter-change``: in one
transaction it reads the meter's next seq and last counter value, makes and signs the operator's
``MeterChange``, stores it as a leaf of the next batch and clears ``awaiting_meter_change``.
"""

from __future__ import annotations

import json

from mrv_core.keys import DeviceKey
from mrv_core.reading import meter_id, new_salt
from mrv_core.records import (
    RECORD_KINDS,
    MeterChange,
    SignedRecord,
    note_hash,
    record_leaf,
)
from mrv_core.strict_json import loads_strict
from mrv_core.wire import decode_signed_record, encode_signed_record

from ..errors import StoreError
from ..store import NewRecord, Store, StoredRecord
from ..store.models import MeterQuantityRow

__all__ = ["KINDS", "MAX_AHEAD_S", "commit_meter_change", "new_record", "read_record"]

#: The store's ``kind`` of each record struct.
KINDS = RECORD_KINDS
_WIRE_MAX_BYTES = 64 * 1024
#: How far ahead of the local clock a meter change may be dated (the registry's default
#: ``maxClockSkew``): a later time would hold its batch, and every batch after it, off chain.
MAX_AHEAD_S = 300


def new_record(signed: SignedRecord) -> NewRecord:
    """The store's form of a signed record (site summaries carry no meter path)."""
    start, end = signed.record.timespan()
    wire = json.dumps(encode_signed_record(signed), separators=(",", ":"), ensure_ascii=False)
    return NewRecord(kind=KINDS[type(signed.record)], leaf=record_leaf(signed.record),
                     signature=signed.signature, wire=wire, time_from=start, time_to=end,
                     meter_path=None if signed.site_scoped else signed.path)


def read_record(stored: StoredRecord) -> SignedRecord:
    """The signed record a stored row holds; raises ``FormatError`` if its text is not one."""
    return decode_signed_record(loads_strict(stored.wire.encode("utf-8"),
                                             max_bytes=_WIRE_MAX_BYTES), "$")


def commit_meter_change(store: Store, key: DeviceKey, meter_path: str, quantity: str, *,
                        timestamp: int | None, new_initial: int, note: str,
                        old_final: int | None = None, now: int) -> SignedRecord:
    """Sign and store the operator's meter change of (``meter_path``, ``quantity``): the old
    counter ended at ``old_final`` (default: the last value signed for it), the new one starts
    at ``new_initial``; ``note`` is the operator's text (its keccak256 is signed). Clears the
    meter's ``awaiting_meter_change`` state and its counter baselines.

    ``timestamp`` (``None``: now, or the meter's last signed reading if that is later, as a
    running node may have signed one meanwhile) must lie between the meter's last signed
    reading and ``now`` plus :data:`MAX_AHEAD_S`: the change is committed after every reading
    signed so far (its ``nextSeq`` is the meter's next), and a batch whose time span ended in
    the future could never be anchored (the registry refuses it), holding back every later
    batch.

    Raises :class:`StoreError` when no old value is given and none was signed or the timestamp
    is outside that window, and the record's own errors
    (:class:`~mrv_core.errors.InvalidRecord`) for values out of range."""
    with store.write() as session:
        meter = Store.meter_row(session, meter_path)
        earliest = meter.last_timestamp or 0
        if timestamp is None:
            timestamp = max(now, earliest)
        if not earliest <= timestamp <= now + MAX_AHEAD_S:
            raise StoreError(f"meter change timestamp {timestamp} must lie between the meter's "
                             f"last signed reading ({earliest}) and now + {MAX_AHEAD_S} s "
                             f"({now + MAX_AHEAD_S})")
        baseline = session.get(MeterQuantityRow, (meter.id, quantity))
        if old_final is None:
            if baseline is None or baseline.last_value is None:
                raise StoreError(f"meter {meter_path} has no signed {quantity} value: give the "
                                 f"old meter's final value")
            old_final = baseline.last_value
        record = MeterChange(device=key.address, meter=meter_id(meter_path), quantity=quantity,
                             next_seq=meter.next_seq, timestamp=timestamp, old_final=old_final,
                             new_initial=new_initial, note=note_hash(note), salt=new_salt())
        signed = key.sign_record(record, store.domain, meter_path, note)
        store.add_records(session, [new_record(signed)], now=now)
        Store.clear_meter_change(session, meter)
    return signed
