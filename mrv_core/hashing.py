"""keccak256, the one hash function of the protocol.

safe-pysha3 (the C keccak that eth-hash itself uses on new Pythons) hashes ~1.6M short messages/s
here, against ~240k/s for pycryptodome, which eth-hash would otherwise pick. Everything in the hot
paths (EIP-712 hashing, leaves, tree nodes) calls :func:`keccak256` or binds ``keccak_256``
directly.
"""

from __future__ import annotations

from sha3 import keccak_256

__all__ = ["keccak256", "keccak_256"]


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte Keccak-256 digest of ``data`` (Ethereum's keccak, not NIST SHA3-256)."""
    return keccak_256(data).digest()
