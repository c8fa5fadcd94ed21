"""A device key's consent to be registered by one enterprise (EIP-712 ``DeviceConsent``).

The DeviceRegistry registers a key, or rotates an old key to a new one, only with the key's own
signature over the EIP-712 struct :data:`CONSENT_TYPE` under the domain (``TrustMRV``, ``1``,
chainId, verifyingContract = the DeviceRegistry). A consent names the enterprise that may use it
(no other enterprise can front-run it), the site, the key it replaces (zero for a first
registration: a registration consent cannot serve a rotation, nor the reverse), the chain and the
registry, and expires at ``deadline`` (Unix seconds, compared with the block time). A key is
registered at most once per registry, so a consent is used at most once. ``docs/protocol.md``
section 8 specifies it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .codec import UINT64_MAX, format_address
from .eip712 import Domain, typed_digest
from .errors import InvalidConsent
from .hashing import keccak256
from .keys import DeviceKey

__all__ = ["CONSENT_TYPE", "CONSENT_TYPEHASH", "DeviceConsent", "SignedConsent",
           "consent_digest", "sign_consent"]

CONSENT_TYPE = ("DeviceConsent(address device,address enterprise,bytes32 site,address predecessor,"
                "uint64 deadline)")
CONSENT_TYPEHASH = keccak256(CONSENT_TYPE.encode("ascii"))
_PAD12 = bytes(12)


@dataclass(frozen=True, slots=True)
class DeviceConsent:
    """What a device key consents to: ``device`` (20 bytes) registered by ``enterprise`` (20
    bytes) at ``site`` (32 bytes), replacing ``predecessor`` (20 bytes, zero for a first
    registration), until block time ``deadline`` (uint64 Unix seconds).

    Raises :class:`~mrv_core.errors.InvalidConsent` on a field of the wrong type or size.
    """

    device: bytes
    enterprise: bytes
    site: bytes
    deadline: int
    predecessor: bytes = bytes(20)

    def __post_init__(self) -> None:
        for name, value, size in (("device", self.device, 20), ("enterprise", self.enterprise, 20),
                                  ("site", self.site, 32), ("predecessor", self.predecessor, 20)):
            if type(value) is not bytes or len(value) != size:
                raise InvalidConsent(f"consent {name} must be {size} bytes, got {value!r}")
        if type(self.deadline) is not int or not 0 <= self.deadline <= UINT64_MAX:
            raise InvalidConsent(f"consent deadline must be a uint64, got {self.deadline!r}")

    def encode(self) -> bytes:
        """The 192-byte ``typeHash || encodeData(consent)``."""
        return b"".join((CONSENT_TYPEHASH, _PAD12, self.device, _PAD12, self.enterprise,
                         self.site, _PAD12, self.predecessor, self.deadline.to_bytes(32, "big")))


@dataclass(frozen=True, slots=True)
class SignedConsent:
    """A consent and the device key's 65-byte ``r || s || v`` signature of its digest."""

    consent: DeviceConsent
    signature: bytes


def consent_digest(consent: DeviceConsent, domain: Domain) -> bytes:
    """The 32-byte EIP-712 digest ``keccak256(0x1901 || domainSeparator || hashStruct)``;
    ``domain.verifying_contract`` is the DeviceRegistry."""
    return typed_digest(keccak256(consent.encode()), domain)


def sign_consent(key: DeviceKey, consent: DeviceConsent, domain: Domain) -> SignedConsent:
    """The device key's signature of ``consent`` under ``domain`` (the DeviceRegistry's).

    Raises :class:`~mrv_core.errors.InvalidConsent` when ``key`` is not ``consent.device``.
    """
    if key.address != consent.device:
        raise InvalidConsent(f"consent is for device {format_address(consent.device)}, this key "
                             f"is {format_address(key.address)}")
    return SignedConsent(consent, key.sign_digest(consent_digest(consent, domain)))
