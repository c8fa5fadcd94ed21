"""Every state-changing function, called by each wrong role, reverts with the right custom error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_utils import keccak
from integration.contracts.support import (
    METHODOLOGY_ID,
    PLACEHOLDER_FACTORS,
    PLACEHOLDER_SOURCES,
    System,
    create_methodology,
    make_report,
)

from mrv_core.errors import RefusedBeforeSending

ACTORS = ("admin", "association", "enterprise", "enterprise2", "regulator", "outsider", "device")


def _actor(system: System, name: str) -> Any:
    return system.device.account if name == "device" else getattr(system, name)


# Each case: the call (built from the system), who may make it, and the error everyone else gets.
Case = tuple[Callable[[System], Any], tuple[str, ...], str]

CASES: dict[str, Case] = {
    # Consortium (OpenZeppelin AccessControlDefaultAdminRules)
    "Consortium.grantRole": (
        lambda s: s.consortium.functions.grantRole(s.role("REGULATOR_ROLE"), s.outsider.address),
        ("admin",), "AccessControlUnauthorizedAccount"),
    "Consortium.revokeRole": (
        lambda s: s.consortium.functions.revokeRole(s.role("ENTERPRISE_ROLE"),
                                                    s.enterprise.address),
        ("admin",), "AccessControlUnauthorizedAccount"),
    "Consortium.beginDefaultAdminTransfer": (
        lambda s: s.consortium.functions.beginDefaultAdminTransfer(s.outsider.address),
        ("admin",), "AccessControlUnauthorizedAccount"),
    "Consortium.cancelDefaultAdminTransfer": (
        lambda s: s.consortium.functions.cancelDefaultAdminTransfer(),
        ("admin",), "AccessControlUnauthorizedAccount"),
    "Consortium.changeDefaultAdminDelay": (
        lambda s: s.consortium.functions.changeDefaultAdminDelay(3600),
        ("admin",), "AccessControlUnauthorizedAccount"),
    "Consortium.rollbackDefaultAdminDelay": (
        lambda s: s.consortium.functions.rollbackDefaultAdminDelay(),
        ("admin",), "AccessControlUnauthorizedAccount"),
    "Consortium.renounceRole": (  # only for oneself
        lambda s: s.consortium.functions.renounceRole(s.role("ENTERPRISE_ROLE"),
                                                      s.enterprise.address),
        ("enterprise",), "AccessControlBadConfirmation"),
    "Consortium.bindDeviceRegistry": (  # the deployer (here the admin) bound it at deployment
        lambda s: s.consortium.functions.bindDeviceRegistry(s.devices.address),
        (), "ConsortiumUnauthorizedBinder"),
    "Consortium.acceptDefaultAdminTransfer": (
        lambda s: s.consortium.functions.acceptDefaultAdminTransfer(),
        (), "AccessControlInvalidDefaultAdmin"),  # nobody is pending
    # DeviceRegistry
    "DeviceRegistry.registerDevice": (  # with the device's consent for the enterprise
        lambda s: s.register_call(s.spares[0], s.enterprise),
        ("enterprise",), "DeviceRegistryMissingRole"),
    "DeviceRegistry.rotateDevice": (
        lambda s: s.rotate_call(s.device.address, s.spares[0], s.enterprise),
        ("enterprise",), "DeviceRegistryMissingRole"),
    "DeviceRegistry.revokeDevice": (
        lambda s: s.devices.functions.revokeDevice(s.device.address),
        ("enterprise",), "DeviceRegistryMissingRole"),
    "DeviceRegistry.stopEnterprise": (
        lambda s: s.devices.functions.stopEnterprise(s.enterprise.address, s.admin.address),
        (), "DeviceRegistryCallerNotConsortium"),  # only the Consortium contract
    "DeviceRegistry.reactivateEnterprise": (
        lambda s: s.devices.functions.reactivateEnterprise(s.enterprise.address),
        ("admin",), "DeviceRegistryMissingRole"),
    "DeviceRegistry.suspendDevice": (
        lambda s: s.devices.functions.suspendDevice(s.device.address),
        ("regulator",), "DeviceRegistryMissingRole"),
    # AnchorRegistry
    "AnchorRegistry.anchor": (
        lambda s: s.anchors.functions.anchor(0, keccak(text="root"), 1, 0, 0),
        ("device",), "AnchorRegistryDeviceNotActive"),
    "AnchorRegistry.anchorBySig": (  # any relayer, but only with the device's signature
        lambda s: s.anchors.functions.anchorBySig(s.device.address, 0, keccak(text="root"), 1, 0,
                                                  0, bytes(65)),
        (), "ECDSAInvalidSignature"),
    "AnchorRegistry.addDevice": (
        lambda s: s.anchors.functions.addDevice(s.spares[0].address, 1),
        (), "AnchorRegistryCallerNotDeviceRegistry"),
    "AnchorRegistry.setEnterpriseStanding": (
        lambda s: s.anchors.functions.setEnterpriseStanding(1, True),
        (), "AnchorRegistryCallerNotDeviceRegistry"),
    "AnchorRegistry.setMaxClockSkew": (
        lambda s: s.anchors.functions.setMaxClockSkew(60),
        ("admin",), "AnchorRegistryMissingRole"),
    "AnchorRegistry.setDeviceStatus": (
        lambda s: s.anchors.functions.setDeviceStatus(s.device.address, 3),
        (), "AnchorRegistryCallerNotDeviceRegistry"),  # only the DeviceRegistry contract
    # MethodologyRegistry and its factory
    "MethodologyRegistry.assignId": (
        lambda s: s.methodologies.functions.assignId(keccak(text="new.id"), s.association.address),
        ("admin",), "MethodologyRegistryMissingRole"),
    "MethodologyFactory.addFactors": (
        lambda s: s.factory.functions.addFactors(s.electricity.address, []),
        ("association",), "MethodologyFactoryNotCreator"),
    "MethodologyFactory.seal": (
        lambda s: s.factory.functions.seal(s.electricity.address),
        ("association",), "MethodologyFactoryNotCreator"),
    "MethodologyRegistry.publish": (
        lambda s: s.methodologies.functions.publish(keccak(text="new.id"), s.electricity.address,
                                                    2**40),
        ("association", "association2"), "MethodologyRegistryMissingRole"),
    # ReportRegistry
    "ReportRegistry.submitReport": (
        lambda s: s.reports.functions.submitReport(make_report(s)),
        ("enterprise",), "ReportRegistryMissingRole"),
    "ReportRegistry.attestReport": (
        lambda s: s.reports.functions.attestReport(keccak(text="report"), 1, keccak(text="st")),
        ("regulator",), "ReportRegistryMissingRole"),
}

# Wrong actors that hold the role but not the right: their specific error.
SPECIFIC = {
    # The consent names `enterprise`: for enterprise2 it recovers another signer.
    ("DeviceRegistry.registerDevice", "enterprise2"): "DeviceRegistryConsentSignerMismatch",
    ("DeviceRegistry.rotateDevice", "enterprise2"): "DeviceRegistryNotDeviceEnterprise",
    ("Consortium.bindDeviceRegistry", "admin"): "ConsortiumDeviceRegistryAlreadyBound",
    ("DeviceRegistry.revokeDevice", "enterprise2"): "DeviceRegistryNotDeviceEnterprise",
    ("ReportRegistry.submitReport", "enterprise2"): "ReportRegistryEnterpriseMismatch",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_wrong_roles_revert_with_custom_errors(system: System, case: str) -> None:
    build, allowed, error = CASES[case]
    for name in ACTORS:
        if name in allowed:
            continue
        caller = _actor(system, name)
        decoded = system.chain.revert_of(build(system), caller)
        expected = SPECIFIC.get((case, name), error)
        assert decoded.error == expected, f"{case} by {name}: {decoded}"
        if expected.endswith("MissingRole") or expected == "AccessControlUnauthorizedAccount":
            assert decoded.args_by_name["account"] == caller.address
        if "CallerNot" in expected:
            assert decoded.args_by_name["caller"] == caller.address


def test_reinstate_needs_the_regulator_role(system: System) -> None:
    system.chain.send(system.devices.functions.suspendDevice(system.device.address),
                      system.regulator)
    call = system.devices.functions.reinstateDevice(system.device.address)
    for name in ACTORS:
        if name == "regulator":
            continue
        assert system.chain.revert_of(call, _actor(system, name)).error == \
            "DeviceRegistryMissingRole", name


def test_allowed_roles_succeed(system: System) -> None:
    """The positive side of the table, for the role-gated calls that need no other setup."""
    chain = system.chain
    chain.send(system.register_call(system.spares[0], system.enterprise2), system.enterprise2)
    chain.send(system.anchors.functions.setMaxClockSkew(60), system.admin)
    chain.send(system.devices.functions.suspendDevice(system.device.address), system.regulator)
    sent = chain.send(system.reports.functions.submitReport(make_report(system)),
                      system.enterprise)
    assert sent.receipt["status"] == 1


def test_every_state_changing_function_has_a_case(system: System) -> None:
    functions = {f"{name}.{item['name']}"
                 for name in ("Consortium", "DeviceRegistry", "AnchorRegistry")
                 for item in system.chain.artifacts.abi(name)
                 if item["type"] == "function" and item["stateMutability"] not in ("view", "pure")}
    assert sorted(functions - set(CASES) - {"DeviceRegistry.reinstateDevice"}) == []


def test_enterprise_and_regulator_roles_are_exclusive(system: System) -> None:
    grant = system.consortium.functions.grantRole
    for role, account, held in (
            ("REGULATOR_ROLE", system.enterprise, "ENTERPRISE_ROLE"),
            ("ENTERPRISE_ROLE", system.regulator, "REGULATOR_ROLE")):
        decoded = system.chain.revert_of(grant(system.role(role), account.address), system.admin)
        assert decoded.error == "ConsortiumConflictingRoles"
        assert decoded.args_by_name == {"account": account.address, "role": system.role(role),
                                        "heldRole": system.role(held)}


def test_roles_are_the_documented_hashes(system: System) -> None:
    for name in ("ASSOCIATION_ROLE", "ENTERPRISE_ROLE", "REGULATOR_ROLE"):
        assert system.role(name) == keccak(text=name)
    assert system.consortium.functions.defaultAdmin().call() == system.admin.address
    assert system.consortium.functions.defaultAdminDelay().call() > 0


def test_an_association_cannot_publish_another_associations_id(system: System) -> None:
    other = create_methodology(system.chain, system.core, METHODOLOGY_ID, 2, bytes(32),
                               PLACEHOLDER_SOURCES, PLACEHOLDER_FACTORS,
                               sender=system.association2)
    call = system.methodologies.functions.publish(METHODOLOGY_ID, other.address, 2**40)
    decoded = system.chain.revert_of(call, system.association2)
    assert decoded.error == "MethodologyRegistryNotIdPublisher"
    assert decoded.args_by_name == {"id": METHODOLOGY_ID,
                                    "publisher": system.association.address,
                                    "caller": system.association2.address}


def test_client_refuses_an_unknown_role_before_sending(system: System) -> None:
    admin = system.chain.transactor(system.admin)
    before = system.w3.eth.get_transaction_count(system.admin.address)
    with pytest.raises(RefusedBeforeSending, match="unknown role 'ENTERPRISE'"):
        system.core.grant_role(admin, "ENTERPRISE", system.outsider.address)
    assert system.w3.eth.get_transaction_count(system.admin.address) == before
