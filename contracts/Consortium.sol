// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IConsortium} from "./interfaces/IConsortium.sol";
import {Roles} from "./libraries/Roles.sol";

/**
 * @title Consortium
 * @notice The roles of a TrustMRV deployment, on OpenZeppelin's AccessControlDefaultAdminRules:
 * one default admin, transferred in two steps after a delay fixed at deployment (and itself
 * changeable only with a delay). The admin grants and revokes the association, enterprise and
 * regulator roles.
 */
contract Consortium is IConsortium, AccessControlDefaultAdminRules {
    /// @inheritdoc IConsortium
    bytes32 public constant ASSOCIATION_ROLE = Roles.ASSOCIATION_ROLE; // keccak256("ASSOCIATION_ROLE")
    /// @inheritdoc IConsortium
    bytes32 public constant ENTERPRISE_ROLE = Roles.ENTERPRISE_ROLE; // keccak256("ENTERPRISE_ROLE")
    /// @inheritdoc IConsortium
    bytes32 public constant REGULATOR_ROLE = Roles.REGULATOR_ROLE; // keccak256("REGULATOR_ROLE")

    /**
     * @param adminTransferDelay Seconds between beginning and accepting a transfer of the
     * default admin role.
     * @param initialAdmin The first default admin.
     */
    constructor(uint48 adminTransferDelay, address initialAdmin)
        AccessControlDefaultAdminRules(adminTransferDelay, initialAdmin)
    {}

    /// @inheritdoc AccessControlDefaultAdminRules
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IConsortium).interfaceId || super.supportsInterface(interfaceId);
    }

    /**
     * @dev Refuses to give one account both `ENTERPRISE_ROLE` and `REGULATOR_ROLE`
     * ({ConsortiumConflictingRoles}); everything else as in the base contract.
     */
    function _grantRole(bytes32 role, address account) internal override returns (bool) {
        if (role == ENTERPRISE_ROLE && hasRole(REGULATOR_ROLE, account)) {
            revert ConsortiumConflictingRoles(account, role, REGULATOR_ROLE);
        }
        if (role == REGULATOR_ROLE && hasRole(ENTERPRISE_ROLE, account)) {
            revert ConsortiumConflictingRoles(account, role, ENTERPRISE_ROLE);
        }
        return super._grantRole(role, account);
    }
}
