"""The signer stage: samples from acquisition become signed readings committed to the store.
See docs/edge.md, section "Store"."""

from .records import KINDS, commit_meter_change, new_record, read_record
from .sample import TIMESTAMP_LIMIT, Sample
from .signer import CounterEvent, CycleResult, ReadingSigner, SigningSettings, classify_decrease

__all__ = [
    "KINDS",
    "TIMESTAMP_LIMIT",
    "CounterEvent",
    "CycleResult",
    "ReadingSigner",
    "Sample",
    "SigningSettings",
    "classify_decrease",
    "commit_meter_change",
    "new_record",
    "read_record",
]
