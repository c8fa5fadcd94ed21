"""DeviceRegistry: registration, rotation, revocation, suspension, history, anchor mirror."""

from __future__ import annotations

from eth_utils import keccak
from integration.contracts.support import (
    ACTIVE,
    REVOKED,
    SITE,
    SUSPENDED,
    System,
    events,
)

ZERO = "0x0000000000000000000000000000000000000000"


def _record(system: System, address: str) -> dict[str, object]:
    fields = ("enterprise", "status", "activeSince", "predecessor", "revokedAt", "successor",
              "site", "metadataHash")
    return dict(zip(fields, system.devices.functions.device(address).call(), strict=True))


def test_register_records_device_and_pushes_status(system: System) -> None:
    new = system.spares[0]
    sent = system.chain.send(system.register_call(new, system.enterprise,
                                                  metadata=keccak(text="meta")), system.enterprise)
    receipt = sent.receipt
    record = _record(system, new.address)
    assert record == {"enterprise": system.enterprise.address, "status": ACTIVE,
                      "activeSince": sent.block_number, "predecessor": ZERO, "revokedAt": 0,
                      "successor": ZERO, "site": SITE, "metadataHash": keccak(text="meta")}
    assert events(system.devices, "DeviceRegistered", receipt) == [{
        "device": new.address, "enterprise": system.enterprise.address, "site": SITE,
        "metadataHash": keccak(text="meta"), "predecessor": ZERO}]
    assert events(system.anchors, "DeviceStatusUpdated", receipt) == [
        {"device": new.address, "status": ACTIVE}]
    index, stopped = system.devices.functions.enterpriseStanding(system.enterprise.address).call()
    assert (index, stopped) == (1, False)  # the first enterprise to register a device
    assert events(system.anchors, "DeviceAdded", receipt) == [
        {"device": new.address, "enterprise": index}]
    epoch = system.anchors.functions.standingEpoch().call()
    assert system.anchors.functions.deviceState(new.address).call() == (ACTIVE, 0, 0, index,
                                                                         epoch)
    assert system.devices.functions.devicesOf(system.enterprise.address).call() == [
        system.device.address, new.address]
    assert system.devices.functions.anchorRegistry().call() == system.anchors.address
    assert system.anchors.functions.deviceRegistry().call() == system.devices.address


def test_register_rejects_zero_duplicate_and_reused_addresses(system: System) -> None:
    revert = system.chain.revert_of
    deadline, consent = system.consent(system.spares[0], system.enterprise)
    assert revert(system.devices.functions.registerDevice(ZERO, SITE, bytes(32), deadline,
                                                          consent),
                  system.enterprise).error == "DeviceRegistryZeroAddress"
    assert revert(system.register_call(system.spares[0], system.enterprise, site=bytes(32)),
                  system.enterprise).error == "DeviceRegistryZeroSite"
    # Another enterprise's device (even with its consent), and a revoked one: addresses are
    # never reused.
    decoded = revert(system.register_call(system.device2, system.enterprise), system.enterprise)
    assert (decoded.error, decoded.args_by_name) == (
        "DeviceRegistryDeviceExists", {"device": system.device2.address})
    system.chain.send(system.devices.functions.revokeDevice(system.device.address),
                      system.enterprise)
    assert revert(system.register_call(system.device, system.enterprise),
                  system.enterprise).error == "DeviceRegistryDeviceExists"


def test_revoke_is_final_and_recorded(system: System) -> None:
    device = system.device.address
    sent = system.chain.send(system.devices.functions.revokeDevice(device), system.enterprise)
    receipt, block = sent.receipt, sent.block_number
    assert _record(system, device)["revokedAt"] == block
    assert _record(system, device)["status"] == REVOKED
    assert events(system.devices, "DeviceRevoked", receipt) == [
        {"device": device, "enterprise": system.enterprise.address, "revokedAt": block}]
    assert system.anchors.functions.deviceState(device).call()[0] == REVOKED
    decoded = system.chain.revert_of(system.devices.functions.revokeDevice(device),
                                     system.enterprise)
    assert (decoded.error, decoded.args_by_name) == (
        "DeviceRegistryDeviceRevoked", {"device": device, "revokedAt": block})
    assert system.chain.revert_of(system.devices.functions.suspendDevice(device),
                                  system.regulator).error == "DeviceRegistryDeviceNotActive"
    assert system.chain.revert_of(system.devices.functions.reinstateDevice(device),
                                  system.regulator).error == "DeviceRegistryDeviceNotSuspended"


def test_rotation_links_keys_and_keeps_site(system: System) -> None:
    old, new = system.device, system.spares[1]
    sent = system.chain.send(system.rotate_call(old.address, new, system.enterprise,
                                                metadata=keccak(text="new-meta")),
                             system.enterprise)
    receipt, block = sent.receipt, sent.block_number
    old_record, new_record = _record(system, old.address), _record(system, new.address)
    assert old_record["status"] == REVOKED and old_record["revokedAt"] == block
    assert old_record["successor"] == new.address
    assert new_record["predecessor"] == old.address
    assert new_record["site"] == old_record["site"] == SITE
    assert new_record["enterprise"] == system.enterprise.address
    assert new_record["activeSince"] == block and new_record["status"] == ACTIVE
    assert events(system.devices, "DeviceRotated", receipt) == [
        {"device": old.address, "newDevice": new.address, "enterprise": system.enterprise.address}]
    assert [e["device"] for e in events(system.devices, "DeviceRevoked", receipt)] == [old.address]
    assert [e["device"] for e in events(system.devices, "DeviceRegistered", receipt)] == [
        new.address]


def test_rotation_rules(system: System) -> None:
    revert = system.chain.revert_of
    device = system.device.address
    enterprise = system.enterprise
    assert revert(system.rotate_call(device, system.device2, enterprise), enterprise).error == \
        "DeviceRegistryDeviceExists"
    assert revert(system.rotate_call(device, system.device, enterprise), enterprise).error == \
        "DeviceRegistryDeviceExists"
    deadline, consent = system.consent(system.spares[0], enterprise, predecessor=device)
    assert revert(system.devices.functions.rotateDevice(device, ZERO, bytes(32), deadline,
                                                        consent), enterprise).error == \
        "DeviceRegistryZeroAddress"
    assert revert(system.rotate_call(system.spares[0].address, system.spares[1], enterprise),
                  enterprise).error == "DeviceRegistryUnknownDevice"
    # A suspended device cannot escape its suspension by rotating to a fresh key.
    system.chain.send(system.devices.functions.suspendDevice(device), system.regulator)
    decoded = revert(system.rotate_call(device, system.spares[0], enterprise), enterprise)
    assert (decoded.error, decoded.args_by_name) == (
        "DeviceRegistryDeviceNotActive", {"device": device, "status": SUSPENDED})


def test_suspend_and_reinstate(system: System) -> None:
    device = system.device.address
    functions = system.devices.functions
    sent = system.chain.send(functions.suspendDevice(device), system.regulator)
    assert events(system.devices, "DeviceSuspended", sent.receipt) == [
        {"device": device, "regulator": system.regulator.address}]
    assert functions.statusOf(device).call() == SUSPENDED
    assert system.anchors.functions.deviceState(device).call()[0] == SUSPENDED
    assert system.chain.revert_of(functions.suspendDevice(device), system.regulator).error == \
        "DeviceRegistryDeviceNotActive"
    sent = system.chain.send(functions.reinstateDevice(device), system.regulator)
    assert events(system.devices, "DeviceReinstated", sent.receipt) == [
        {"device": device, "regulator": system.regulator.address}]
    assert functions.statusOf(device).call() == ACTIVE
    decoded = system.chain.revert_of(functions.reinstateDevice(device), system.regulator)
    assert (decoded.error, decoded.args_by_name) == (
        "DeviceRegistryDeviceNotSuspended", {"device": device, "status": ACTIVE})
    assert system.chain.revert_of(functions.suspendDevice(system.spares[0].address),
                                  system.regulator).error == "DeviceRegistryUnknownDevice"
    # The enterprise may still revoke a suspended device.
    system.chain.send(functions.suspendDevice(device), system.regulator)
    system.chain.send(functions.revokeDevice(device), system.enterprise)
    assert functions.statusOf(device).call() == REVOKED


def test_is_registered_at_follows_history(system: System) -> None:
    device = system.device.address
    registered = _record(system, device)["activeSince"]
    revoked = system.chain.send(system.devices.functions.revokeDevice(device),
                                system.enterprise).block_number
    at = system.devices.functions.isRegisteredAt
    assert not at(device, registered - 1).call()
    assert at(device, registered).call()
    assert at(device, revoked).call()  # anchors earlier in the revocation block are valid
    assert not at(device, revoked + 1).call()
    assert not at(system.spares[0].address, revoked).call()
