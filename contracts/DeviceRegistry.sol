// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Roles} from "./libraries/Roles.sol";
import {IAnchorRegistry} from "./interfaces/IAnchorRegistry.sol";
import {IDeviceRegistry} from "./interfaces/IDeviceRegistry.sol";

/**
 * @title DeviceRegistry
 * @notice The edge-node devices of each enterprise (see {IDeviceRegistry}). Created by the
 * AnchorRegistry in its constructor, so the two are bound to each other immutably: every status
 * change here is pushed into the AnchorRegistry in the same transaction, and that mirror is what
 * {IAnchorRegistry-anchor} checks, with no cross-contract call on the anchoring path. The same
 * holds for an enterprise's standing: each enterprise gets a number, packed into the state slot
 * of each of its devices in the AnchorRegistry, and a lost role stops that number there.
 */
contract DeviceRegistry is IDeviceRegistry, EIP712 {
    /// @inheritdoc IDeviceRegistry
    bytes32 public constant CONSENT_TYPEHASH = keccak256(
        "DeviceConsent(address device,address enterprise,bytes32 site,address predecessor,uint64 deadline)"
    );

    /// @dev One slot: the enterprise's number (from 1) and whether it is stopped.
    struct Enterprise {
        uint32 index;
        bool stopped;
    }

    IAccessControl private immutable _consortium;
    IAnchorRegistry private immutable _anchorRegistry;

    mapping(address device => Device) private _devices;
    mapping(address enterprise => address[] devices) private _enterpriseDevices;
    mapping(address enterprise => Enterprise) private _enterprises;
    uint32 private _enterpriseCount;

    /**
     * @dev Deployed by the AnchorRegistry (the deployer becomes the anchor registry).
     * @param consortium_ The Consortium whose roles are checked.
     */
    constructor(IAccessControl consortium_) EIP712("TrustMRV", "1") {
        _consortium = consortium_;
        _anchorRegistry = IAnchorRegistry(msg.sender);
    }

    // -- enterprise operations -----------------------------------------------------------------

    /// @inheritdoc IDeviceRegistry
    function registerDevice(
        address device_,
        bytes32 site,
        bytes32 metadataHash,
        uint64 deadline,
        bytes calldata consent
    ) external {
        _requireEnterpriseInStanding();
        _requireNew(device_, site);
        _requireConsent(device_, site, address(0), deadline, consent);
        _register(device_, msg.sender, site, metadataHash, address(0));
    }

    /// @inheritdoc IDeviceRegistry
    function rotateDevice(
        address device_,
        address newDevice,
        bytes32 metadataHash,
        uint64 deadline,
        bytes calldata consent
    ) external {
        _requireEnterpriseInStanding();
        Device storage old = _ownedDevice(device_);
        if (old.status != DeviceStatus.Active) revert DeviceRegistryDeviceNotActive(device_, old.status);
        bytes32 site = old.site;
        _requireNew(newDevice, site);
        _requireConsent(newDevice, site, device_, deadline, consent);
        _revoke(device_, old);
        old.successor = newDevice;
        _register(newDevice, msg.sender, site, metadataHash, device_);
        emit DeviceRotated(device_, newDevice, msg.sender);
    }

    /// @inheritdoc IDeviceRegistry
    function revokeDevice(address device_) external {
        _requireRole(Roles.ENTERPRISE_ROLE);
        Device storage record = _ownedDevice(device_);
        if (record.status == DeviceStatus.Revoked) revert DeviceRegistryDeviceRevoked(device_, record.revokedAt);
        _revoke(device_, record);
    }

    // -- regulator operations ------------------------------------------------------------------

    /// @inheritdoc IDeviceRegistry
    function suspendDevice(address device_) external {
        _requireRole(Roles.REGULATOR_ROLE);
        Device storage record = _existingDevice(device_);
        if (record.status != DeviceStatus.Active) revert DeviceRegistryDeviceNotActive(device_, record.status);
        _setStatus(device_, record, DeviceStatus.Suspended);
        emit DeviceSuspended(device_, msg.sender);
    }

    /// @inheritdoc IDeviceRegistry
    function reinstateDevice(address device_) external {
        _requireRole(Roles.REGULATOR_ROLE);
        Device storage record = _existingDevice(device_);
        if (record.status != DeviceStatus.Suspended) {
            revert DeviceRegistryDeviceNotSuspended(device_, record.status);
        }
        _setStatus(device_, record, DeviceStatus.Active);
        emit DeviceReinstated(device_, msg.sender);
    }

    // -- enterprise standing -------------------------------------------------------------------

    /// @inheritdoc IDeviceRegistry
    function stopEnterprise(address enterprise, address by) external {
        if (msg.sender != address(_consortium)) revert DeviceRegistryCallerNotConsortium(msg.sender);
        Enterprise storage record = _enterprises[enterprise];
        if (record.stopped) return;
        uint32 index = _enterpriseIndex(record);
        record.stopped = true;
        _anchorRegistry.setEnterpriseStanding(index, true);
        emit EnterpriseStopped(enterprise, index, by);
    }

    /// @inheritdoc IDeviceRegistry
    function reactivateEnterprise(address enterprise) external {
        _requireRole(Roles.DEFAULT_ADMIN_ROLE);
        if (!_consortium.hasRole(Roles.ENTERPRISE_ROLE, enterprise)) {
            revert DeviceRegistryMissingRole(enterprise, Roles.ENTERPRISE_ROLE);
        }
        Enterprise storage record = _enterprises[enterprise];
        if (!record.stopped) revert DeviceRegistryEnterpriseNotStopped(enterprise);
        record.stopped = false;
        _anchorRegistry.setEnterpriseStanding(record.index, false);
        emit EnterpriseReactivated(enterprise, record.index, msg.sender);
    }

    // -- views ---------------------------------------------------------------------------------

    /// @inheritdoc IDeviceRegistry
    function device(address device_) external view returns (Device memory) {
        return _devices[device_];
    }

    /// @inheritdoc IDeviceRegistry
    function statusOf(address device_) external view returns (DeviceStatus) {
        return _devices[device_].status;
    }

    /// @inheritdoc IDeviceRegistry
    function isRegisteredAt(address device_, uint256 blockNumber) external view returns (bool) {
        Device storage record = _devices[device_];
        if (record.status == DeviceStatus.None || blockNumber < record.activeSince) return false;
        uint64 revokedAt = record.revokedAt;
        return revokedAt == 0 || blockNumber <= revokedAt;
    }

    /// @inheritdoc IDeviceRegistry
    function enterpriseStanding(address enterprise) external view returns (uint32 index, bool stopped) {
        Enterprise storage record = _enterprises[enterprise];
        return (record.index, record.stopped);
    }

    /// @inheritdoc IDeviceRegistry
    function devicesOf(address enterprise) external view returns (address[] memory) {
        return _enterpriseDevices[enterprise];
    }

    /// @inheritdoc IDeviceRegistry
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    /// @inheritdoc IDeviceRegistry
    function anchorRegistry() external view returns (address) {
        return address(_anchorRegistry);
    }

    /// @inheritdoc IDeviceRegistry
    function consentDigest(address device_, address enterprise, bytes32 site, address predecessor, uint64 deadline)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(abi.encode(CONSENT_TYPEHASH, device_, enterprise, site, predecessor, deadline))
        );
    }

    // -- internals -----------------------------------------------------------------------------

    function _register(address device_, address enterprise, bytes32 site, bytes32 metadataHash, address predecessor)
        private
    {
        _devices[device_] = Device({
            enterprise: enterprise,
            status: DeviceStatus.Active,
            activeSince: uint64(block.number),
            predecessor: predecessor,
            revokedAt: 0,
            successor: address(0),
            site: site,
            metadataHash: metadataHash
        });
        _enterpriseDevices[enterprise].push(device_);
        _anchorRegistry.addDevice(device_, _enterpriseIndex(_enterprises[enterprise]));
        emit DeviceRegistered(device_, enterprise, site, metadataHash, predecessor);
    }

    function _revoke(address device_, Device storage record) private {
        uint64 revokedAt = uint64(block.number);
        record.revokedAt = revokedAt;
        _setStatus(device_, record, DeviceStatus.Revoked);
        emit DeviceRevoked(device_, record.enterprise, revokedAt);
    }

    function _setStatus(address device_, Device storage record, DeviceStatus status) private {
        record.status = status;
        _anchorRegistry.setDeviceStatus(device_, status);
    }

    /// @dev The enterprise's number, assigned (from 1) on first use.
    function _enterpriseIndex(Enterprise storage record) private returns (uint32 index) {
        index = record.index;
        if (index == 0) {
            if (_enterpriseCount == type(uint32).max) revert DeviceRegistryTooManyEnterprises();
            index = ++_enterpriseCount;
            record.index = index;
        }
    }

    /// @dev Reverts unless `device_` may be registered at `site`: not zero, never registered.
    function _requireNew(address device_, bytes32 site) private view {
        if (device_ == address(0)) revert DeviceRegistryZeroAddress();
        if (site == bytes32(0)) revert DeviceRegistryZeroSite();
        if (_devices[device_].status != DeviceStatus.None) revert DeviceRegistryDeviceExists(device_);
    }

    /// @dev Reverts unless `device_` signed a `DeviceConsent` to be registered by the caller.
    function _requireConsent(
        address device_,
        bytes32 site,
        address predecessor,
        uint64 deadline,
        bytes calldata consent
    ) private view {
        if (block.timestamp > deadline) revert DeviceRegistryConsentExpired(device_, deadline, block.timestamp);
        address signer = ECDSA.recover(consentDigest(device_, msg.sender, site, predecessor, deadline), consent);
        if (signer != device_) revert DeviceRegistryConsentSignerMismatch(device_, signer);
    }

    function _requireEnterpriseInStanding() private view {
        _requireRole(Roles.ENTERPRISE_ROLE);
        if (_enterprises[msg.sender].stopped) revert DeviceRegistryEnterpriseStopped(msg.sender);
    }

    function _existingDevice(address device_) private view returns (Device storage record) {
        record = _devices[device_];
        if (record.status == DeviceStatus.None) revert DeviceRegistryUnknownDevice(device_);
    }

    function _ownedDevice(address device_) private view returns (Device storage record) {
        record = _existingDevice(device_);
        if (record.enterprise != msg.sender) {
            revert DeviceRegistryNotDeviceEnterprise(device_, record.enterprise, msg.sender);
        }
    }

    function _requireRole(bytes32 role) private view {
        if (!_consortium.hasRole(role, msg.sender)) revert DeviceRegistryMissingRole(msg.sender, role);
    }
}
