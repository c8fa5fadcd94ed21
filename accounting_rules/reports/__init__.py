"""Emission reports: the report document ``trustmrv-report/1`` (:mod:`.document`), and (in the
modules beside it) the on-chain Report struct, the regulator's attestation statement, the pure
builder and the chain operations.

docs/protocol.md section 12 specifies the documents; docs/contracts.md the registry.
"""

from .document import (
    LIMITS,
    MEDIA_TYPES,
    REPORT_FORMAT,
    Batches,
    BatchRef,
    ChainRef,
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
]
