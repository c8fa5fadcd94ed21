"""The uplink: the store's signed readings, records and batch headers delivered to the ledger
API over HTTPS with the device's client certificate (``trustmrv-uplink/1``, docs/protocol.md
section 10), at least once, in order, idempotent. See docs/edge.md, section "Uplink"."""

from .client import PushResult, UplinkClient
from .health import UplinkHealth, UplinkWatch
from .metrics import UplinkMetrics
from .settings import UplinkSettings

__all__ = ["PushResult", "UplinkClient", "UplinkHealth", "UplinkMetrics", "UplinkSettings",
           "UplinkWatch"]
