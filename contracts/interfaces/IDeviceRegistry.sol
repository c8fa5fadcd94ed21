// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IDeviceRegistry
 * @notice The edge-node devices of each enterprise, identified by the Ethereum address of their
 * signing key. An enterprise registers, rotates and revokes its own devices; a regulator suspends
 * and reinstates them. Records are never deleted: the block from which a device was active and the
 * block at which it was revoked stay readable, so batches anchored before a revocation remain
 * verifiable while new anchors are refused. Every status change is pushed into the
 * AnchorRegistry, which enforces it when a device anchors.
 */
interface IDeviceRegistry {
    /// @notice Lifecycle of a device. `None`: never registered. `Revoked` is final.
    enum DeviceStatus {
        None,
        Active,
        Suspended,
        Revoked
    }

    /**
     * @notice The record of one device.
     * @dev Storage packing: `enterprise`, `status` and `activeSince` share slot 0 (20 + 1 + 8
     * bytes); `predecessor` and `revokedAt` share slot 1 (20 + 8); `successor`, `site` and
     * `metadataHash` take a slot each.
     * @param enterprise The enterprise account that owns the device.
     * @param status Current status.
     * @param activeSince Block number of the registration.
     * @param predecessor The key this one replaced by rotation (zero for a first registration).
     * @param revokedAt Block number of the revocation (zero while not revoked). Anchors in that
     * block that were ordered before the revocation are valid; the AnchorRegistry refuses all
     * later ones.
     * @param successor The key that replaced this one by rotation (zero if none).
     * @param site The site (plant) the device belongs to, e.g. keccak256 of its path prefix.
     * @param metadataHash Hash of the device's off-chain metadata (model, meters, location).
     */
    struct Device {
        address enterprise;
        DeviceStatus status;
        uint64 activeSince;
        address predecessor;
        uint64 revokedAt;
        address successor;
        bytes32 site;
        bytes32 metadataHash;
    }

    /// @notice `account` lacks `role` in the Consortium.
    error DeviceRegistryMissingRole(address account, bytes32 role);
    /// @notice The device address is zero.
    error DeviceRegistryZeroAddress();
    /// @notice The site is zero.
    error DeviceRegistryZeroSite();
    /// @notice `device` was registered before (addresses are never reused, even after revocation).
    error DeviceRegistryDeviceExists(address device);
    /// @notice `device` was never registered.
    error DeviceRegistryUnknownDevice(address device);
    /// @notice `caller` is not `enterprise`, the enterprise that owns `device`.
    error DeviceRegistryNotDeviceEnterprise(address device, address enterprise, address caller);
    /// @notice The operation needs `device` to be active; it is `status`.
    error DeviceRegistryDeviceNotActive(address device, DeviceStatus status);
    /// @notice The operation needs `device` to be suspended; it is `status`.
    error DeviceRegistryDeviceNotSuspended(address device, DeviceStatus status);
    /// @notice `device` was revoked at block `revokedAt`.
    error DeviceRegistryDeviceRevoked(address device, uint64 revokedAt);

    /// @notice `device` was registered for `enterprise` at `site`; `predecessor` is the key it
    /// replaces by rotation, or zero.
    event DeviceRegistered(
        address indexed device,
        address indexed enterprise,
        bytes32 indexed site,
        bytes32 metadataHash,
        address predecessor
    );
    /// @notice `device` was replaced by `newDevice` (and revoked in the same transaction).
    event DeviceRotated(address indexed device, address indexed newDevice, address indexed enterprise);
    /// @notice `device` was revoked by its enterprise at block `revokedAt`.
    event DeviceRevoked(address indexed device, address indexed enterprise, uint64 revokedAt);
    /// @notice `device` was suspended by `regulator`.
    event DeviceSuspended(address indexed device, address indexed regulator);
    /// @notice `device` was reinstated by `regulator`.
    event DeviceReinstated(address indexed device, address indexed regulator);

    /**
     * @notice Registers `device` for the calling enterprise, active from this block.
     *
     * Requirements:
     *
     * - the caller holds `ENTERPRISE_ROLE`;
     * - `device` is not zero and was never registered; `site` is not zero.
     *
     * Emits a {DeviceRegistered} event.
     */
    function registerDevice(address device, bytes32 site, bytes32 metadataHash) external;

    /**
     * @notice Replaces `device` by the new key `newDevice`: the old one is revoked at this block,
     * the new one is registered with the same enterprise and site and a link to the old one. Each
     * key has its own batch sequence, starting at 0.
     *
     * Requirements:
     *
     * - the caller holds `ENTERPRISE_ROLE` and owns `device`;
     * - `device` is active (a suspended device cannot escape its suspension by rotating);
     * - `newDevice` is not zero and was never registered.
     *
     * Emits a {DeviceRevoked}, a {DeviceRegistered} and a {DeviceRotated} event.
     */
    function rotateDevice(address device, address newDevice, bytes32 metadataHash) external;

    /**
     * @notice Revokes `device` for good, at this block.
     *
     * Requirements:
     *
     * - the caller holds `ENTERPRISE_ROLE` and owns `device`;
     * - `device` is active or suspended.
     *
     * Emits a {DeviceRevoked} event.
     */
    function revokeDevice(address device) external;

    /**
     * @notice Suspends `device`: it cannot anchor until reinstated.
     *
     * Requirements:
     *
     * - the caller holds `REGULATOR_ROLE`;
     * - `device` is active.
     *
     * Emits a {DeviceSuspended} event.
     */
    function suspendDevice(address device) external;

    /**
     * @notice Lifts the suspension of `device`.
     *
     * Requirements:
     *
     * - the caller holds `REGULATOR_ROLE`;
     * - `device` is suspended.
     *
     * Emits a {DeviceReinstated} event.
     */
    function reinstateDevice(address device) external;

    /// @notice The full record of `device` (all zero when never registered).
    function device(address device_) external view returns (Device memory);

    /// @notice The current status of `device`.
    function statusOf(address device_) external view returns (DeviceStatus);

    /**
     * @notice Whether `device` was registered and not yet revoked at block `blockNumber`:
     * `activeSince <= blockNumber` and (`revokedAt == 0` or `blockNumber <= revokedAt`). The
     * bound is inclusive because anchors in the revocation block may precede the revocation; the
     * AnchorRegistry refused every anchor after it. Suspensions are not part of this answer: the
     * AnchorRegistry refused anchors while suspended, so a stored batch was anchored while active.
     */
    function isRegisteredAt(address device_, uint256 blockNumber) external view returns (bool);

    /// @notice All devices ever registered by `enterprise`, in registration order.
    function devicesOf(address enterprise) external view returns (address[] memory);

    /// @notice The Consortium whose roles this registry checks.
    function consortium() external view returns (address);

    /// @notice The AnchorRegistry this registry pushes status changes into (its creator).
    function anchorRegistry() external view returns (address);
}
