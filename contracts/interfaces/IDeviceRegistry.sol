// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";

/**
 * @title IDeviceRegistry
 * @notice The edge-node devices of each enterprise, identified by the Ethereum address of their
 * signing key. An enterprise registers, rotates and revokes its own devices; a regulator suspends
 * and reinstates them. Records are never deleted: the block from which a device was active and the
 * block at which it was revoked stay readable, so batches anchored before a revocation remain
 * verifiable while new anchors are refused. Every status change is pushed into the
 * AnchorRegistry, which enforces it when a device anchors.
 *
 * Consent: registering a key (and rotating to a new key) needs the key's own EIP-712 signature
 * over `DeviceConsent(address device,address enterprise,bytes32 site,address predecessor,uint64
 * deadline)` under the domain (`TrustMRV`, `1`, chain id, this contract), reported by
 * {IERC5267-eip712Domain}. It binds the enterprise, so no other enterprise can use it.
 *
 * Enterprise standing: when an enterprise loses `ENTERPRISE_ROLE` (revoked by the admin or
 * renounced), the Consortium calls {stopEnterprise}; none of its devices may anchor, and it may
 * register or rotate none, until the admin grants the role again and calls {reactivateEnterprise}.
 */
interface IDeviceRegistry is IERC5267 {
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
    /// @notice The consent for `device` expired at `deadline` (Unix seconds); the block time is `now`.
    error DeviceRegistryConsentExpired(address device, uint64 deadline, uint256 now);
    /// @notice The consent signature recovers `signer`, not `device`: it was made by another key,
    /// or over other values (another enterprise, site, predecessor, deadline, chain or registry).
    error DeviceRegistryConsentSignerMismatch(address device, address signer);
    /// @notice Only the Consortium reports lost roles; `caller` is not it.
    error DeviceRegistryCallerNotConsortium(address caller);
    /// @notice `enterprise` lost its role and is not reactivated: it registers and rotates no device.
    error DeviceRegistryEnterpriseStopped(address enterprise);
    /// @notice `enterprise` is in good standing: there is nothing to reactivate.
    error DeviceRegistryEnterpriseNotStopped(address enterprise);
    /// @notice The registry already numbers 2^32 - 1 enterprises.
    error DeviceRegistryTooManyEnterprises();

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
    /// @notice `enterprise` (number `index` in the AnchorRegistry) lost `ENTERPRISE_ROLE`, taken
    /// by `by` (the admin, or the enterprise itself renouncing): its devices stop anchoring.
    event EnterpriseStopped(address indexed enterprise, uint32 index, address indexed by);
    /// @notice `admin` reactivated `enterprise` (which holds `ENTERPRISE_ROLE` again): its devices
    /// may anchor again (each still subject to its own status).
    event EnterpriseReactivated(address indexed enterprise, uint32 index, address indexed admin);

    /**
     * @notice Registers `device` for the calling enterprise, active from this block, with the
     * device key's consent.
     * @param deadline Last block time (Unix seconds) at which `consent` may be used.
     * @param consent The 65-byte `r || s || v` (low-s) signature by `device` of the EIP-712
     * `DeviceConsent(device, msg.sender, site, address(0), deadline)` under this registry's domain.
     *
     * Requirements:
     *
     * - the caller holds `ENTERPRISE_ROLE` and is not stopped ({reactivateEnterprise});
     * - `device` is not zero and was never registered (so a consent is used at most once);
     *   `site` is not zero;
     * - `block.timestamp <= deadline`, and `consent` is well formed (else OpenZeppelin's
     *   `ECDSAInvalidSignature*` errors) and signed by `device`.
     *
     * Emits a {DeviceRegistered} event.
     */
    function registerDevice(address device, bytes32 site, bytes32 metadataHash, uint64 deadline,
        bytes calldata consent) external;

    /**
     * @notice Replaces `device` by the new key `newDevice`: the old one is revoked at this block,
     * the new one is registered with the same enterprise and site and a link to the old one. Each
     * key has its own batch sequence, starting at 0. The new key consents as in {registerDevice},
     * with `predecessor = device` and the old key's site.
     *
     * Requirements:
     *
     * - the caller holds `ENTERPRISE_ROLE`, is not stopped, and owns `device`;
     * - `device` is active (a suspended device cannot escape its suspension by rotating);
     * - `newDevice` is not zero and was never registered;
     * - `block.timestamp <= deadline` and `consent` is signed by `newDevice`.
     *
     * Emits a {DeviceRevoked}, a {DeviceRegistered} and a {DeviceRotated} event.
     */
    function rotateDevice(address device, address newDevice, bytes32 metadataHash, uint64 deadline,
        bytes calldata consent) external;

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

    /**
     * @notice Records that `enterprise` lost `ENTERPRISE_ROLE` (taken by `by`) and stops all its
     * devices in the AnchorRegistry at once (one storage write, whatever its number of devices).
     *
     * Requirements:
     *
     * - the caller is the Consortium (it calls this whenever the role is revoked or renounced).
     *
     * Emits an {EnterpriseStopped} event (none when the enterprise is already stopped).
     */
    function stopEnterprise(address enterprise, address by) external;

    /**
     * @notice Lets the devices of a stopped `enterprise` anchor again.
     *
     * Requirements:
     *
     * - the caller holds the Consortium's `DEFAULT_ADMIN_ROLE`;
     * - `enterprise` holds `ENTERPRISE_ROLE` again (granted by the admin) and is stopped.
     *
     * Emits an {EnterpriseReactivated} event.
     */
    function reactivateEnterprise(address enterprise) external;

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

    /// @notice The number of `enterprise` in the AnchorRegistry (0 before its first device or stop)
    /// and whether it is stopped.
    function enterpriseStanding(address enterprise) external view returns (uint32 index, bool stopped);

    /// @notice keccak256 of the `DeviceConsent` EIP-712 type string.
    function CONSENT_TYPEHASH() external view returns (bytes32);

    /// @notice The EIP-712 digest `device` signs to consent to being registered by `enterprise`
    /// at `site` (`predecessor`: the key it replaces by rotation, or zero), until `deadline`.
    function consentDigest(address device, address enterprise, bytes32 site, address predecessor,
        uint64 deadline) external view returns (bytes32);

    /// @notice All devices ever registered by `enterprise`, in registration order.
    function devicesOf(address enterprise) external view returns (address[] memory);

    /// @notice The Consortium whose roles this registry checks.
    function consortium() external view returns (address);

    /// @notice The AnchorRegistry this registry pushes status changes into (its creator).
    function anchorRegistry() external view returns (address);
}
