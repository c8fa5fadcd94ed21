"""secp256k1 signatures over 32-byte digests, in Ethereum's 65-byte ``r || s || v`` form.

Signing goes through libsecp256k1 (coincurve), which always produces low-s signatures. Recovery
is strict: exactly 65 bytes, ``v`` of 27 or 28, ``0 < r < n``, ``0 < s <= n/2`` (EIP-2; a high-s
twin of a valid signature is rejected, never normalised), which matches OpenZeppelin's ``ECDSA``.
"""

from __future__ import annotations

from coincurve import PrivateKey, PublicKey

from .errors import SignatureError
from .hashing import keccak_256

__all__ = [
    "SECP256K1_HALF_N",
    "SECP256K1_N",
    "address_of_public_key",
    "recover_address",
    "sign_digest",
]

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_N = SECP256K1_N // 2


def sign_digest(key: PrivateKey, digest: bytes) -> bytes:
    """Sign a 32-byte digest; return ``r || s || v`` with ``v`` in {27, 28} and low ``s``."""
    if len(digest) != 32:
        raise SignatureError(f"digest must be 32 bytes, got {len(digest)}")
    sig = key.sign_recoverable(digest, hasher=None)
    return sig[:64] + bytes((sig[64] + 27,))


def address_of_public_key(public_key: PublicKey) -> bytes:
    """The 20-byte Ethereum address of a public key."""
    return keccak_256(public_key.format(compressed=False)[1:]).digest()[12:]


def recover_address(digest: bytes, signature: bytes) -> bytes:
    """Recover the signer's 20-byte address, rejecting every non-canonical signature form."""
    if len(digest) != 32:
        raise SignatureError(f"digest must be 32 bytes, got {len(digest)}")
    if len(signature) != 65:
        raise SignatureError(f"signature must be 65 bytes (r||s||v), got {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v not in (27, 28):
        raise SignatureError(f"signature v must be 27 or 28, got {v}")
    if not 0 < r < SECP256K1_N:
        raise SignatureError("signature r is out of range")
    if not 0 < s <= SECP256K1_HALF_N:
        raise SignatureError("signature s is zero or high (non-canonical, EIP-2)")
    try:
        public_key = PublicKey.from_signature_and_message(
            signature[:64] + bytes((v - 27,)), digest, hasher=None
        )
    except Exception as exc:  # coincurve raises a bare Exception for unrecoverable points
        raise SignatureError(f"signature does not recover a public key: {exc}") from None
    return address_of_public_key(public_key)
