"""Batching: committed leaves become signed batches with a pending outbox row. See docs/edge.md,
section "Batching and anchoring"."""

from .batcher import Batcher, BatchingSettings

__all__ = ["Batcher", "BatchingSettings"]
