"""Report bundles, ``trustmrv-report-bundle/1``: a report and the evidence that it is right.

A report bundle (docs/protocol.md section 11) carries everything a verifier needs, with only a
JSON-RPC endpoint besides: the report document (``trustmrv-report/1``,
:mod:`accounting_rules.reports.document`) and the hash it is registered under, the EIP-712 domain
of the devices' signatures, and for every batch the report's evidence lies in: the signed batch
header, its anchor, the readings and records of that batch the report uses (the sparse readings
of each meter, its meter changes and gap records: spec11 section 1) and **one multiproof** proving
all of them at once against the batch root. The optional ``summaries`` list the devices' signed
``EmissionSummary`` records covering the period (each also proven in its batch), for comparison.

Layout (every integer a canonical base-10 string, bytes lowercase ``0x`` hex, addresses EIP-55)::

    {"format": "trustmrv-report-bundle/1",
     "report": {...trustmrv-report/1...}, "reportHash": "0x<32 bytes>",
     "domain": {...protocol 5.2...},
     "batches": [{"batch": {...signed header 5.1.1...}, "anchor": {...5.2...} | null,
                  "readings": [reading objects 5.4], "records": [record objects 9.6],
                  "proof": {"type": "multi", "proof": [...], "proofFlags": [...]}}],
     "summaries": [EmissionSummary record objects]}            (optional)

Batches are sorted by (device, batchSeq) without repeats; a batch proves at least one leaf.
Within a batch, ``readings`` and ``records`` each follow the ascending order of their leaf
hashes, which is the order an OpenZeppelin multiproof consumes leaves (tree index descending in
a tree of sorted leaves, docs/protocol.md 4.3): the multiproof's leaves are the merge of both
lists by leaf hash. The verifier recomputes every leaf; no leaf hash travels in the bundle.

Parsing is strict (:func:`mrv_core.strict_json.loads_strict`: no duplicate keys, no floats; no
unknown fields; the report by :func:`~accounting_rules.reports.document.decode_report`) and
bounded by :data:`LIMITS` before any work proportional to the input. Errors are
:class:`~mrv_core.errors.FormatError` (or a subclass) naming the JSON path.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrv_core.batch import BatchHeader
from mrv_core.bundle import (
    AnchorRef,
    MultiProofNodes,
    decode_anchor,
    decode_proof,
    encode_anchor,
    encode_proof,
    expect_list,
    hex32,
    read_limited,
    write_atomically,
)
from mrv_core.codec import format_address, format_hex
from mrv_core.eip712 import Domain
from mrv_core.errors import FormatError
from mrv_core.merkle import MerkleTree
from mrv_core.reading import SignedReading
from mrv_core.records import EmissionSummary, SignedRecord
from mrv_core.strict_json import expect_object, loads_strict
from mrv_core.wire import (
    decode_batch_header,
    decode_domain,
    decode_signed_reading,
    decode_signed_record,
    encode_batch_header,
    encode_domain,
    encode_signed_reading,
    encode_signed_record,
)

from .document import ReportDocument, decode_report, encode_report

__all__ = ["FORMAT", "LIMITS", "BundleLimits", "ProvenBatch", "ReportBundle", "is_report_bundle",
           "prove_batch"]

FORMAT = "trustmrv-report-bundle/1"


@dataclass(frozen=True)
class BundleLimits:
    """What a report bundle may hold; the parser refuses more before doing proportional work.

    Sized for the issue's reference month, 1,000 meters at 15 minutes: a measured line needs its
    two boundary readings plus two per notable step (rollover, meter change, gap record), so a
    month of 1,000 meters proves a few thousand readings in a few hundred batches, about 3 MB
    (README, "Report bundles"). The bounds leave two orders of magnitude of room.
    """

    #: The whole document, UTF-8 bytes.
    bundle_bytes: int = 64 * 1024 * 1024
    batches: int = 100_000
    #: Readings (records) one batch entry proves: mrv_core's proof bundle bound.
    readings_per_batch: int = 10_000
    records_per_batch: int = 10_000
    #: Over the whole bundle.
    readings: int = 200_000
    records: int = 100_000
    summaries: int = 10_000
    #: Nodes of one batch's multiproof: mrv_core's bound.
    multiproof_nodes: int = 400_000


LIMITS = BundleLimits()


@dataclass(frozen=True, slots=True)
class ProvenBatch:
    """One batch of the evidence: its header and the device's signature of it, where it was
    anchored (``None``: not yet), the readings and records of it the report uses (each in
    ascending leaf order) and the multiproof of all of them."""

    header: BatchHeader
    header_signature: bytes
    anchor: AnchorRef | None
    readings: tuple[SignedReading, ...]
    records: tuple[SignedRecord, ...]
    proof: MultiProofNodes

    @property
    def key(self) -> tuple[bytes, int]:
        """(device, batchSeq): how batches are sorted and named."""
        return self.header.device, self.header.batch_seq

    def name(self) -> str:
        """``batch 12 of 0xAbC...`` for messages."""
        return f"batch {self.header.batch_seq} of {format_address(self.header.device)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "batch": encode_batch_header(self.header, self.header_signature),
            "anchor": None if self.anchor is None else encode_anchor(self.anchor),
            "readings": [encode_signed_reading(r) for r in self.readings],
            "records": [encode_signed_record(r) for r in self.records],
            "proof": encode_proof(self.proof),
        }

    @classmethod
    def from_json(cls, obj: object, where: str) -> ProvenBatch:
        o = expect_object(obj, where, ("batch", "anchor", "readings", "records", "proof"))
        header, signature = decode_batch_header(o["batch"], f"{where}.batch", signed=True)
        assert signature is not None  # signed=True requires it
        anchor = None if o["anchor"] is None else decode_anchor(o["anchor"], f"{where}.anchor")
        raw_readings = expect_list(o["readings"], f"{where}.readings", 0,
                                   LIMITS.readings_per_batch)
        raw_records = expect_list(o["records"], f"{where}.records", 0, LIMITS.records_per_batch)
        if not raw_readings and not raw_records:
            raise FormatError(where, "a batch entry proves at least one reading or record")
        readings = tuple(decode_signed_reading(r, f"{where}.readings[{i}]")
                         for i, r in enumerate(raw_readings))
        records = tuple(decode_signed_record(r, f"{where}.records[{i}]")
                        for i, r in enumerate(raw_records))
        proof = decode_proof(o["proof"], f"{where}.proof", len(readings) + len(records))
        if not isinstance(proof, MultiProofNodes):
            raise FormatError(f"{where}.proof.type", "a report bundle proves each batch's leaves "
                                                     "with one multiproof ('multi')")
        if len(proof.proof) > LIMITS.multiproof_nodes:
            raise FormatError(f"{where}.proof.proof", f"has {len(proof.proof)} nodes, allowed "
                                                      f"{LIMITS.multiproof_nodes}")
        return cls(header=header, header_signature=signature, anchor=anchor, readings=readings,
                   records=records, proof=proof)


@dataclass(frozen=True)
class ReportBundle:
    """A parsed ``trustmrv-report-bundle/1`` document (module docstring)."""

    report: ReportDocument
    report_hash: bytes
    domain: Domain
    batches: tuple[ProvenBatch, ...]
    summaries: tuple[SignedRecord, ...] = ()

    def __post_init__(self) -> None:
        keys = [batch.key for batch in self.batches]
        for i, (a, b) in enumerate(itertools.pairwise(keys)):
            if not a < b:
                raise FormatError(f"$.batches[{i + 1}]", "batches must be sorted by (device, "
                                  "batchSeq) without repeats")
        for i, summary in enumerate(self.summaries):
            if not isinstance(summary.record, EmissionSummary):
                raise FormatError(f"$.summaries[{i}].type", f"expected 'EmissionSummary', got "
                                                            f"{type(summary.record).__name__!r}")

    # -- writing ---------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": FORMAT,
            "report": encode_report(self.report),
            "reportHash": format_hex(self.report_hash),
            "domain": encode_domain(self.domain),
            "batches": [batch.to_json() for batch in self.batches],
        }
        if self.summaries:
            doc["summaries"] = [encode_signed_record(s) for s in self.summaries]
        return doc

    def dumps(self) -> bytes:
        """The document as UTF-8 JSON, compact (a month of 1,000 meters stays a few MB)."""
        return (json.dumps(self.to_json(), separators=(",", ":"), ensure_ascii=False)
                + "\n").encode("utf-8")

    def write(self, path: Path) -> None:
        write_atomically(path, self.dumps())

    # -- reading ---------------------------------------------------------------------------------

    @classmethod
    def loads(cls, data: bytes) -> ReportBundle:
        return cls.from_json(loads_strict(data, max_bytes=LIMITS.bundle_bytes))

    @classmethod
    def read(cls, path: Path) -> ReportBundle:
        return cls.loads(read_limited(path, LIMITS.bundle_bytes))

    @classmethod
    def from_json(cls, doc: object) -> ReportBundle:
        """Parse a decoded JSON document; :class:`FormatError` names the first bad field."""
        o = expect_object(doc, "$", ("format", "report", "reportHash", "domain", "batches"),
                          ("summaries",))
        if o["format"] != FORMAT:
            raise FormatError("$.format", f"expected {FORMAT!r}, got {o['format']!r:.80}")
        try:
            report = decode_report(o["report"])
        except FormatError as exc:  # the document's own paths start at its root, "$"
            where = exc.where[1:] if exc.where.startswith("$") else f".{exc.where}"
            raise type(exc)(f"$.report{where}", exc.problem) from None
        report_hash = hex32(o["reportHash"], "$.reportHash")
        domain = decode_domain(o["domain"], "$.domain")
        raw_batches = expect_list(o["batches"], "$.batches", 0, LIMITS.batches)
        batches = tuple(ProvenBatch.from_json(b, f"$.batches[{i}]")
                        for i, b in enumerate(raw_batches))
        readings = sum(len(b.readings) for b in batches)
        records = sum(len(b.records) for b in batches)
        if readings > LIMITS.readings or records > LIMITS.records:
            raise FormatError("$.batches", f"{readings} readings and {records} records, allowed "
                                           f"{LIMITS.readings} and {LIMITS.records}")
        raw_summaries = (expect_list(o["summaries"], "$.summaries", 1, LIMITS.summaries)
                         if "summaries" in o else [])
        summaries = tuple(decode_signed_record(s, f"$.summaries[{i}]")
                          for i, s in enumerate(raw_summaries))
        return cls(report=report, report_hash=report_hash, domain=domain, batches=batches,
                   summaries=summaries)


def prove_batch(header: BatchHeader, header_signature: bytes, anchor: AnchorRef | None,
                tree: MerkleTree, items: Mapping[int, SignedReading | SignedRecord]
                ) -> ProvenBatch:
    """The batch entry proving ``items`` (by leaf index in the batch, 0-based, in batch order)
    with one multiproof of ``tree``, the batch's Merkle tree (``Batch.tree``, or rebuilt from the
    stored leaves: ``ledger_api.proofs.TreeCache``). Readings and records come out in the
    multiproof's leaf order. Raises :class:`~mrv_core.errors.MerkleError` for an index outside
    the tree, :class:`FormatError` for no items."""
    if not items:
        raise FormatError("items", "a batch entry proves at least one reading or record")
    multi, order = tree.multiproof(sorted(items))
    ordered = [items[index] for index in order]
    return ProvenBatch(header=header, header_signature=header_signature, anchor=anchor,
                       readings=tuple(i for i in ordered if isinstance(i, SignedReading)),
                       records=tuple(i for i in ordered if isinstance(i, SignedRecord)),
                       proof=MultiProofNodes(multi.proof, multi.proof_flags))


def is_report_bundle(doc: object) -> bool:
    """Whether a decoded JSON document says it is a report bundle (by its ``format``)."""
    return isinstance(doc, dict) and doc.get("format") == FORMAT
