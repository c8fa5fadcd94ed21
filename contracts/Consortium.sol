// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IConsortium} from "./interfaces/IConsortium.sol";
import {IDeviceRegistry} from "./interfaces/IDeviceRegistry.sol";
import {Roles} from "./libraries/Roles.sol";

/**
 * @title Consortium
 * @notice The roles of a TrustMRV deployment, on OpenZeppelin's AccessControlDefaultAdminRules:
 * one default admin, transferred in two steps after a delay fixed at deployment (and itself
 * changeable only with a delay). The admin grants and revokes the association, enterprise and
 * regulator roles. A lost enterprise role is reported to the bound DeviceRegistry in the same
 * transaction, which stops the enterprise's devices.
 */
contract Consortium is IConsortium, AccessControlDefaultAdminRules {
    /// @inheritdoc IConsortium
    bytes32 public constant ASSOCIATION_ROLE = Roles.ASSOCIATION_ROLE; // keccak256("ASSOCIATION_ROLE")
    /// @inheritdoc IConsortium
    bytes32 public constant ENTERPRISE_ROLE = Roles.ENTERPRISE_ROLE; // keccak256("ENTERPRISE_ROLE")
    /// @inheritdoc IConsortium
    bytes32 public constant REGULATOR_ROLE = Roles.REGULATOR_ROLE; // keccak256("REGULATOR_ROLE")

    address private immutable _deployer;
    IDeviceRegistry private _deviceRegistry;

    /**
     * @param adminTransferDelay Seconds between beginning and accepting a transfer of the
     * default admin role.
     * @param initialAdmin The first default admin.
     */
    constructor(uint48 adminTransferDelay, address initialAdmin)
        AccessControlDefaultAdminRules(adminTransferDelay, initialAdmin)
    {
        _deployer = msg.sender;
    }

    /// @inheritdoc IConsortium
    function bindDeviceRegistry(address registry) external {
        if (msg.sender != _deployer && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert ConsortiumUnauthorizedBinder(msg.sender);
        }
        if (address(_deviceRegistry) != address(0)) {
            revert ConsortiumDeviceRegistryAlreadyBound(address(_deviceRegistry));
        }
        if (IDeviceRegistry(registry).consortium() != address(this)) {
            revert ConsortiumNotThisConsortiumsRegistry(registry);
        }
        _deviceRegistry = IDeviceRegistry(registry);
        emit DeviceRegistryBound(registry);
    }

    /// @inheritdoc IConsortium
    function deviceRegistry() external view returns (address) {
        return address(_deviceRegistry);
    }

    /// @inheritdoc AccessControlDefaultAdminRules
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IConsortium).interfaceId || super.supportsInterface(interfaceId);
    }

    /**
     * @dev Refuses to give one account both `ENTERPRISE_ROLE` and `REGULATOR_ROLE`
     * ({ConsortiumConflictingRoles}), and `ENTERPRISE_ROLE` before a DeviceRegistry is bound
     * ({ConsortiumDeviceRegistryNotBound}); everything else as in the base contract.
     */
    function _grantRole(bytes32 role, address account) internal override returns (bool) {
        if (role == ENTERPRISE_ROLE && address(_deviceRegistry) == address(0)) {
            revert ConsortiumDeviceRegistryNotBound();
        }
        if (role == ENTERPRISE_ROLE && hasRole(REGULATOR_ROLE, account)) {
            revert ConsortiumConflictingRoles(account, role, REGULATOR_ROLE);
        }
        if (role == REGULATOR_ROLE && hasRole(ENTERPRISE_ROLE, account)) {
            revert ConsortiumConflictingRoles(account, role, ENTERPRISE_ROLE);
        }
        return super._grantRole(role, account);
    }

    /**
     * @dev Revokes as the base contract does (for {revokeRole} and {renounceRole} alike); when an
     * account loses `ENTERPRISE_ROLE`, tells the DeviceRegistry, which stops its devices.
     */
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked && role == ENTERPRISE_ROLE) _deviceRegistry.stopEnterprise(account, _msgSender());
    }
}
