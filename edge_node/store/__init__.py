"""The edge node's durable store (SQLite through SQLAlchemy 2): meters, signed readings and
records, batches, the anchoring outbox and the uplink's acknowledgements. See docs/edge.md,
section "Store"."""

from .items import (
    MeterState,
    NewRecord,
    StoredBatch,
    StoredReading,
    StoredRecord,
    pack_registers,
    unpack_registers,
)
from .models import Flag
from .schema import SCHEMA_VERSION
from .store import AWAITING_METER_CHANGE, METER_OK, Store, disk_usage
from .uplink import STREAMS, StoreUplink, Stream, UplinkItem, UplinkSource, position

__all__ = [
    "AWAITING_METER_CHANGE",
    "METER_OK",
    "SCHEMA_VERSION",
    "STREAMS",
    "Flag",
    "MeterState",
    "NewRecord",
    "Store",
    "StoreUplink",
    "StoredBatch",
    "StoredReading",
    "StoredRecord",
    "Stream",
    "UplinkItem",
    "UplinkSource",
    "disk_usage",
    "pack_registers",
    "position",
    "unpack_registers",
]
