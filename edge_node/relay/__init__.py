"""The relayer (``mrv relay``): a small service the enterprise runs with a funded key that
anchors batch headers its devices signed (``anchorBySig``), crash-safe through its own outbox.
See docs/edge.md, section "Relayer"."""

from .jobs import RelayJob, RelayJobs
from .relayer import Relayed, Relayer
from .server import HEALTH_PATH, MAX_BODY_BYTES, RelayServer

__all__ = ["HEALTH_PATH", "MAX_BODY_BYTES", "RelayJob", "RelayJobs", "RelayServer", "Relayed",
           "Relayer"]
