"""Bindings to one deployed system: its contracts, the calls other parts need, typed results.

Reads go through ``eth_call`` with the chain's retry policy; writes take the
:class:`~mrv_core.chain.transactions.Transactor` of the account that must send them (the
enterprise registers its devices with their consent, the device anchors its own batches, or a
relayer anchors a batch header the device signed). Arguments that cannot succeed are refused
before anything is sent, with :class:`~mrv_core.errors.RefusedBeforeSending`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from web3.contract import Contract

from ..batch import BatchHeader
from ..bundle import AnchorRef
from ..codec import format_address, parse_address
from ..consent import DeviceConsent, SignedConsent, sign_consent
from ..eip712 import Domain, batch_digest
from ..errors import RefusedBeforeSending, SignatureError, WrongChain
from ..keys import DeviceKey
from ..signing import recover_address
from .artifacts import Artifacts, load_artifacts
from .backend import Chain, checksum
from .deployment import Deployment, require_chain
from .transactions import OnSigned, Sent, Transactor

__all__ = ["CONSENT_VALIDITY_S", "DEVICE_STATUSES", "ROLES", "System"]

T = TypeVar("T")
ROLES = ("ASSOCIATION_ROLE", "ENTERPRISE_ROLE", "REGULATOR_ROLE")
#: ``IDeviceRegistry.DeviceStatus`` by its numeric value.
DEVICE_STATUSES = ("unregistered", "active", "suspended", "revoked")
#: How long a consent made by :meth:`System.register_device` from a key stays usable, seconds
#: after the latest block's time.
CONSENT_VALIDITY_S = 3600
_SIGNATURE_BYTES = 65


class System:
    """The contracts of one deployment on one chain."""

    def __init__(self, chain: Chain, deployment: Deployment,
                 artifacts: Artifacts | None = None) -> None:
        try:
            require_chain(deployment, chain.chain_id)
        except WrongChain as exc:
            if not chain.embedded:
                raise
            raise WrongChain(f"{exc}: no node was named, so this is a new embedded chain in "
                             "this process; give the node the deployment is on (--rpc URL or "
                             "MRV_RPC_URL)") from None
        self.chain = chain
        self.deployment = deployment
        self.artifacts = artifacts or load_artifacts()
        self.consortium = self._contract("Consortium")
        self.anchors = self._contract("AnchorRegistry")
        self.devices = self._contract("DeviceRegistry")
        self.methodologies = self._contract("MethodologyRegistry")
        self.reports = self._contract("ReportRegistry")

    def _contract(self, name: str) -> Contract:
        return self.at(name, self.deployment.contracts[name])

    def at(self, name: str, address: bytes | str) -> Contract:
        """The contract of artifact ``name`` at ``address`` on this chain (one not in the
        deployment, e.g. a methodology version)."""
        return self.chain.w3.eth.contract(address=checksum(address), abi=self.artifacts.abi(name))

    @property
    def domain(self) -> Domain:
        """The EIP-712 domain readings of this deployment are signed under."""
        return Domain(self.chain.chain_id, self.deployment.contracts["AnchorRegistry"])

    @property
    def consent_domain(self) -> Domain:
        """The EIP-712 domain device consents are signed under (verifyingContract: the
        DeviceRegistry)."""
        return Domain(self.chain.chain_id, self.deployment.contracts["DeviceRegistry"])

    def call(self, what: str, function: Callable[[], T]) -> T:
        return self.chain.retrying(what, function)

    def check_code(self) -> None:
        """Raise :class:`WrongChain` unless every contract of the deployment has code."""
        w3 = self.chain.w3
        for name, address in self.deployment.contracts.items():
            code = self.call("eth_getCode", lambda a=address: w3.eth.get_code(checksum(a)))  # type: ignore[misc]
            if not code:
                raise WrongChain(f"no {name} code at {format_address(address)} on chainId "
                                 f"{self.chain.chain_id}: wrong deployment file or node")

    # -- roles ------------------------------------------------------------------------------------

    def role(self, name: str) -> bytes:
        if name not in (*ROLES, "DEFAULT_ADMIN_ROLE"):
            raise RefusedBeforeSending(f"unknown role {name!r}: expected one of "
                                       f"{', '.join((*ROLES, 'DEFAULT_ADMIN_ROLE'))}")
        fn = getattr(self.consortium.functions, name)
        return bytes(self.call("eth_call", lambda: fn().call()))

    def has_role(self, name: str, account: str) -> bool:
        role = self.role(name)
        return bool(self.call("eth_call",
                              lambda: self.consortium.functions.hasRole(role, account).call()))

    def grant_role(self, admin: Transactor, name: str, account: str) -> Sent:
        return admin.send(self.consortium.functions.grantRole(self.role(name), account),
                          description=f"grant {name} to {account}")

    def revoke_role(self, admin: Transactor, name: str, account: str) -> Sent:
        """Revoke a role; revoking ``ENTERPRISE_ROLE`` stops the enterprise's devices."""
        return admin.send(self.consortium.functions.revokeRole(self.role(name), account),
                          description=f"revoke {name} from {account}")

    def reactivate_enterprise(self, admin: Transactor, enterprise: str) -> Sent:
        """Let the devices of an enterprise that holds ``ENTERPRISE_ROLE`` again anchor again
        (the admin only; reverts with ``DeviceRegistryEnterpriseNotStopped`` otherwise)."""
        return admin.send(self.devices.functions.reactivateEnterprise(enterprise),
                          description=f"reactivate enterprise {enterprise}")

    def enterprise_stopped(self, enterprise: str) -> bool:
        """Whether the enterprise lost its role and was not reactivated."""
        return bool(self.call("eth_call", lambda: self.devices.functions.enterpriseStanding(
            enterprise).call()[1]))

    # -- devices ----------------------------------------------------------------------------------

    def register_device(self, enterprise: Transactor, device: DeviceKey | SignedConsent,
                        site: bytes, metadata_hash: bytes, *,
                        valid_for: int = CONSENT_VALIDITY_S) -> Sent:
        """Register a device for ``enterprise`` at ``site`` (32 bytes) with its consent: either
        the device key itself (which signs a consent valid for ``valid_for`` seconds after the
        latest block) or a consent the device signed elsewhere.

        Raises :class:`RefusedBeforeSending` when a given consent names another enterprise or
        site or is for a rotation, and the contract's decoded error when it reverts.
        """
        signed = self._consent(enterprise, device, site, bytes(20), valid_for)
        address = format_address(signed.consent.device)
        return enterprise.send(
            self.devices.functions.registerDevice(address, site, metadata_hash,
                                                  signed.consent.deadline, signed.signature),
            description=f"register device {address}")

    def rotate_device(self, enterprise: Transactor, device: bytes,
                      new_device: DeviceKey | SignedConsent, metadata_hash: bytes, *,
                      valid_for: int = CONSENT_VALIDITY_S) -> Sent:
        """Replace ``device`` (20 bytes) by a new key, with the new key's consent (the key
        itself, or a consent it signed elsewhere naming ``device`` as its predecessor and the
        old key's site). Raises as :meth:`register_device` does."""
        site = bytes(self.device_record(device)[6])
        signed = self._consent(enterprise, new_device, site, device, valid_for)
        old, new = format_address(device), format_address(signed.consent.device)
        return enterprise.send(
            self.devices.functions.rotateDevice(old, new, metadata_hash, signed.consent.deadline,
                                                signed.signature),
            description=f"rotate device {old} to {new}")

    def _consent(self, enterprise: Transactor, device: DeviceKey | SignedConsent, site: bytes,
                 predecessor: bytes, valid_for: int) -> SignedConsent:
        expected = DeviceConsent(
            device=device.address if isinstance(device, DeviceKey) else device.consent.device,
            enterprise=parse_address(enterprise.address), site=site, predecessor=predecessor,
            deadline=(self.chain.latest_timestamp() + valid_for if isinstance(device, DeviceKey)
                      else device.consent.deadline))
        if isinstance(device, DeviceKey):
            return sign_consent(device, expected, self.consent_domain)
        if device.consent != expected:
            raise RefusedBeforeSending(f"the consent is {device.consent}, this registration "
                                       f"needs {expected}")
        if len(device.signature) != _SIGNATURE_BYTES:
            raise RefusedBeforeSending(f"a consent signature is {_SIGNATURE_BYTES} bytes, got "
                                       f"{len(device.signature)}")
        return device

    def device_status(self, device: bytes) -> str:
        """``unregistered``, ``active``, ``suspended`` or ``revoked``."""
        address = format_address(device)
        status = int(self.call("eth_call",
                               lambda: self.devices.functions.statusOf(address).call()))
        return DEVICE_STATUSES[status]

    def is_registered_at(self, device: bytes, block: int) -> bool:
        address = format_address(device)
        return bool(self.call("eth_call", lambda: self.devices.functions.isRegisteredAt(
            address, block).call()))

    def device_record(self, device: bytes) -> Any:
        address = format_address(device)
        return self.call("eth_call", lambda: self.devices.functions.device(address).call())

    # -- anchors ----------------------------------------------------------------------------------

    def next_batch_seq(self, device: bytes) -> int:
        address = format_address(device)
        return int(self.call("eth_call",
                             lambda: self.anchors.functions.nextBatchSeq(address).call()))

    def batch_root(self, device: bytes, batch_seq: int) -> bytes:
        address = format_address(device)
        return bytes(self.call("eth_call", lambda: self.anchors.functions.batchRoot(
            address, batch_seq).call()))

    def anchor(self, device: Transactor, header: BatchHeader, *,
               on_signed: OnSigned | None = None) -> AnchorRef:
        """Anchor ``header`` from the device's own account; return where it landed.

        ``on_signed`` is passed to :meth:`Transactor.send` (record the transaction before it can
        be mined). Raises :class:`RefusedBeforeSending` when ``device`` is not the header's
        device, and the contract's decoded error when it reverts.
        """
        if format_address(header.device) != device.address:
            raise RefusedBeforeSending(f"batch of {format_address(header.device)} cannot be "
                                       f"anchored by {device.address}")
        sent = device.send(self.anchors.functions.anchor(
            header.batch_seq, header.root, header.leaf_count, header.from_timestamp,
            header.to_timestamp), description=f"anchor batch {header.batch_seq}",
            on_signed=on_signed)
        return self._anchor_ref(sent)

    def anchor_by_sig(self, relayer: Transactor, header: BatchHeader, signature: bytes, *,
                      on_signed: OnSigned | None = None) -> AnchorRef:
        """Anchor ``header`` for its device from any ``relayer`` account, with the device's
        65-byte EIP-712 ``Batch`` signature (under :attr:`domain`); return where it landed.
        ``on_signed`` as for :meth:`anchor`.

        Raises :class:`RefusedBeforeSending` when the signature is not 65 bytes, is not canonical
        or does not recover the header's device under :attr:`domain` (nothing is sent), and the
        contract's decoded error when it reverts (``AnchorRegistryBatchSeqMismatch``,
        ``AnchorRegistryDeviceNotActive``...).
        """
        if len(signature) != _SIGNATURE_BYTES:
            raise RefusedBeforeSending(f"a batch signature is {_SIGNATURE_BYTES} bytes, got "
                                       f"{len(signature)}")
        try:
            signer = recover_address(batch_digest(header, self.domain), signature)
        except SignatureError as exc:
            raise RefusedBeforeSending(f"the batch signature is unusable: {exc}") from None
        if signer != header.device:
            raise RefusedBeforeSending(
                f"the batch signature recovers {format_address(signer)} under this chain's "
                f"domain, the header's device is {format_address(header.device)}")
        sent = relayer.send(self.anchors.functions.anchorBySig(
            format_address(header.device), header.batch_seq, header.root, header.leaf_count,
            header.from_timestamp, header.to_timestamp, signature),
            description=f"relay batch {header.batch_seq} of {format_address(header.device)}",
            on_signed=on_signed)
        return self._anchor_ref(sent)

    def _anchor_ref(self, sent: Sent) -> AnchorRef:
        return AnchorRef(chain_id=self.chain.chain_id,
                         anchor_registry=self.deployment.contracts["AnchorRegistry"],
                         device_registry=self.deployment.contracts["DeviceRegistry"],
                         transaction_hash=sent.tx_hash, block_number=sent.block_number)

    def anchored_headers(self, receipt: Any) -> list[BatchHeader]:
        """The batch headers a transaction anchored, read from its ``BatchAnchored`` events."""
        from web3.logs import DISCARD

        events = self.anchors.events.BatchAnchored().process_receipt(receipt, errors=DISCARD)
        return [BatchHeader(device=bytes.fromhex(e["args"]["device"][2:]),
                            batch_seq=int(e["args"]["batchSeq"]), root=bytes(e["args"]["root"]),
                            leaf_count=int(e["args"]["leafCount"]),
                            from_timestamp=int(e["args"]["fromTimestamp"]),
                            to_timestamp=int(e["args"]["toTimestamp"]))
                for e in events if e["address"] == self.anchors.address]

    def verify_reading(self, device: bytes, batch_seq: int, leaf: bytes,
                       proof: Sequence[bytes]) -> bool:
        address = format_address(device)
        return bool(self.call("eth_call", lambda: self.anchors.functions.verifyReading(
            address, batch_seq, leaf, list(proof)).call()))

    def verify_readings(self, device: bytes, batch_seq: int, leaves: Sequence[bytes],
                        proof: Sequence[bytes], flags: Sequence[bool]) -> bool:
        address = format_address(device)
        return bool(self.call("eth_call", lambda: self.anchors.functions.verifyReadings(
            address, batch_seq, list(leaves), list(proof), list(flags)).call()))
