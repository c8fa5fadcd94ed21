"""Anchoring: the persistent outbox and the anchorer (own account or relayer). See docs/edge.md,
section "Batching and anchoring"."""

from .anchorer import Anchorer, AnchorSettings, RunResult
from .chainview import AnchorEvent, ChainView
from .outbox import FINAL, PENDING, SENT, Outbox, OutboxEntry
from .paths import RELAY_PATH, AnchorPath, OwnAccount, ViaRelay

__all__ = [
    "FINAL",
    "PENDING",
    "RELAY_PATH",
    "SENT",
    "AnchorEvent",
    "AnchorPath",
    "AnchorSettings",
    "Anchorer",
    "ChainView",
    "Outbox",
    "OutboxEntry",
    "OwnAccount",
    "RunResult",
    "ViaRelay",
]
