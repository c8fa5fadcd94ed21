"""EIP-712 hashing of readings and batch headers: type hashes, domain separator, struct hashes,
digests, the Merkle leaf, and the JSON documents wallets sign.

Every field of ``Reading`` is a static ABI type, so its EIP-712 encoding is eight 32-byte words
(the type hash, then one word per field) that this module packs by hand: one ``join`` and one
keccak per step. ``eth_abi`` computes the same bytes about 13 times slower and eth-account's
``encode_typed_data`` the digest about 60 times slower (``make bench``); both serve only as test
oracles.

The domain is ``EIP712Domain(string name,string version,uint256 chainId,address
verifyingContract)`` with name ``TrustMRV`` and version ``1``; ``verifyingContract`` is the
AnchorRegistry. Offline samples use :data:`SAMPLE_DOMAIN` (chain id 0, zero address), a domain no
EIP-155 chain can have, so a sample signature can never pass for a signature on a real chain.

The device also signs each batch header, the struct ``Batch(address device,uint64 batchSeq,
bytes32 root,uint32 leafCount,uint64 fromTimestamp,uint64 toTimestamp)``, under the same domain
(:func:`batch_digest`): seven static words, packed the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from .codec import UINT256_MAX, format_address
from .errors import InvalidDomain
from .hashing import keccak256, keccak_256
from .quantities import QUANTITIES
from .reading import Reading

if TYPE_CHECKING:  # batch.py imports this module for leaf_hash; headers are read by attribute
    from .batch import BatchHeader

__all__ = [
    "BATCH_TYPE",
    "BATCH_TYPEHASH",
    "DOMAIN_NAME",
    "DOMAIN_TYPEHASH",
    "DOMAIN_VERSION",
    "READING_TYPE",
    "READING_TYPEHASH",
    "SAMPLE_DOMAIN",
    "Domain",
    "batch_digest",
    "batch_struct_hash",
    "batch_typed_data",
    "encode_batch_struct",
    "encode_reading_fields",
    "encode_struct",
    "leaf_from_struct_hash",
    "leaf_hash",
    "reading_digest",
    "struct_hash",
    "typed_data",
    "typed_digest",
    "typed_document",
]

DOMAIN_NAME = "TrustMRV"
DOMAIN_VERSION = "1"
DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
READING_TYPE = (
    "Reading(address device,bytes32 meter,uint64 seq,uint64 timestamp,bytes32 quantity,"
    "int256 value,bytes32 salt)"
)
BATCH_TYPE = (
    "Batch(address device,uint64 batchSeq,bytes32 root,uint32 leafCount,uint64 fromTimestamp,"
    "uint64 toTimestamp)"
)
DOMAIN_TYPEHASH = keccak256(DOMAIN_TYPE.encode("ascii"))
READING_TYPEHASH = keccak256(READING_TYPE.encode("ascii"))
BATCH_TYPEHASH = keccak256(BATCH_TYPE.encode("ascii"))

_PAD12 = bytes(12)
_QUANTITY_WORD = {code: q.code_bytes for code, q in QUANTITIES.items()}
_EIP191_PREFIX = b"\x19\x01"


@dataclass(frozen=True, slots=True)
class Domain:
    """The EIP-712 domain readings are signed under (name and version are fixed by protocol)."""

    chain_id: int
    verifying_contract: bytes  # 20-byte AnchorRegistry address

    def __post_init__(self) -> None:
        if type(self.chain_id) is not int or not 0 <= self.chain_id <= UINT256_MAX:
            raise InvalidDomain("chainId", f"domain chainId must be a uint256, got "
                                           f"{self.chain_id!r}")
        if type(self.verifying_contract) is not bytes or len(self.verifying_contract) != 20:
            raise InvalidDomain("verifyingContract",
                                "domain verifyingContract must be 20 bytes")

    @property
    def name(self) -> str:
        return DOMAIN_NAME

    @property
    def version(self) -> str:
        return DOMAIN_VERSION

    @property
    def is_sample(self) -> bool:
        """True for the offline sample domain, which no chain can have."""
        return self == SAMPLE_DOMAIN

    @property
    def separator(self) -> bytes:
        """The 32-byte EIP-712 domain separator."""
        return _domain_separator(self.chain_id, self.verifying_contract)


@lru_cache(maxsize=64)
def _domain_separator(chain_id: int, verifying_contract: bytes) -> bytes:
    return keccak256(
        DOMAIN_TYPEHASH
        + keccak256(DOMAIN_NAME.encode("ascii"))
        + keccak256(DOMAIN_VERSION.encode("ascii"))
        + chain_id.to_bytes(32, "big")
        + _PAD12
        + verifying_contract
    )


SAMPLE_DOMAIN = Domain(chain_id=0, verifying_contract=bytes(20))


def encode_struct(reading: Reading) -> bytes:
    """The 256-byte EIP-712 ``typeHash || encodeData(reading)``; also ``abi.encode`` of the leaf
    value list ``(typeHash, device, meter, seq, timestamp, quantity, value, salt)``."""
    return encode_reading_fields(reading.device, reading.meter, reading.seq, reading.timestamp,
                                 reading.quantity, reading.value, reading.salt)


def encode_reading_fields(device: bytes, meter: bytes, seq: int, timestamp: int, quantity: str,
                          value: int, salt: bytes) -> bytes:
    """:func:`encode_struct` of the reading with these fields, without building a
    :class:`Reading`: for a signer whose fields are already checked (the edge node's samples,
    its store's seq), where the second check would cost as much as a keccak. Fields out of
    range still fail: ``OverflowError`` for an int that does not fit its word, ``KeyError`` for
    an unregistered quantity; byte fields are not checked (20 and 32 bytes are the caller's
    to guarantee)."""
    return b"".join((
        READING_TYPEHASH,
        _PAD12,
        device,
        meter,
        seq.to_bytes(32, "big"),
        timestamp.to_bytes(32, "big"),
        _QUANTITY_WORD[quantity],
        value.to_bytes(32, "big", signed=True),
        salt,
    ))


def struct_hash(reading: Reading) -> bytes:
    """EIP-712 ``hashStruct(reading)``."""
    return keccak_256(encode_struct(reading)).digest()


def typed_digest(struct_hash_: bytes, domain: Domain) -> bytes:
    """The EIP-712 digest of any struct hash under ``domain``:
    ``keccak256(0x1901 || domainSeparator || structHash)``."""
    return keccak_256(_EIP191_PREFIX + domain.separator + struct_hash_).digest()


def reading_digest(reading: Reading, domain: Domain) -> bytes:
    """The digest the device signs over a reading (:func:`typed_digest` of its struct hash)."""
    return typed_digest(struct_hash(reading), domain)


def leaf_from_struct_hash(struct_hash_: bytes) -> bytes:
    """Merkle leaf of a reading (or a record) whose struct hash is known:
    ``keccak256(structHash)``."""
    return keccak_256(struct_hash_).digest()


def leaf_hash(reading: Reading) -> bytes:
    """Merkle leaf of a reading: ``keccak256(structHash)``, OpenZeppelin StandardMerkleTree's leaf
    for the value list above (``keccak256(keccak256(abi.encode(values)))``)."""
    return keccak_256(keccak_256(encode_struct(reading)).digest()).digest()


def encode_batch_struct(header: BatchHeader) -> bytes:
    """The 224-byte EIP-712 ``typeHash || encodeData(header)`` of a ``Batch`` struct."""
    return b"".join((
        BATCH_TYPEHASH,
        _PAD12,
        header.device,
        header.batch_seq.to_bytes(32, "big"),
        header.root,
        header.leaf_count.to_bytes(32, "big"),
        header.from_timestamp.to_bytes(32, "big"),
        header.to_timestamp.to_bytes(32, "big"),
    ))


def batch_struct_hash(header: BatchHeader) -> bytes:
    """EIP-712 ``hashStruct(header)`` of the ``Batch`` struct."""
    return keccak_256(encode_batch_struct(header)).digest()


def batch_digest(header: BatchHeader, domain: Domain) -> bytes:
    """The digest a device signs over its batch header, under the readings' domain:
    ``keccak256(0x1901 || domainSeparator || hashStruct(Batch))``."""
    return typed_digest(batch_struct_hash(header), domain)


_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def typed_document(primary: str, fields: list[dict[str, str]], domain: Domain,
                   message: dict[str, str]) -> dict[str, object]:
    """An ``eth_signTypedData_v4`` document of one static struct ``primary`` under ``domain``
    (``message`` already in JSON form: integers as base-10 strings, bytes as ``0x`` hex)."""
    return {
        "types": {"EIP712Domain": _DOMAIN_FIELDS, primary: fields},
        "primaryType": primary,
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": str(domain.chain_id),
            "verifyingContract": format_address(domain.verifying_contract),
        },
        "message": message,
    }


def typed_data(reading: Reading, domain: Domain) -> dict[str, object]:
    """The reading as an EIP-712 JSON document in the ``eth_signTypedData_v4`` shape, ready for
    wallets, nodes, ethers and eth-account.

    Every integer (``seq``, ``timestamp``, ``value``, ``chainId``) is a base-10 **string**: a
    JSON number would be refused by nodes for a large or negative ``int256`` and rounded above
    2^53 by JavaScript, changing the digest. Bytes are ``0x`` hex, addresses EIP-55.
    """
    return typed_document("Reading", [
        {"name": "device", "type": "address"},
        {"name": "meter", "type": "bytes32"},
        {"name": "seq", "type": "uint64"},
        {"name": "timestamp", "type": "uint64"},
        {"name": "quantity", "type": "bytes32"},
        {"name": "value", "type": "int256"},
        {"name": "salt", "type": "bytes32"},
    ], domain, {
        "device": format_address(reading.device),
        "meter": "0x" + reading.meter.hex(),
        "seq": str(reading.seq),
        "timestamp": str(reading.timestamp),
        "quantity": "0x" + _QUANTITY_WORD[reading.quantity].hex(),
        "value": str(reading.value),
        "salt": "0x" + reading.salt.hex(),
    })


def batch_typed_data(header: BatchHeader, domain: Domain) -> dict[str, object]:
    """The batch header as an EIP-712 JSON document (``eth_signTypedData_v4`` shape), integers
    as base-10 strings like :func:`typed_data`."""
    return typed_document("Batch", [
        {"name": "device", "type": "address"},
        {"name": "batchSeq", "type": "uint64"},
        {"name": "root", "type": "bytes32"},
        {"name": "leafCount", "type": "uint32"},
        {"name": "fromTimestamp", "type": "uint64"},
        {"name": "toTimestamp", "type": "uint64"},
    ], domain, {
        "device": format_address(header.device),
        "batchSeq": str(header.batch_seq),
        "root": "0x" + header.root.hex(),
        "leafCount": str(header.leaf_count),
        "fromTimestamp": str(header.from_timestamp),
        "toTimestamp": str(header.to_timestamp),
    })
