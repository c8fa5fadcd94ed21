"""Enterprise standing: losing ENTERPRISE_ROLE (revoked or renounced) stops all the enterprise's
devices at once; only the admin reinstates them (role granted again plus reactivation)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak
from integration.contracts.support import (
    ADMIN_DELAY,
    System,
    events,
    oracle_batch_signature,
)

from mrv_core.chain import deploy_system


def _enterprise_role(system: System) -> bytes:
    return system.role("ENTERPRISE_ROLE")


def _revoke(system: System) -> Any:
    return system.chain.send(system.consortium.functions.revokeRole(
        _enterprise_role(system), system.enterprise.address), system.admin)


def _index(system: System, enterprise: str) -> int:
    return int(system.devices.functions.enterpriseStanding(enterprise).call()[0])


def _relay_call(system: System, batch_seq: int, label: str) -> Any:
    now = system.chain.latest_timestamp()
    header = (system.device.address, batch_seq, keccak(text=label), 1, now - 60, now)
    signature = oracle_batch_signature(system.device.account, header,
                                       system.chain.client.chain_id, system.anchors.address)
    return system.anchors.functions.anchorBySig(*header, signature)


def _assert_stopped(system: System, batch_seq: int) -> None:
    """Neither the device's own anchor nor a relayed one goes through."""
    index = _index(system, system.enterprise.address)
    now = system.chain.latest_timestamp()
    expected = ("AnchorRegistryEnterpriseStopped", {"device": system.device.address,
                                                    "enterprise": index})
    own = system.chain.revert_of(system.anchors.functions.anchor(
        batch_seq, keccak(text="late"), 1, now, now), system.device.account)
    assert (own.error, own.args_by_name) == expected
    relayed = system.chain.revert_of(_relay_call(system, batch_seq, "late"), system.outsider)
    assert (relayed.error, relayed.args_by_name) == expected


def test_revoking_the_role_stops_every_device_of_the_enterprise(system: System) -> None:
    system.anchor(system.device, 0, keccak(text="0"))
    second = system.spares[0]
    system.chain.send(system.register_call(second, system.enterprise), system.enterprise)
    epoch = system.anchors.functions.standingEpoch().call()
    sent = _revoke(system)
    index = _index(system, system.enterprise.address)
    assert events(system.devices, "EnterpriseStopped", sent.receipt) == [
        {"enterprise": system.enterprise.address, "index": index, "by": system.admin.address}]
    assert events(system.anchors, "EnterpriseStandingUpdated", sent.receipt) == [
        {"enterprise": index, "stopped": True, "standingEpoch": epoch + 1}]
    assert system.core.enterprise_stopped(system.enterprise.address)
    _assert_stopped(system, 1)
    now = system.chain.latest_timestamp()
    decoded = system.chain.revert_of(system.anchors.functions.anchor(
        0, keccak(text="x"), 1, now, now), second.account)
    assert decoded.error == "AnchorRegistryEnterpriseStopped"
    # Another enterprise's device keeps anchoring (it checks its own standing once).
    system.anchor(system.device2, 0, keccak(text="other"))
    system.anchor(system.device2, 1, keccak(text="other-1"))


def test_renouncing_the_role_stops_the_devices_too(system: System) -> None:
    sent = system.chain.send(system.consortium.functions.renounceRole(
        _enterprise_role(system), system.enterprise.address), system.enterprise)
    assert events(system.devices, "EnterpriseStopped", sent.receipt)[0]["by"] == \
        system.enterprise.address
    _assert_stopped(system, 0)


def test_only_role_and_reactivation_together_reinstate(system: System) -> None:
    system.anchor(system.device, 0, keccak(text="0"))
    _revoke(system)
    reactivate = system.devices.functions.reactivateEnterprise(system.enterprise.address)
    decoded = system.chain.revert_of(reactivate, system.admin)  # the role first
    assert (decoded.error, decoded.args_by_name) == (
        "DeviceRegistryMissingRole", {"account": system.enterprise.address,
                                      "role": _enterprise_role(system)})
    system.core.grant_role(system.chain.transactor(system.admin), "ENTERPRISE_ROLE",
                           system.enterprise.address)
    _assert_stopped(system, 1)  # the role alone does not reinstate
    # Nor may the enterprise add or rotate keys meanwhile.
    for call in (system.register_call(system.spares[0], system.enterprise),
                 system.rotate_call(system.device.address, system.spares[1], system.enterprise)):
        decoded = system.chain.revert_of(call, system.enterprise)
        assert (decoded.error, decoded.args_by_name) == (
            "DeviceRegistryEnterpriseStopped", {"enterprise": system.enterprise.address})
    sent = system.core.reactivate_enterprise(system.chain.transactor(system.admin),
                                             system.enterprise.address)
    index = _index(system, system.enterprise.address)
    assert events(system.devices, "EnterpriseReactivated", sent.receipt) == [
        {"enterprise": system.enterprise.address, "index": index, "admin": system.admin.address}]
    assert events(system.anchors, "EnterpriseStandingUpdated", sent.receipt)[0]["stopped"] is False
    assert not system.core.enterprise_stopped(system.enterprise.address)
    system.anchor(system.device, 1, keccak(text="1"))  # the sequence continues
    system.chain.send(_relay_call(system, 2, "2"), system.outsider)
    decoded = system.chain.revert_of(reactivate, system.admin)
    assert (decoded.error, decoded.args_by_name) == (
        "DeviceRegistryEnterpriseNotStopped", {"enterprise": system.enterprise.address})


@pytest.mark.parametrize("name", ["association", "enterprise", "enterprise2", "regulator",
                                  "outsider"])
def test_reactivation_needs_the_admin(system: System, name: str) -> None:
    _revoke(system)
    system.core.grant_role(system.chain.transactor(system.admin), "ENTERPRISE_ROLE",
                           system.enterprise.address)
    caller = getattr(system, name)
    decoded = system.chain.revert_of(
        system.devices.functions.reactivateEnterprise(system.enterprise.address), caller)
    assert (decoded.error, decoded.args_by_name) == (
        "DeviceRegistryMissingRole", {"account": caller.address, "role": bytes(32)})


def test_reinstating_a_suspended_device_does_not_lift_the_stop(system: System) -> None:
    device = system.device.address
    system.chain.send(system.devices.functions.suspendDevice(device), system.regulator)
    _revoke(system)
    system.chain.send(system.devices.functions.reinstateDevice(device), system.regulator)
    _assert_stopped(system, 0)


def test_a_second_stop_of_the_same_enterprise_changes_nothing(system: System) -> None:
    _revoke(system)
    system.core.grant_role(system.chain.transactor(system.admin), "ENTERPRISE_ROLE",
                           system.enterprise.address)
    epoch = system.anchors.functions.standingEpoch().call()
    sent = _revoke(system)  # revoked again before any reactivation
    assert events(system.devices, "EnterpriseStopped", sent.receipt) == []
    assert system.anchors.functions.standingEpoch().call() == epoch
    _assert_stopped(system, 0)


def test_enterprise_role_is_granted_only_once_a_device_registry_is_bound(system: System) -> None:
    chain, admin = system.chain, system.admin
    consortium, _ = chain.deploy("Consortium", ADMIN_DELAY, admin.address, sender=admin)
    grant = consortium.functions.grantRole(_enterprise_role(system), system.enterprise.address)
    assert chain.revert_of(grant, admin).error == "ConsortiumDeviceRegistryNotBound"
    decoded = chain.revert_of(consortium.functions.bindDeviceRegistry(system.devices.address),
                              admin)  # another consortium's registry
    assert (decoded.error, decoded.args_by_name) == (
        "ConsortiumNotThisConsortiumsRegistry", {"registry": system.devices.address})
    decoded = chain.revert_of(consortium.functions.bindDeviceRegistry(system.devices.address),
                              system.outsider)
    assert (decoded.error, decoded.args_by_name) == (
        "ConsortiumUnauthorizedBinder", {"caller": system.outsider.address})


def test_deploy_system_binds_its_device_registry(system: System) -> None:
    deployment = deploy_system(system.chain.transactor(system.admin))
    consortium = system.chain.transactor(system.admin).at("Consortium",
                                                          deployment.address("Consortium"))
    assert consortium.functions.deviceRegistry().call() == deployment.address("DeviceRegistry")
    assert "Consortium.bindDeviceRegistry" in deployment.gas_used


def _execution(system: System, sent: Any) -> int:
    """Gas used minus the intrinsic 21,000 and the calldata (EIP-2028)."""
    data = bytes(system.w3.eth.get_transaction(sent.tx_hash)["input"])
    return int(sent.gas_used) - 21_000 - sum(16 if byte else 4 for byte in data)


def test_registration_in_good_standing_needs_no_extra_read_at_first_anchor(system: System) -> None:
    """A device registered after a stop starts at the current epoch: its first anchor costs what
    a steady-state one does, while a device registered before the stop pays one standing read
    (once)."""
    def anchor(device: Any, batch_seq: int) -> int:
        return _execution(system, system.anchor(device, batch_seq,
                                                keccak(text=f"{device.address}/{batch_seq}")))

    anchor(system.device, 0)
    steady = anchor(system.device, 1)
    system.chain.send(system.consortium.functions.revokeRole(
        _enterprise_role(system), system.enterprise2.address), system.admin)  # another's stop
    after_stop = anchor(system.device, 2)
    assert after_stop > steady
    assert anchor(system.device, 3) == steady
    fresh = system.spares[0]
    system.chain.send(system.register_call(fresh, system.enterprise), system.enterprise)
    assert anchor(fresh, 0) == steady
    assert system.anchors.functions.deviceState(fresh.address).call()[3:] == (
        _index(system, system.enterprise.address), system.anchors.functions.standingEpoch().call())
