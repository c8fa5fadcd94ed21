// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/IAccessControlDefaultAdminRules.sol";

/**
 * @title IConsortium
 * @notice The roles of a TrustMRV consortium chain. One account holds `DEFAULT_ADMIN_ROLE` (changed
 * only through OpenZeppelin's two-step, delayed transfer) and grants the other roles:
 *
 * - `ASSOCIATION_ROLE`: publishes methodologies (formulas and emission factors) as contracts.
 * - `ENTERPRISE_ROLE`: registers and manages its own edge-node devices, submits emission reports.
 * - `REGULATOR_ROLE`: attests reports, suspends and reinstates devices.
 *
 * The other TrustMRV contracts ask this one `hasRole` for their administrative operations.
 * Whenever an account loses `ENTERPRISE_ROLE` (revoked by the admin or renounced), this contract
 * tells the DeviceRegistry bound by {bindDeviceRegistry}, which stops the enterprise's devices.
 * Separation of duties: an account never holds `ENTERPRISE_ROLE` and `REGULATOR_ROLE` at once, so
 * an enterprise can never attest its own reports or lift a suspension of its own device.
 */
interface IConsortium is IAccessControlDefaultAdminRules {
    /// @notice Granting `role` to `account` would give it both enterprise and regulator powers.
    /// @param account The account the role was to be granted to.
    /// @param role The role being granted.
    /// @param heldRole The conflicting role the account already holds.
    error ConsortiumConflictingRoles(address account, bytes32 role, bytes32 heldRole);
    /// @notice Only the deployer of this contract or the default admin binds the DeviceRegistry.
    error ConsortiumUnauthorizedBinder(address caller);
    /// @notice A DeviceRegistry (`bound`) is bound already; the binding is for good.
    error ConsortiumDeviceRegistryAlreadyBound(address bound);
    /// @notice `registry` does not answer that its consortium is this contract.
    error ConsortiumNotThisConsortiumsRegistry(address registry);
    /// @notice `ENTERPRISE_ROLE` is granted only once a DeviceRegistry is bound (so no enterprise
    /// can lose the role without its devices being stopped).
    error ConsortiumDeviceRegistryNotBound();

    /// @notice The DeviceRegistry told of lost enterprise roles is `registry`, for good.
    event DeviceRegistryBound(address indexed registry);

    /**
     * @notice Binds the DeviceRegistry that is told whenever an account loses `ENTERPRISE_ROLE`.
     *
     * Requirements:
     *
     * - the caller deployed this contract or holds `DEFAULT_ADMIN_ROLE`;
     * - no registry is bound yet, and `registry.consortium()` is this contract.
     *
     * Emits a {DeviceRegistryBound} event.
     */
    function bindDeviceRegistry(address registry) external;

    /// @notice The bound DeviceRegistry (zero before {bindDeviceRegistry}).
    function deviceRegistry() external view returns (address);

    /// @notice The role of industry associations: `keccak256("ASSOCIATION_ROLE")`.
    function ASSOCIATION_ROLE() external view returns (bytes32);

    /// @notice The role of reporting enterprises: `keccak256("ENTERPRISE_ROLE")`.
    function ENTERPRISE_ROLE() external view returns (bytes32);

    /// @notice The role of regulators and verification bodies: `keccak256("REGULATOR_ROLE")`.
    function REGULATOR_ROLE() external view returns (bytes32);
}
