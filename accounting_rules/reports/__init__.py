"""Emission reports (docs/protocol.md section 12, docs/contracts.md "Reports").

- :mod:`.document`: the report document ``trustmrv-report/1`` (frozen dataclasses, strict
  decoding, canonical bytes, document hash, batches root), re-exported here;
- :mod:`.struct`: the on-chain ``Report`` of a document and its EIP-712 struct hash;
- :mod:`.statement`: the regulator's ``trustmrv-attestation/1`` statement, the verdict -> EU AVR
  mapping and the closed list of reason codes;
- :mod:`.build`: the pure builder from measured figures, manual entries and a methodology;
- :mod:`.manual`: evidence files (kinds by magic bytes) and a source's integer unit;
- :mod:`.periods`: a report's calendar period from its label;
- :mod:`.onchain`: submit, attest and read reports on the ReportRegistry;
- :mod:`.fields`: the field checks the formats share;
- :mod:`.bundle`: the report bundle ``trustmrv-report-bundle/1`` (docs/protocol.md section 11);
  :mod:`.verify` and :mod:`.verify_chain`: its standalone verifier, offline and chain steps;
- :func:`tonnes`: grams CO2e as exact tonnes for human readers (``._humane``).
"""

from ._humane import tonnes
from .document import (
    LIMITS,
    MEDIA_TYPES,
    REPORT_FORMAT,
    Batches,
    BatchRef,
    ChainRef,
    Line,
    ManualLine,
    MeasuredLine,
    MethodologyRef,
    PlanLine,
    ReadingRef,
    ReportDocument,
    ReportLimits,
    ReportPeriod,
    SiteRef,
    Totals,
    activities,
    batch_leaf,
    batches_root,
    canonical_bytes,
    decode_report,
    document_hash,
    encode_report,
    loads_report,
    scope_sums,
)

__all__ = [
    "LIMITS",
    "MEDIA_TYPES",
    "REPORT_FORMAT",
    "BatchRef",
    "Batches",
    "ChainRef",
    "Line",
    "ManualLine",
    "MeasuredLine",
    "MethodologyRef",
    "PlanLine",
    "ReadingRef",
    "ReportDocument",
    "ReportLimits",
    "ReportPeriod",
    "SiteRef",
    "Totals",
    "activities",
    "batch_leaf",
    "batches_root",
    "canonical_bytes",
    "decode_report",
    "document_hash",
    "encode_report",
    "loads_report",
    "scope_sums",
    "tonnes",
]
