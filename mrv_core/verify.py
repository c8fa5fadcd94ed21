"""Offline verification of proof bundles and batch files: header signature, signatures, leaves,
proof and root.

The verifier fails closed. Each function returns only when every step passed and raises
:class:`VerificationError` naming the first step that failed otherwise; there is no boolean to
forget to check. The steps, in order (an auditor can follow them in the code by number):

1. ``format``    the document parses as ``trustmrv-proof/2`` or ``trustmrv-batch/3`` or ``/2``
                 (or a legacy version 1 document: strict parser, size limits)
2. ``domain``    an anchored bundle was signed under that chain's id and AnchorRegistry; a sample
                 (offline domain) bundle carries no anchor
3. ``header``    the batch header's signature (EIP-712 ``Batch``) is canonical and recovers the
                 header's device, so no header field can be edited; version 1 documents carry
                 none and pass this step as *unsigned-header* (``header_signed`` is False)
4. ``batch``     every reading (and record) is of the batch's device, inside its time span, none
                 repeats, and there are no more readings than the batch has leaves
5. ``meter``     every meter id is keccak256 of the meter path travelling with it (a site
                 summary's scope id of its site path; a meter change's note hash of its text)
6. ``signature`` every signature is canonical (65 bytes, low s, v 27/28) and recovers the device
7. ``proof``     the proof has a shape a tree of ``leafCount`` leaves can produce
8. ``root``      the leaves recomputed from the readings and the proof rebuild the batch root

The chain steps (``mrv_core.chain.verify``) follow. A batch file (every leaf of one batch) goes
through steps 1, 2, 3, 4 (its leaf count, and its records' device and span), 5 and 6 (its
records, version 3) and 8 (each record's leaf at its index, then the root).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .batch import BatchHeader, SignedBatchHeader
from .bundle import (
    AnchorRef,
    BatchFile,
    MultiProofNodes,
    ProofBundle,
    document_from_json,
    read_json,
)
from .codec import format_address
from .eip712 import (
    Domain,
    batch_digest,
    leaf_from_struct_hash,
    struct_hash,
    typed_digest,
)
from .errors import DecodeError, FormatError, MerkleError, SignatureError, VerificationError
from .merkle import MerkleTree, leaf_depths, process_multiproof, process_proof
from .reading import SignedReading, meter_id, site_id
from .records import MeterChange, SignedRecord, note_hash, record_digest, record_leaf
from .signing import recover_address

__all__ = [
    "STEPS",
    "VerifiedBatchFile",
    "VerifiedBundle",
    "check_domain",
    "load_file",
    "verify_batch",
    "verify_bundle",
    "verify_file",
    "verify_json",
    "verify_signed_header",
    "verify_signed_reading",
    "verify_signed_record",
]

STEPS: dict[str, str] = {
    "format": "the document parses as trustmrv-proof/2 or trustmrv-batch/3 or /2 (or a "
              "version 1 document)",
    "domain": "the signing domain matches the anchoring chain and registry",
    "header": "the device signed the batch header (version 1 documents: unsigned-header)",
    "batch": "readings and records belong to the batch's device and time span, without repeats",
    "meter": "each meter (or site) id is keccak256 of its path, each note hash of its text",
    "signature": "each signature is canonical and recovers the device",
    "proof": "the proof has a shape possible for the batch's leaf count",
    "root": "the readings' leaves and the proof rebuild the batch root",
}


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle that passed every offline step, with the leaves computed from its readings.

    The chain steps never trust ``leaves``: they recompute them from ``bundle.readings``.
    """

    bundle: ProofBundle
    leaves: tuple[bytes, ...]

    @property
    def header_signed(self) -> bool:
        """False for a version 1 bundle: its batch header is not authenticated offline."""
        return self.bundle.header_signature is not None


def verify_signed_reading(signed: SignedReading, domain: Domain) -> bytes:
    """Steps 5 and 6 for one reading; returns its leaf hash."""
    reading = signed.reading
    expected_meter = meter_id(signed.meter_path)
    if expected_meter != reading.meter:
        raise VerificationError(
            "meter", f"seq {reading.seq}: meter 0x{reading.meter.hex()} is not keccak256 of "
                     f"{signed.meter_path!r} (0x{expected_meter.hex()})")
    hashed = struct_hash(reading)  # once, for the digest and the leaf
    _check_signer(typed_digest(hashed, domain), signed.signature, reading.device,
                  f"seq {reading.seq}", "reading")
    return leaf_from_struct_hash(hashed)


def _check_signer(digest: bytes, signature: bytes, device: bytes, label: str, what: str) -> None:
    """Step 6: ``signature`` is canonical and recovers ``device`` from ``digest``."""
    try:
        signer = recover_address(digest, signature)
    except SignatureError as exc:
        raise VerificationError("signature", f"{label}: {exc}") from None
    if signer != device:
        raise VerificationError(
            "signature", f"{label}: signed by {format_address(signer)}, "
                         f"{what} names device {format_address(device)}")


def verify_signed_record(signed: SignedRecord, domain: Domain) -> bytes:
    """Steps 5 and 6 for one record; returns its leaf hash.

    5. its path hashes to its ``meter`` (``scopeId``: the meter id, or the site id of a site
       summary), and a meter change's note text hashes to its ``note``;
    6. its signature is canonical and recovers its ``device``.
    """
    record = signed.record
    kind = type(record).__name__
    expected = site_id(signed.path) if signed.site_scoped else meter_id(signed.path)
    if expected != signed.path_id:
        raise VerificationError(
            "meter", f"{kind}: id 0x{signed.path_id.hex()} is not keccak256 of "
                     f"{signed.path!r} (0x{expected.hex()})")
    if isinstance(record, MeterChange) and note_hash(signed.note or "") != record.note:
        raise VerificationError(
            "meter", f"{kind}: note 0x{record.note.hex()} is not keccak256 of the note text "
                     f"{(signed.note or '')[:60]!r}")
    _check_signer(record_digest(record, domain), signed.signature, record.device, kind, "record")
    return record_leaf(record)


def check_domain(domain: Domain, anchor: AnchorRef | None) -> None:
    """Step 2: an anchored document was signed for that chain and AnchorRegistry."""
    if anchor is None:
        return
    if domain.is_sample:
        raise VerificationError("domain", "sample data (offline domain) cannot be anchored")
    if domain.chain_id != anchor.chain_id:
        raise VerificationError("domain", f"signed for chainId {domain.chain_id}, "
                                          f"anchored on chainId {anchor.chain_id}")
    if domain.verifying_contract != anchor.anchor_registry:
        raise VerificationError(
            "domain", f"signed for verifyingContract {format_address(domain.verifying_contract)}"
                      f", anchored in {format_address(anchor.anchor_registry)}")


def _check_header(header: BatchHeader, signature: bytes | None, domain: Domain) -> None:
    """Step 3: the header's signature recovers its device (skipped for version 1 documents)."""
    if signature is None:
        return
    try:
        signer = recover_address(batch_digest(header, domain), signature)
    except SignatureError as exc:
        raise VerificationError("header", f"batch {header.batch_seq}: {exc}") from None
    if signer != header.device:
        raise VerificationError(
            "header", f"the header signature recovers {format_address(signer)}, not the "
                      f"header's device {format_address(header.device)}: a header field was "
                      "changed after signing, or another key signed it")


def verify_signed_header(signed: SignedBatchHeader, domain: Domain) -> None:
    """Step 3 for a header that travels alone (the uplink): its signature recovers its device.
    """
    _check_header(signed.header, signed.signature, domain)


def verify_bundle(bundle: ProofBundle) -> VerifiedBundle:
    """Run steps 2-8 on a parsed bundle; raise :class:`VerificationError` at the first failure.
    """
    batch = bundle.batch

    # 2. domain
    check_domain(bundle.domain, bundle.anchor)

    # 3. header signature
    _check_header(batch, bundle.header_signature, bundle.domain)

    # 4. batch membership
    if len(bundle.readings) > batch.leaf_count:
        raise VerificationError("batch", f"{len(bundle.readings)} readings in a batch of "
                                         f"{batch.leaf_count} leaves")
    seen: set[tuple[bytes, int]] = set()
    for signed in bundle.readings:
        r = signed.reading
        if r.device != batch.device:
            raise VerificationError("batch", f"seq {r.seq}: device {format_address(r.device)} "
                                             f"is not the batch's {format_address(batch.device)}")
        if not batch.from_timestamp <= r.timestamp <= batch.to_timestamp:
            raise VerificationError("batch", f"seq {r.seq}: timestamp {r.timestamp} outside the "
                                             f"batch span [{batch.from_timestamp}, "
                                             f"{batch.to_timestamp}]")
        if (r.meter, r.seq) in seen:
            raise VerificationError("batch", f"meter 0x{r.meter.hex()} seq {r.seq} appears twice")
        seen.add((r.meter, r.seq))

    # 5-6. meter ids and signatures; leaves computed here, never read from the bundle
    leaves = tuple(verify_signed_reading(signed, bundle.domain) for signed in bundle.readings)

    # 7. proof shape
    proof = bundle.proof
    if isinstance(proof, MultiProofNodes):
        if len(leaves) + len(proof.proof) != len(proof.proof_flags) + 1:
            raise VerificationError(
                "proof", f"multiproof needs leaves + proof = flags + 1, got {len(leaves)} + "
                         f"{len(proof.proof)} vs {len(proof.proof_flags)} + 1")
    else:
        shallow, deep = leaf_depths(batch.leaf_count)
        if len(proof.path) not in (shallow, deep):
            expected = (f"exactly {shallow} node{'' if shallow == 1 else 's'}" if shallow == deep
                        else f"{shallow} or {deep} nodes")
            raise VerificationError(
                "proof", f"a leaf of a {batch.leaf_count}-leaf tree has a path of {expected}, "
                         f"got {len(proof.path)}")

    # 8. root
    try:
        if isinstance(proof, MultiProofNodes):
            root = process_multiproof(leaves, proof.proof, proof.proof_flags)
        else:
            root = process_proof(leaves[0], proof.path)
    except MerkleError as exc:
        raise VerificationError("proof", str(exc)) from None
    if root != batch.root:
        raise VerificationError("root", f"proof rebuilds root 0x{root.hex()}, batch root is "
                                        f"0x{batch.root.hex()}")
    return VerifiedBundle(bundle=bundle, leaves=leaves)



@dataclass(frozen=True)
class VerifiedBatchFile:
    """A batch file whose leaves rebuild its header's root and count."""

    batch_file: BatchFile

    @property
    def header_signed(self) -> bool:
        """False for a version 1 batch file: its header is not authenticated offline."""
        return self.batch_file.header_signature is not None


def verify_batch(batch_file: BatchFile) -> VerifiedBatchFile:
    """Steps 2, 3, 4, 5, 6 and 8 for a batch file: its domain fits its anchor, its header is
    signed by its device, its records (version 3) are the device's, inside the header's span,
    with paths, notes and signatures that check, each leaf listed at its index is the record's,
    and its leaves rebuild the header's leaf count and root."""
    # 2. domain
    check_domain(batch_file.domain, batch_file.anchor)
    header = batch_file.batch
    # 3. header signature
    _check_header(header, batch_file.header_signature, batch_file.domain)
    # 4. batch membership: the leaf count, then every record's device and time span
    if len(batch_file.leaves) != header.leaf_count:
        raise VerificationError("batch", f"{len(batch_file.leaves)} leaves listed, header says "
                                         f"{header.leaf_count}")
    for index, item in batch_file.records:
        record = item.record
        kind = type(record).__name__
        if record.device != header.device:
            raise VerificationError("batch", f"{kind} at leaf {index}: device "
                                             f"{format_address(record.device)} is not the "
                                             f"batch's {format_address(header.device)}")
        start, end = record.timespan()
        if not header.from_timestamp <= start <= end <= header.to_timestamp:
            raise VerificationError("batch", f"{kind} at leaf {index}: covers [{start}, {end}], "
                                             f"outside the batch span [{header.from_timestamp}, "
                                             f"{header.to_timestamp}]")
    # 5-6. each record's path, note and signature; its leaf computed here
    for index, item in batch_file.records:
        leaf = verify_signed_record(item, batch_file.domain)
        # 8 (per record). the leaf the root commits to at this index is the record's
        if batch_file.leaves[index] != leaf:
            raise VerificationError("root", f"{type(item.record).__name__} at leaf {index} has "
                                            f"leaf 0x{leaf.hex()}, the batch lists "
                                            f"0x{batch_file.leaves[index].hex()}")
    # 8. root
    root = MerkleTree(batch_file.leaves).root
    if root != header.root:
        raise VerificationError("root", f"leaves rebuild root 0x{root.hex()}, header says "
                                        f"0x{header.root.hex()}")
    return VerifiedBatchFile(batch_file)


def verify_file(path: Path) -> VerifiedBundle | VerifiedBatchFile:
    """Step 1 (parse ``path``, a bundle or a batch file) followed by its verification."""
    return verify_json(*load_file(path))


def load_file(path: Path) -> tuple[object, int]:
    """Step 1, reading: the parsed JSON of ``path`` and its size in bytes (``read_json``), a
    :class:`VerificationError` at ``format`` otherwise (naming the file's problem once)."""
    try:
        return read_json(path)
    except FormatError as exc:  # the file itself (missing, not regular, too large): once
        detail = exc.problem if exc.where == str(path) else str(exc)
        raise VerificationError("format", detail) from None
    except DecodeError as exc:
        raise VerificationError("format", str(exc)) from None


def verify_json(doc: object, size: int) -> VerifiedBundle | VerifiedBatchFile:
    """Step 1, decoding, of a parsed document of ``size`` bytes, then its verification."""
    try:
        document = document_from_json(doc, size)
    except DecodeError as exc:
        raise VerificationError("format", str(exc)) from None
    if isinstance(document, BatchFile):
        return verify_batch(document)
    return verify_bundle(document)
