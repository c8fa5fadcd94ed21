"""Signatures: low-s 65-byte r||s||v only, recovery agreeing with eth-account."""

import contextlib
import random

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import OTHER_KEY, TEST_KEY, bytes32
from mrv_core.errors import SignatureError
from mrv_core.keys import DeviceKey
from mrv_core.signing import SECP256K1_HALF_N, SECP256K1_N, recover_address

DIGEST = bytes(range(32))


def _high_s_twin(sig: bytes) -> bytes:
    """The other valid-looking signature of the same digest: s -> n - s, v flipped."""
    s = int.from_bytes(sig[32:64], "big")
    return sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes((55 - sig[64],))


@settings(max_examples=200)
@given(digest=bytes32, secret=st.integers(min_value=1, max_value=SECP256K1_N - 1))
def test_signatures_are_low_s_and_recover_like_eth_account(digest: bytes, secret: int) -> None:
    raw = secret.to_bytes(32, "big")
    key = DeviceKey.from_private_bytes(raw)
    sig = key.sign_digest(digest)
    assert len(sig) == 65 and sig[64] in (27, 28)
    assert int.from_bytes(sig[32:64], "big") <= SECP256K1_HALF_N
    assert recover_address(digest, sig) == key.address
    assert Account._recover_hash(digest, signature=sig) == Account.from_key(raw).address
    assert Account.unsafe_sign_hash(digest, raw).signature == sig  # RFC 6979, same bytes


def test_high_s_twin_is_rejected() -> None:
    sig = TEST_KEY.sign_digest(DIGEST)
    with pytest.raises(SignatureError, match="high"):
        recover_address(DIGEST, _high_s_twin(sig))


@pytest.mark.parametrize("v", [0, 1, 26, 29, 35, 36, 255])
def test_wrong_v_is_rejected(v: int) -> None:
    sig = TEST_KEY.sign_digest(DIGEST)
    with pytest.raises(SignatureError, match="v must be"):
        recover_address(DIGEST, sig[:64] + bytes((v,)))


@pytest.mark.parametrize("length", [0, 64, 66, 130])
def test_wrong_length_is_rejected(length: int) -> None:
    with pytest.raises(SignatureError, match="65 bytes"):
        recover_address(DIGEST, bytes(length))


@pytest.mark.parametrize("r,s", [(0, 1), (1, 0), (SECP256K1_N, 1), (2**256 - 1, 1)])
def test_out_of_range_r_and_s_are_rejected(r: int, s: int) -> None:
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big") + b"\x1b"
    with pytest.raises(SignatureError):
        recover_address(DIGEST, sig)


def test_a_flipped_bit_never_recovers_the_signer() -> None:
    sig = TEST_KEY.sign_digest(DIGEST)
    rng = random.Random(7)
    for _ in range(200):
        i = rng.randrange(65)
        mutated = bytearray(sig)
        mutated[i] ^= 1 << rng.randrange(8)
        with contextlib.suppress(SignatureError):
            assert recover_address(DIGEST, bytes(mutated)) != TEST_KEY.address


def test_other_digest_recovers_other_address() -> None:
    sig = OTHER_KEY.sign_digest(DIGEST)
    assert recover_address(bytes(32), sig) != OTHER_KEY.address
