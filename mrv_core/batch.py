"""Batches: the header a device anchors on chain for each Merkle root of its readings.

Per device, ``batch_seq`` runs 0, 1, 2, ... without gaps (the AnchorRegistry enforces it), so a
dropped or replayed batch is visible. ``leaf_count`` is committed beside the root: two different
leaf lists can never share a (root, count) pair. ``from_timestamp``/``to_timestamp`` bound the
measurement times of the readings inside, and the time each record covers (a gap's from/to, a
meter change's timestamp, a summary's period start and end). The tree's leaves are the readings'
leaves in batch order followed by the records' (``docs/protocol.md`` section 9.5); ``leaf_count``
counts both. The device signs the header as the EIP-712 struct
``Batch`` (:func:`mrv_core.eip712.batch_digest`), so it is authenticated offline as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .codec import UINT64_MAX, format_address
from .eip712 import leaf_hash
from .errors import InvalidBatchHeader, InvalidReading
from .merkle import MerkleTree
from .reading import SignedReading
from .records import SignedRecord, record_leaf

__all__ = ["LEAF_COUNT_MAX", "Batch", "BatchHeader", "build_batch"]

#: leafCount is a uint32 in the on-chain header.
LEAF_COUNT_MAX = 2**32 - 1


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """What the chain stores for one batch of one device."""

    device: bytes
    batch_seq: int
    root: bytes
    leaf_count: int
    from_timestamp: int
    to_timestamp: int

    def __post_init__(self) -> None:
        if type(self.device) is not bytes or len(self.device) != 20:
            raise InvalidBatchHeader("device",
                                     f"batch device must be 20 bytes, got {self.device!r:.60}")
        if type(self.root) is not bytes or len(self.root) != 32:
            raise InvalidBatchHeader("root", f"batch root must be 32 bytes, got {self.root!r:.80}")
        for name, value, low, high in (
            ("batchSeq", self.batch_seq, 0, UINT64_MAX),
            ("leafCount", self.leaf_count, 1, LEAF_COUNT_MAX),
            ("fromTimestamp", self.from_timestamp, 0, UINT64_MAX),
            ("toTimestamp", self.to_timestamp, 0, UINT64_MAX),
        ):
            if type(value) is not int or not low <= value <= high:
                raise InvalidBatchHeader(name, f"batch {name} = {value!r} outside [{low}, {high}]")
        if self.from_timestamp > self.to_timestamp:
            raise InvalidBatchHeader("fromTimestamp",
                                     f"batch fromTimestamp {self.from_timestamp} > toTimestamp "
                                     f"{self.to_timestamp}")

    def __repr__(self) -> str:
        return (f"BatchHeader(device={format_address(self.device)}, batch_seq={self.batch_seq}, "
                f"root=0x{self.root.hex()}, leaf_count={self.leaf_count}, "
                f"from_timestamp={self.from_timestamp}, to_timestamp={self.to_timestamp})")


@dataclass(frozen=True)
class Batch:
    """A closed batch: its header, the signed readings in batch order, their tree, and the
    device's EIP-712 signature over the header (65 bytes r||s||v; ``None`` until signed, see
    :meth:`mrv_core.keys.DeviceKey.close_batch`), and the signed records after the readings
    (leaf ``len(readings) + j`` is record ``j``). Documents written from an unsigned batch are
    the legacy version 1 formats, whose header nothing authenticates offline."""

    header: BatchHeader
    readings: tuple[SignedReading, ...]
    tree: MerkleTree
    header_signature: bytes | None = None
    records: tuple[SignedRecord, ...] = ()

    def __post_init__(self) -> None:
        signature = self.header_signature
        if signature is not None and (type(signature) is not bytes or len(signature) != 65):
            raise InvalidBatchHeader("signature",
                                     f"header signature must be 65 bytes, got {signature!r:.40}")


def build_batch(device: bytes, batch_seq: int, readings: Sequence[SignedReading],
                records: Sequence[SignedRecord] = ()) -> Batch:
    """Close a batch over ``readings`` then ``records`` (all of ``device``), in the order given.

    Raises :class:`InvalidReading` for an empty batch or a reading or record of another device.
    """
    if not readings and not records:
        raise InvalidReading("a batch needs at least one reading or record")
    for signed in readings:
        if signed.reading.device != device:
            raise InvalidReading(
                f"reading of device {format_address(signed.reading.device)} "
                f"in a batch of {format_address(device)}"
            )
    for item in records:
        if item.record.device != device:
            raise InvalidReading(
                f"{type(item.record).__name__} of device {format_address(item.record.device)} "
                f"in a batch of {format_address(device)}"
            )
    tree = MerkleTree([leaf_hash(signed.reading) for signed in readings]
                      + [record_leaf(item.record) for item in records])
    timestamps = [signed.reading.timestamp for signed in readings]
    timestamps += [t for item in records for t in item.record.timespan()]
    header = BatchHeader(
        device=device,
        batch_seq=batch_seq,
        root=tree.root,
        leaf_count=tree.leaf_count,
        from_timestamp=min(timestamps),
        to_timestamp=max(timestamps),
    )
    return Batch(header=header, readings=tuple(readings), tree=tree, records=tuple(records))
