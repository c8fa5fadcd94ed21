"""mrv_core: the TrustMRV protocol kernel.

Pure, typed code for what must never drift between the edge node, the ledger API and a
regulator's verifier: the reading model and its quantity codes, EIP-712 hashing, signatures and
device keys, OpenZeppelin-compatible Merkle trees, batches, proof bundles and their verification.
No sockets, no databases.
"""

from .batch import Batch, BatchHeader, build_batch
from .bundle import (
    BATCH_FORMAT,
    BUNDLE_FORMAT,
    AnchorRef,
    BatchFile,
    MultiProofNodes,
    ProofBundle,
    SingleProof,
    bundle_for_readings,
)
from .consent import DeviceConsent, SignedConsent, consent_digest, sign_consent
from .eip712 import (
    BATCH_TYPE,
    BATCH_TYPEHASH,
    READING_TYPE,
    READING_TYPEHASH,
    SAMPLE_DOMAIN,
    Domain,
    batch_digest,
    batch_typed_data,
    leaf_hash,
    reading_digest,
    struct_hash,
    typed_data,
)
from .errors import (
    ConfigError,
    DecodeError,
    FormatError,
    InvalidAddress,
    InvalidBatchHeader,
    InvalidDomain,
    InvalidHex,
    InvalidInteger,
    InvalidMeterPath,
    InvalidReading,
    KeyFileError,
    MerkleError,
    MrvError,
    SignatureError,
    UnknownQuantity,
    VerificationError,
)
from .keys import DeviceKey
from .merkle import MerkleTree, MultiProof, process_multiproof, process_proof
from .quantities import QUANTITIES, Quantity, QuantityKind, quantity_by_code
from .reading import Reading, SignedReading, meter_id, new_salt
from .signing import recover_address
from .verify import (
    STEPS,
    VerifiedBatchFile,
    VerifiedBundle,
    verify_batch,
    verify_bundle,
    verify_file,
)

__all__ = [
    "BATCH_FORMAT",
    "BATCH_TYPE",
    "BATCH_TYPEHASH",
    "BUNDLE_FORMAT",
    "QUANTITIES",
    "READING_TYPE",
    "READING_TYPEHASH",
    "SAMPLE_DOMAIN",
    "STEPS",
    "AnchorRef",
    "Batch",
    "BatchFile",
    "BatchHeader",
    "ConfigError",
    "DecodeError",
    "DeviceConsent",
    "DeviceKey",
    "Domain",
    "FormatError",
    "InvalidAddress",
    "InvalidBatchHeader",
    "InvalidDomain",
    "InvalidHex",
    "InvalidInteger",
    "InvalidMeterPath",
    "InvalidReading",
    "KeyFileError",
    "MerkleError",
    "MerkleTree",
    "MrvError",
    "MultiProof",
    "MultiProofNodes",
    "ProofBundle",
    "Quantity",
    "QuantityKind",
    "Reading",
    "SignatureError",
    "SignedConsent",
    "SignedReading",
    "SingleProof",
    "UnknownQuantity",
    "VerificationError",
    "VerifiedBatchFile",
    "VerifiedBundle",
    "batch_digest",
    "batch_typed_data",
    "build_batch",
    "bundle_for_readings",
    "consent_digest",
    "leaf_hash",
    "meter_id",
    "new_salt",
    "process_multiproof",
    "process_proof",
    "quantity_by_code",
    "reading_digest",
    "recover_address",
    "sign_consent",
    "struct_hash",
    "typed_data",
    "verify_batch",
    "verify_bundle",
    "verify_file",
]
