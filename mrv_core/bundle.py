"""Proof bundles (``trustmrv-proof/2``) and batch files (``trustmrv-batch/3`` and ``/2``).

A proof bundle is self-contained: with it (and, for the chain steps, a JSON-RPC endpoint) anyone
can check that readings were signed by a device and belong to a batch whose root is anchored. It
holds the EIP-712 domain, the chain reference of the anchor (``null`` until anchored), the batch
header, one or more signed readings with their meter paths and salts, and a Merkle proof: a
sibling path for one reading, or an OpenZeppelin multiproof for several (readings then appear in
the multiproof's leaf order).

A batch file lists every leaf of one batch in batch order, so the root can be rebuilt without
disclosing any reading (leaves are salted hashes).

Version 2 adds the device's EIP-712 signature over the batch header (``batch.signature``), so
``batchSeq``, ``leafCount`` and the time span are authenticated offline. Version 1 documents
(``trustmrv-proof/1``, ``trustmrv-batch/1``, no header signature) still parse; they have
``header_signature`` ``None`` and the verifier reports them as unsigned-header. Writers emit
version 1 only for a batch that was never signed.

Version 3 batch files (``trustmrv-batch/3``) also carry the batch's signed records (gaps, meter
changes, emission summaries: ``mrv_core.records``) in full, each with its leaf index, so the
verifier checks each record's path, note and signature and that its leaf is the one listed at its
index before rebuilding the root. A signed batch without records is still written as version 2.
Proof bundles stay version 2: they prove readings (a reading's proof works unchanged in a tree
that also holds records); a proof bundle for single records is not defined yet.

Parsing is strict (``docs/schemas/`` holds the JSON Schema of both documents): bounded size and
counts, no unknown or duplicate fields, exact hex lengths, canonical integers. The types it
produces are frozen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .batch import Batch, BatchHeader
from .codec import UINT64_MAX, UINT256_MAX, format_address, format_hex, parse_address, parse_hex
from .codec import parse_int as _parse_int
from .eip712 import Domain
from .errors import FormatError
from .files import UnreadableFile, read_regular_file, replace_file
from .reading import SignedReading
from .records import SignedRecord
from .strict_json import expect_object, loads_strict
from .wire import (
    decode_batch_header,
    decode_domain,
    decode_signed_reading,
    decode_signed_record,
    encode_batch_header,
    encode_domain,
    encode_signed_reading,
    encode_signed_record,
    field,
)

__all__ = [
    "BATCH_FORMAT",
    "BATCH_FORMAT_V1",
    "BATCH_FORMAT_V2",
    "BATCH_FORMAT_V3",
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_V1",
    "LIMITS",
    "AnchorRef",
    "BatchFile",
    "MultiProofNodes",
    "ProofBundle",
    "SingleProof",
    "bundle_for_readings",
    "decode_anchor",
    "decode_proof",
    "document_from_json",
    "encode_anchor",
    "encode_proof",
    "expect_list",
    "hex32",
    "read_document",
    "read_json",
    "read_limited",
    "write_atomically",
]

BUNDLE_FORMAT = "trustmrv-proof/2"
BATCH_FORMAT = "trustmrv-batch/2"
#: Version 3 batch files: version 2 plus the batch's signed records, each at its leaf index.
BATCH_FORMAT_V3 = "trustmrv-batch/3"
BATCH_FORMAT_V2 = BATCH_FORMAT
#: The version 1 formats: no header signature. Still read and verified (as unsigned-header).
BUNDLE_FORMAT_V1 = "trustmrv-proof/1"
BATCH_FORMAT_V1 = "trustmrv-batch/1"


@dataclass(frozen=True)
class Limits:
    """Hard bounds a parser enforces before doing any work proportional to the input."""

    bundle_bytes: int = 16 * 1024 * 1024
    readings_per_bundle: int = 10_000
    proof_path: int = 64  # a 2^64-leaf tree is far beyond leafCount's uint32
    multiproof_nodes: int = 400_000
    batch_file_bytes: int = 256 * 1024 * 1024
    leaves_per_batch_file: int = 2_000_000
    records_per_batch_file: int = 100_000


LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class AnchorRef:
    """Where a batch was anchored: the chain, its registries and the anchoring transaction."""

    chain_id: int
    anchor_registry: bytes
    device_registry: bytes
    transaction_hash: bytes
    block_number: int


@dataclass(frozen=True, slots=True)
class SingleProof:
    """The sibling path of one leaf."""

    path: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class MultiProofNodes:
    """An OpenZeppelin multiproof without its leaves: the verifier recomputes those from the
    readings (in bundle order), never taking a leaf hash on trust."""

    proof: tuple[bytes, ...]
    proof_flags: tuple[bool, ...]


@dataclass(frozen=True)
class ProofBundle:
    """A parsed proof bundle: ``trustmrv-proof/2`` when ``header_signature`` (the device's
    65-byte signature over ``batch``) is present, the legacy ``trustmrv-proof/1`` when it is
    ``None``."""

    domain: Domain
    anchor: AnchorRef | None
    batch: BatchHeader
    readings: tuple[SignedReading, ...]
    proof: SingleProof | MultiProofNodes
    header_signature: bytes | None = None

    @property
    def sample(self) -> bool:
        """True when signed under the offline sample domain (not verifiable against any chain)."""
        return self.domain.is_sample

    @property
    def format(self) -> str:
        """The format string this bundle is written as."""
        return BUNDLE_FORMAT_V1 if self.header_signature is None else BUNDLE_FORMAT

    # -- writing ---------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "sample": self.sample,
            "domain": encode_domain(self.domain),
            "anchor": None if self.anchor is None else encode_anchor(self.anchor),
            "batch": encode_batch_header(self.batch, self.header_signature),
            "readings": [encode_signed_reading(r) for r in self.readings],
            "proof": encode_proof(self.proof),
        }

    def dumps(self) -> bytes:
        return (json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    def write(self, path: Path) -> None:
        write_atomically(path, self.dumps())

    # -- reading ---------------------------------------------------------------------------------

    @classmethod
    def loads(cls, data: bytes) -> ProofBundle:
        return cls.from_json(loads_strict(data, max_bytes=LIMITS.bundle_bytes))

    @classmethod
    def read(cls, path: Path) -> ProofBundle:
        return cls.loads(read_limited(path, LIMITS.bundle_bytes))

    @classmethod
    def from_json(cls, doc: object) -> ProofBundle:
        o, domain, anchor, (batch, signature) = _decode_envelope(
            doc, (BUNDLE_FORMAT, BUNDLE_FORMAT_V1), ("readings", "proof"))
        raw_readings = expect_list(o["readings"], "$.readings", 1, LIMITS.readings_per_bundle)
        readings = tuple(decode_signed_reading(r, f"$.readings[{i}]")
                         for i, r in enumerate(raw_readings))
        proof = decode_proof(o["proof"], "$.proof", len(readings))
        return cls(domain=domain, anchor=anchor, batch=batch, readings=readings, proof=proof,
                   header_signature=signature)


def bundle_for_readings(batch: Batch, domain: Domain, positions: list[int],
                        anchor: AnchorRef | None = None) -> ProofBundle:
    """A bundle proving the readings at ``positions`` (indices into ``batch.readings``); version
    2 when the batch's header is signed."""
    if len(positions) == 1:
        (position,) = positions
        return ProofBundle(domain=domain, anchor=anchor, batch=batch.header,
                           readings=(batch.readings[position],),
                           proof=SingleProof(tuple(batch.tree.proof(position))),
                           header_signature=batch.header_signature)
    multi, order = batch.tree.multiproof(positions)
    return ProofBundle(domain=domain, anchor=anchor, batch=batch.header,
                       readings=tuple(batch.readings[i] for i in order),
                       proof=MultiProofNodes(multi.proof, multi.proof_flags),
                       header_signature=batch.header_signature)


@dataclass(frozen=True)
class BatchFile:
    """A parsed batch file: a batch header and all its leaves in order; ``trustmrv-batch/3``
    when it carries signed records (``records``: (leaf index, record) pairs in leaf order),
    ``trustmrv-batch/2`` with the device's header signature and no records, the legacy
    ``trustmrv-batch/1`` without a header signature."""

    domain: Domain
    anchor: AnchorRef | None
    batch: BatchHeader
    leaves: tuple[bytes, ...]
    header_signature: bytes | None = None
    records: tuple[tuple[int, SignedRecord], ...] = ()

    def __post_init__(self) -> None:
        if self.records and self.header_signature is None:
            raise FormatError("$.records", "records travel only in version 3 batch files, whose "
                                           "header is signed")

    @property
    def sample(self) -> bool:
        return self.domain.is_sample

    @property
    def format(self) -> str:
        if self.header_signature is None:
            return BATCH_FORMAT_V1
        return BATCH_FORMAT_V3 if self.records else BATCH_FORMAT

    @classmethod
    def of(cls, batch: Batch, domain: Domain, anchor: AnchorRef | None = None) -> BatchFile:
        """The batch file of ``batch``: version 3 when it holds records (which needs a signed
        header: :class:`FormatError` otherwise), else version 2, or 1 when unsigned."""
        first = len(batch.readings)
        return cls(domain=domain, anchor=anchor, batch=batch.header, leaves=batch.tree.leaves,
                   header_signature=batch.header_signature,
                   records=tuple((first + j, item) for j, item in enumerate(batch.records)))

    def to_json(self) -> dict[str, Any]:
        doc = {
            "format": self.format,
            "sample": self.domain.is_sample,
            "domain": encode_domain(self.domain),
            "anchor": None if self.anchor is None else encode_anchor(self.anchor),
            "batch": encode_batch_header(self.batch, self.header_signature),
            "leaves": [format_hex(leaf) for leaf in self.leaves],
        }
        if self.records:
            doc["records"] = [{"leafIndex": str(index), "record": encode_signed_record(item)}
                              for index, item in self.records]
        return doc

    def write(self, path: Path) -> None:
        write_atomically(path, (json.dumps(self.to_json(), indent=1, ensure_ascii=False)
                                 + "\n").encode("utf-8"))

    @classmethod
    def read(cls, path: Path) -> BatchFile:
        data = read_limited(path, LIMITS.batch_file_bytes)
        return cls.from_json(loads_strict(data, max_bytes=LIMITS.batch_file_bytes))

    @classmethod
    def from_json(cls, doc: object) -> BatchFile:
        v3 = isinstance(doc, dict) and doc.get("format") == BATCH_FORMAT_V3
        o, domain, anchor, (batch, signature) = _decode_envelope(
            doc, (BATCH_FORMAT_V3, BATCH_FORMAT, BATCH_FORMAT_V1),
            ("leaves", "records") if v3 else ("leaves",))
        raw = expect_list(o["leaves"], "$.leaves", 1, LIMITS.leaves_per_batch_file)
        leaves = tuple(hex32(v, f"$.leaves[{i}]") for i, v in enumerate(raw))
        records = _decode_records(o["records"], len(leaves)) if v3 else ()
        return cls(domain=domain, anchor=anchor, batch=batch, leaves=leaves,
                   header_signature=signature, records=records)


def _decode_records(value: object, leaf_count: int) -> tuple[tuple[int, SignedRecord], ...]:
    """``$.records``: 1 or more ``{"leafIndex", "record"}``, indices strictly increasing and
    below the number of leaves listed."""
    raw = expect_list(value, "$.records", 1, LIMITS.records_per_batch_file)
    records: list[tuple[int, SignedRecord]] = []
    for i, entry in enumerate(raw):
        where = f"$.records[{i}]"
        o = expect_object(entry, where, ("leafIndex", "record"))
        index = field(f"{where}.leafIndex",
                      lambda o=o: _parse_int(o["leafIndex"], 0, leaf_count - 1,  # type: ignore[misc]
                                             field="leafIndex"))
        if records and index <= records[-1][0]:
            raise FormatError(f"{where}.leafIndex", f"leaf indices must increase: {index} after "
                                                    f"{records[-1][0]}")
        records.append((index, decode_signed_record(o["record"], f"{where}.record")))
    return tuple(records)


def read_document(path: Path) -> ProofBundle | BatchFile:
    """Read a bundle or a batch file, whichever ``path`` holds (by its ``format`` field)."""
    return document_from_json(*read_json(path))


def read_json(path: Path) -> tuple[object, int]:
    """The strictly parsed JSON of the regular file ``path`` (at most the batch file limit, the
    largest document) and its size in bytes, for callers that dispatch on ``format`` themselves
    (``mrv bundle verify`` also reads report bundles)."""
    data = read_limited(path, LIMITS.batch_file_bytes)
    return loads_strict(data, max_bytes=LIMITS.batch_file_bytes), len(data)


def document_from_json(doc: object, size: int) -> ProofBundle | BatchFile:
    """A bundle or a batch file from its parsed JSON (``size``: its bytes), by ``format``."""
    if isinstance(doc, dict) and doc.get("format") in (BATCH_FORMAT_V3, BATCH_FORMAT,
                                                       BATCH_FORMAT_V1):
        return BatchFile.from_json(doc)
    if size > LIMITS.bundle_bytes:
        raise FormatError("$", f"document is {size} bytes, bundle limit {LIMITS.bundle_bytes}")
    return ProofBundle.from_json(doc)


# -- pieces -------------------------------------------------------------------------------------

def _decode_envelope(doc: object, formats: tuple[str, ...], body_fields: tuple[str, ...]
                     ) -> tuple[dict[str, Any], Domain, AnchorRef | None,
                                tuple[BatchHeader, bytes | None]]:
    """The fields every document shares: format (``formats``: the current version first, the
    unsigned legacy version 1 last), sample flag, domain, anchor, batch header and its signature
    (every version but 1)."""
    o = expect_object(doc, "$", ("format", "sample", "domain", "anchor", "batch", *body_fields))
    if o["format"] not in formats:
        older = " or ".join(repr(f) for f in formats[1:])
        raise FormatError("$.format", f"expected {formats[0]!r} (or the older {older}), "
                                      f"got {o['format']!r:.80}")
    domain = decode_domain(o["domain"], "$.domain")
    if not isinstance(o["sample"], bool):
        raise FormatError("$.sample", "expected true or false")
    if o["sample"] is not domain.is_sample:
        raise FormatError("$.sample", f"must be {str(domain.is_sample).lower()}: only the offline "
                                      "sample domain (chainId 0, zero verifyingContract) is a "
                                      "sample")
    anchor = None if o["anchor"] is None else decode_anchor(o["anchor"], "$.anchor")
    signed = o["format"] != formats[-1]
    return o, domain, anchor, decode_batch_header(o["batch"], "$.batch", signed=signed)


_ANCHOR_FIELDS = ("chainId", "anchorRegistry", "deviceRegistry", "transactionHash", "blockNumber")


def encode_anchor(anchor: AnchorRef) -> dict[str, str]:
    """The ``anchor`` object of a document (docs/protocol.md 5.2)."""
    return {
        "chainId": str(anchor.chain_id),
        "anchorRegistry": format_address(anchor.anchor_registry),
        "deviceRegistry": format_address(anchor.device_registry),
        "transactionHash": format_hex(anchor.transaction_hash),
        "blockNumber": str(anchor.block_number),
    }


def encode_proof(proof: SingleProof | MultiProofNodes) -> dict[str, Any]:
    """The ``proof`` object of a single proof or a multiproof (docs/protocol.md 5.4)."""
    if isinstance(proof, SingleProof):
        return {"type": "single", "path": [format_hex(p) for p in proof.path]}
    return {"type": "multi", "proof": [format_hex(p) for p in proof.proof],
            "proofFlags": list(proof.proof_flags)}


def decode_anchor(obj: object, where: str) -> AnchorRef:
    """Parse an ``anchor`` object at ``where``; :class:`FormatError` names the bad field."""
    o = expect_object(obj, where, _ANCHOR_FIELDS)
    return AnchorRef(
        chain_id=field(f"{where}.chainId",
                       lambda: _parse_int(o["chainId"], 1, UINT256_MAX, field="chainId")),
        anchor_registry=field(f"{where}.anchorRegistry",
                              lambda: parse_address(o["anchorRegistry"], field="anchorRegistry")),
        device_registry=field(f"{where}.deviceRegistry",
                              lambda: parse_address(o["deviceRegistry"], field="deviceRegistry")),
        transaction_hash=hex32(o["transactionHash"], f"{where}.transactionHash"),
        block_number=field(f"{where}.blockNumber",
                           lambda: _parse_int(o["blockNumber"], 0, UINT64_MAX,
                                              field="blockNumber")),
    )


def decode_proof(obj: object, where: str, reading_count: int) -> SingleProof | MultiProofNodes:
    """Parse a ``proof`` object at ``where`` (a single proof only for ``reading_count`` 1);
    :class:`FormatError` names the bad field. Bounds: :data:`LIMITS`."""
    if not isinstance(obj, dict) or "type" not in obj:
        raise FormatError(where, "expected an object with a 'type' of 'single' or 'multi'")
    if obj["type"] == "single":
        o = expect_object(obj, where, ("type", "path"))
        if reading_count != 1:
            raise FormatError(where, f"a single proof covers one reading, bundle has "
                              f"{reading_count}; use a multiproof")
        path = expect_list(o["path"], f"{where}.path", 0, LIMITS.proof_path)
        return SingleProof(tuple(hex32(p, f"{where}.path[{i}]") for i, p in enumerate(path)))
    if obj["type"] == "multi":
        o = expect_object(obj, where, ("type", "proof", "proofFlags"))
        nodes = expect_list(o["proof"], f"{where}.proof", 0, LIMITS.multiproof_nodes)
        flags = expect_list(o["proofFlags"], f"{where}.proofFlags", 0,
                             LIMITS.multiproof_nodes + LIMITS.readings_per_bundle)
        for i, flag in enumerate(flags):
            if not isinstance(flag, bool):
                raise FormatError(f"{where}.proofFlags[{i}]", "expected true or false")
        return MultiProofNodes(
            proof=tuple(hex32(p, f"{where}.proof[{i}]") for i, p in enumerate(nodes)),
            proof_flags=tuple(flags),
        )
    raise FormatError(f"{where}.type", f"expected 'single' or 'multi', got {obj['type']!r}")


def hex32(value: object, where: str) -> bytes:
    """32 bytes from lowercase ``0x`` hex, or :class:`FormatError` at ``where``."""
    return field(where, lambda: parse_hex(value, 32, field=where.rsplit(".", 1)[-1]))


def expect_list(value: object, where: str, low: int, high: int) -> list[Any]:
    """``value`` as a JSON array of ``low`` to ``high`` items, or :class:`FormatError`."""
    if not isinstance(value, list):
        raise FormatError(where, "expected an array")
    if not low <= len(value) <= high:
        raise FormatError(where, f"has {len(value)} items, allowed {low}..{high}")
    return value


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path`` (at most ``limit``), or :class:`FormatError`
    naming the path."""
    try:
        return read_regular_file(path, limit)
    except UnreadableFile as exc:
        raise FormatError(str(path), exc.reason) from None


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed over it
    (:func:`mrv_core.files.replace_file`: a device or FIFO there is refused, no planted
    symbolic link followed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, data)

