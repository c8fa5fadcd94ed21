"""mrv_core.consent: the DeviceConsent digest equals eth_account's EIP-712 hash, the signature
recovers the device, and malformed consents are refused."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given
from hypothesis import strategies as st

from mrv_core.codec import format_address
from mrv_core.consent import (
    CONSENT_TYPE,
    CONSENT_TYPEHASH,
    DeviceConsent,
    consent_digest,
    sign_consent,
)
from mrv_core.eip712 import Domain
from mrv_core.errors import InvalidConsent
from mrv_core.hashing import keccak256
from mrv_core.keys import DeviceKey
from mrv_core.signing import recover_address

KEY = DeviceKey.from_private_bytes(keccak256(b"trustmrv/tests/consent-device"))
REGISTRY = bytes.fromhex("5FbDB2315678afecb367f032d93F642f64180aa3")


def _oracle_digest(consent: DeviceConsent, domain: Domain) -> bytes:
    signable = encode_typed_data(full_message={
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"},
                             {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"},
                             {"name": "verifyingContract", "type": "address"}],
            "DeviceConsent": [{"name": "device", "type": "address"},
                              {"name": "enterprise", "type": "address"},
                              {"name": "site", "type": "bytes32"},
                              {"name": "predecessor", "type": "address"},
                              {"name": "deadline", "type": "uint64"}]},
        "primaryType": "DeviceConsent",
        "domain": {"name": "TrustMRV", "version": "1", "chainId": domain.chain_id,
                   "verifyingContract": format_address(domain.verifying_contract)},
        "message": {"device": format_address(consent.device),
                    "enterprise": format_address(consent.enterprise), "site": consent.site,
                    "predecessor": format_address(consent.predecessor),
                    "deadline": consent.deadline}})
    return keccak256(b"\x19" + signable.version + signable.header + signable.body)


def test_type_hash_is_of_the_documented_type_string() -> None:
    assert CONSENT_TYPE == ("DeviceConsent(address device,address enterprise,bytes32 site,"
                            "address predecessor,uint64 deadline)")
    assert CONSENT_TYPEHASH == keccak256(CONSENT_TYPE.encode())


@given(enterprise=st.binary(min_size=20, max_size=20), site=st.binary(min_size=32, max_size=32),
       predecessor=st.binary(min_size=20, max_size=20), deadline=st.integers(0, 2**64 - 1),
       chain_id=st.integers(1, 2**256 - 1))
def test_digest_equals_eth_account_and_signature_recovers_the_device(
        enterprise: bytes, site: bytes, predecessor: bytes, deadline: int, chain_id: int) -> None:
    consent = DeviceConsent(device=KEY.address, enterprise=enterprise, site=site,
                            predecessor=predecessor, deadline=deadline)
    domain = Domain(chain_id, REGISTRY)
    digest = consent_digest(consent, domain)
    assert digest == _oracle_digest(consent, domain)
    signed = sign_consent(KEY, consent, domain)
    assert recover_address(digest, signed.signature) == KEY.address
    assert Account._recover_hash(digest, signature=signed.signature) == format_address(
        KEY.address)


def test_every_field_changes_the_digest() -> None:
    base = DeviceConsent(device=KEY.address, enterprise=b"\x01" * 20, site=b"\x02" * 32,
                         predecessor=bytes(20), deadline=1_900_000_000)
    domain = Domain(31337, REGISTRY)
    variants = [DeviceConsent(device=b"\x09" * 20, enterprise=b"\x01" * 20, site=b"\x02" * 32,
                              deadline=1_900_000_000),
                DeviceConsent(device=KEY.address, enterprise=b"\x03" * 20, site=b"\x02" * 32,
                              deadline=1_900_000_000),
                DeviceConsent(device=KEY.address, enterprise=b"\x01" * 20, site=b"\x04" * 32,
                              deadline=1_900_000_000),
                DeviceConsent(device=KEY.address, enterprise=b"\x01" * 20, site=b"\x02" * 32,
                              predecessor=b"\x05" * 20, deadline=1_900_000_000),
                DeviceConsent(device=KEY.address, enterprise=b"\x01" * 20, site=b"\x02" * 32,
                              deadline=1_900_000_001)]
    digests = {consent_digest(c, domain) for c in (base, *variants)}
    digests |= {consent_digest(base, Domain(31338, REGISTRY)),
                consent_digest(base, Domain(31337, b"\x06" * 20))}
    assert len(digests) == 1 + len(variants) + 2


@pytest.mark.parametrize("field, value", [("device", b"\x01" * 19), ("enterprise", "0x01"),
                                          ("site", b"\x02" * 31), ("predecessor", b"\x03" * 21),
                                          ("deadline", -1), ("deadline", 2**64),
                                          ("deadline", True)])
def test_malformed_consent_is_refused(field: str, value: object) -> None:
    fields: dict[str, object] = {"device": KEY.address, "enterprise": b"\x01" * 20,
                                 "site": b"\x02" * 32, "predecessor": bytes(20),
                                 "deadline": 1_900_000_000}
    fields[field] = value
    with pytest.raises(InvalidConsent, match=field):
        DeviceConsent(**fields)  # type: ignore[arg-type]


def test_a_key_signs_only_its_own_consent() -> None:
    other = DeviceConsent(device=b"\x07" * 20, enterprise=b"\x01" * 20, site=b"\x02" * 32,
                          deadline=1)
    with pytest.raises(InvalidConsent, match="this key is"):
        sign_consent(KEY, other, Domain(1, REGISTRY))
