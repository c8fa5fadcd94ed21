// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Roles} from "./libraries/Roles.sol";
import {IAnchorRegistry} from "./interfaces/IAnchorRegistry.sol";
import {IDeviceRegistry} from "./interfaces/IDeviceRegistry.sol";

/**
 * @title DeviceRegistry
 * @notice The edge-node devices of each enterprise (see {IDeviceRegistry}). Created by the
 * AnchorRegistry in its constructor, so the two are bound to each other immutably: every status
 * change here is pushed into the AnchorRegistry in the same transaction, and that mirror is what
 * {IAnchorRegistry-anchor} checks, with no cross-contract call on the anchoring path.
 */
contract DeviceRegistry is IDeviceRegistry {
    IAccessControl private immutable _consortium;
    IAnchorRegistry private immutable _anchorRegistry;

    mapping(address device => Device) private _devices;
    mapping(address enterprise => address[] devices) private _enterpriseDevices;

    /**
     * @dev Deployed by the AnchorRegistry (the deployer becomes the anchor registry).
     * @param consortium_ The Consortium whose roles are checked.
     */
    constructor(IAccessControl consortium_) {
        _consortium = consortium_;
        _anchorRegistry = IAnchorRegistry(msg.sender);
    }

    // -- enterprise operations -----------------------------------------------------------------

    /// @inheritdoc IDeviceRegistry
    function registerDevice(address device_, bytes32 site, bytes32 metadataHash) external {
        _requireRole(Roles.ENTERPRISE_ROLE);
        _register(device_, msg.sender, site, metadataHash, address(0));
    }

    /// @inheritdoc IDeviceRegistry
    function rotateDevice(address device_, address newDevice, bytes32 metadataHash) external {
        _requireRole(Roles.ENTERPRISE_ROLE);
        Device storage old = _ownedDevice(device_);
        if (old.status != DeviceStatus.Active) revert DeviceRegistryDeviceNotActive(device_, old.status);
        _revoke(device_, old);
        old.successor = newDevice;
        _register(newDevice, msg.sender, old.site, metadataHash, device_);
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

    // -- internals -----------------------------------------------------------------------------

    function _register(address device_, address enterprise, bytes32 site, bytes32 metadataHash, address predecessor)
        private
    {
        if (device_ == address(0)) revert DeviceRegistryZeroAddress();
        if (site == bytes32(0)) revert DeviceRegistryZeroSite();
        if (_devices[device_].status != DeviceStatus.None) revert DeviceRegistryDeviceExists(device_);
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
        _anchorRegistry.setDeviceStatus(device_, DeviceStatus.Active);
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
