"""DeviceRegistry consent: a key is registered (or rotated to) only with its own EIP-712
``DeviceConsent`` signature, bound to the enterprise, site, predecessor, deadline, chain and
registry, and usable once."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak
from integration.contracts.support import (
    CONSENT_FIELDS,
    SITE,
    SITE_B,
    System,
    high_s_twin,
    oracle_typed_data,
)

from mrv_core.codec import parse_address
from mrv_core.consent import DeviceConsent, consent_digest, sign_consent
from mrv_core.eip712 import Domain
from mrv_core.errors import ContractRevert, RefusedBeforeSending
from mrv_core.keys import DeviceKey

ZERO = "0x0000000000000000000000000000000000000000"


def test_digest_equals_the_contract_and_eth_account(system: System) -> None:
    device, enterprise = system.spares[0], system.enterprise
    deadline = 2**40 + 7
    for predecessor in (ZERO, system.device.address):
        consent = DeviceConsent(device=device.key.address,
                                enterprise=parse_address(enterprise.address), site=SITE,
                                predecessor=parse_address(predecessor), deadline=deadline)
        signable = oracle_typed_data(
            "DeviceConsent", CONSENT_FIELDS,
            {"device": device.address, "enterprise": enterprise.address, "site": SITE,
             "predecessor": predecessor, "deadline": deadline},
            system.chain.client.chain_id, system.devices.address)
        expected = keccak(b"\x19" + signable.version + signable.header + signable.body)
        assert consent_digest(consent, system.core.consent_domain) == expected
        assert system.devices.functions.consentDigest(
            device.address, enterprise.address, SITE, predecessor, deadline).call() == expected
        # eth_account's signature is accepted by the contract's recovery as the device's.
        signature = bytes(Account.sign_message(signable, device.account.key).signature)
        assert signature == sign_consent(device.key, consent,
                                         system.core.consent_domain).signature


def test_second_enterprise_cannot_register_a_device_it_holds_no_key_for(system: System) -> None:
    """Without having seen anything: whatever enterprise2 signs itself recovers another signer."""
    device, intruder = system.spares[0], system.enterprise2
    deadline = system.chain.latest_timestamp() + 3600
    forged = DeviceConsent(device=device.key.address, enterprise=parse_address(intruder.address),
                           site=SITE_B, deadline=deadline)
    own_key = DeviceKey.from_private_bytes(bytes(intruder.key))
    signature = own_key.sign_digest(consent_digest(forged, system.core.consent_domain))
    decoded = system.chain.revert_of(system.devices.functions.registerDevice(
        device.address, SITE_B, bytes(32), deadline, signature), intruder)
    assert (decoded.error, decoded.args_by_name) == (
        "DeviceRegistryConsentSignerMismatch", {"device": device.address,
                                                "signer": intruder.address})


def test_front_running_with_the_seen_consent_fails(system: System) -> None:
    """enterprise2 copies the honest registration from the mempool and sends it first: the
    consent names `enterprise`, so for enterprise2 it recovers another signer. The honest
    registration then succeeds."""
    device = system.spares[0]
    honest = system.register_call(device, system.enterprise)
    with pytest.raises(ContractRevert.named("DeviceRegistryConsentSignerMismatch")) as failed:
        system.chain.send(honest, system.enterprise2, gas=500_000)  # mined first, and fails
    assert failed.value.receipt["status"] == 0  # type: ignore[index]
    assert failed.value.args_by_name["device"] == device.address
    system.chain.send(honest, system.enterprise)
    assert system.devices.functions.device(device.address).call()[0] == system.enterprise.address
    # Seeing the mined transaction helps no more: the key is taken.
    assert system.chain.revert_of(honest, system.enterprise2).error == \
        "DeviceRegistryDeviceExists"


def test_a_replayed_consent_fails(system: System) -> None:
    device = system.spares[0]
    call = system.register_call(device, system.enterprise)
    system.chain.send(call, system.enterprise)
    system.chain.send(system.devices.functions.revokeDevice(device.address), system.enterprise)
    decoded = system.chain.revert_of(call, system.enterprise)  # even after revocation
    assert (decoded.error, decoded.args_by_name) == (
        "DeviceRegistryDeviceExists", {"device": device.address})


def test_registration_and_rotation_consents_are_not_interchangeable(system: System) -> None:
    new, old = system.spares[1], system.device.address
    # A registration consent (no predecessor) offered for a rotation...
    deadline, signature = system.consent(new, system.enterprise)
    decoded = system.chain.revert_of(system.devices.functions.rotateDevice(
        old, new.address, bytes(32), deadline, signature), system.enterprise)
    assert decoded.error == "DeviceRegistryConsentSignerMismatch"
    # ... and a rotation consent offered for a registration.
    deadline, signature = system.consent(new, system.enterprise, predecessor=old)
    decoded = system.chain.revert_of(system.devices.functions.registerDevice(
        new.address, SITE, bytes(32), deadline, signature), system.enterprise)
    assert decoded.error == "DeviceRegistryConsentSignerMismatch"


def test_rotation_needs_the_new_keys_consent(system: System) -> None:
    """The enterprise holds the old key: the old key's signature of the very consent the new key
    should give is refused."""
    old, new = system.device, system.spares[1]
    consent = DeviceConsent(device=new.key.address,
                            enterprise=parse_address(system.enterprise.address), site=SITE,
                            predecessor=old.key.address,
                            deadline=system.chain.latest_timestamp() + 600)
    by_old_key = old.key.sign_digest(consent_digest(consent, system.core.consent_domain))
    decoded = system.chain.revert_of(system.devices.functions.rotateDevice(
        old.address, new.address, bytes(32), consent.deadline, by_old_key), system.enterprise)
    assert (decoded.error, decoded.args_by_name) == (
        "DeviceRegistryConsentSignerMismatch", {"device": new.address, "signer": old.address})
    system.chain.send(system.rotate_call(old.address, new, system.enterprise), system.enterprise)


def test_consent_for_another_site_is_rejected(system: System) -> None:
    device = system.spares[0]
    deadline, signature = system.consent(device, system.enterprise, site=SITE_B)
    decoded = system.chain.revert_of(system.devices.functions.registerDevice(
        device.address, SITE, bytes(32), deadline, signature), system.enterprise)
    assert decoded.error == "DeviceRegistryConsentSignerMismatch"


def test_expired_consent_fails_and_the_deadline_itself_is_valid(system: System) -> None:
    chain, device = system.chain, system.spares[0]
    t = chain.latest_timestamp() + 100
    deadline, signature = system.consent(device, system.enterprise, deadline=t - 1)
    call = system.devices.functions.registerDevice(device.address, SITE, bytes(32), deadline,
                                                   signature)
    chain.set_next_timestamp(t)
    # Explicit gas: estimation would run against the latest block's time, not the next one's.
    with pytest.raises(ContractRevert.named("DeviceRegistryConsentExpired")) as failed:
        chain.send(call, system.enterprise, gas=500_000)
    assert failed.value.args_by_name == {"device": device.address, "deadline": t - 1, "now": t}
    deadline, signature = system.consent(device, system.enterprise, deadline=t + 10)
    chain.set_next_timestamp(t + 10)
    chain.send(system.devices.functions.registerDevice(device.address, SITE, bytes(32), deadline,
                                                       signature), system.enterprise,
               gas=500_000)
    assert system.core.device_status(device.key.address) == "active"


def test_consent_for_another_chain_or_registry_fails(system: System) -> None:
    device = system.spares[0]
    deadline = system.chain.latest_timestamp() + 3600
    consent = DeviceConsent(device=device.key.address,
                            enterprise=parse_address(system.enterprise.address), site=SITE,
                            deadline=deadline)
    for domain in (Domain(system.chain.client.chain_id + 1, parse_address(system.devices.address)),
                   system.core.domain):  # the AnchorRegistry's: readings, not consents
        signature = sign_consent(device.key, consent, domain).signature
        decoded = system.chain.revert_of(system.devices.functions.registerDevice(
            device.address, SITE, bytes(32), deadline, signature), system.enterprise)
        assert decoded.error == "DeviceRegistryConsentSignerMismatch"


def test_high_s_consent_is_rejected(system: System) -> None:
    device = system.spares[0]
    deadline, signature = system.consent(device, system.enterprise)
    decoded = system.chain.revert_of(system.devices.functions.registerDevice(
        device.address, SITE, bytes(32), deadline, high_s_twin(signature)), system.enterprise)
    assert decoded.error == "ECDSAInvalidSignatureS"


def test_client_registers_with_the_key_or_a_consent_made_elsewhere(system: System) -> None:
    enterprise = system.chain.transactor(system.enterprise)
    system.core.register_device(enterprise, system.spares[0].key, SITE, bytes(32))
    deadline = system.chain.latest_timestamp() + 600
    consent = sign_consent(system.spares[1].key, DeviceConsent(
        device=system.spares[1].key.address, enterprise=parse_address(system.enterprise.address),
        site=SITE, deadline=deadline), system.core.consent_domain)
    system.core.register_device(enterprise, consent, SITE, bytes(32))
    assert system.devices.functions.devicesOf(system.enterprise.address).call() == [
        system.device.address, system.spares[0].address, system.spares[1].address]
    system.core.rotate_device(enterprise, system.spares[0].key.address, system.spares[2].key,
                              bytes(32))
    assert system.core.device_status(system.spares[2].key.address) == "active"


def test_client_refuses_a_consent_for_another_enterprise_or_site_before_sending(
        system: System) -> None:
    device = system.spares[0]
    deadline = system.chain.latest_timestamp() + 600
    enterprise2 = system.chain.transactor(system.enterprise2)
    for enterprise, site in ((system.enterprise.address, SITE_B),
                             (system.enterprise2.address, SITE)):
        signed = sign_consent(device.key, DeviceConsent(
            device=device.key.address, enterprise=parse_address(enterprise), site=site,
            deadline=deadline), system.core.consent_domain)
        before = system.w3.eth.get_transaction_count(system.enterprise2.address)
        with pytest.raises(RefusedBeforeSending, match="this registration needs"):
            system.core.register_device(enterprise2, signed, SITE_B, bytes(32))
        assert system.w3.eth.get_transaction_count(system.enterprise2.address) == before
