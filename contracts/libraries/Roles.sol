// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title Roles
 * @notice The Consortium's role identifiers, in one place for the Consortium (which exposes them
 * as public constants) and the registries (which ask the Consortium `hasRole`).
 */
library Roles {
    /// @dev OpenZeppelin AccessControl's `DEFAULT_ADMIN_ROLE`.
    bytes32 internal constant DEFAULT_ADMIN_ROLE = 0x00;
    bytes32 internal constant ASSOCIATION_ROLE = keccak256("ASSOCIATION_ROLE");
    bytes32 internal constant ENTERPRISE_ROLE = keccak256("ENTERPRISE_ROLE");
    bytes32 internal constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");
}
