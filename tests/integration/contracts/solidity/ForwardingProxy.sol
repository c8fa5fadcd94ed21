// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/**
 * @title ForwardingProxy (TEST ONLY, never deployed by TrustMRV)
 * @notice A minimal upgradeable proxy: every call is delegated to an implementation its owner can
 * swap at any time. Pointed at a published FactorMethodology it answers the methodology
 * interface (identity and version live in the implementation's code), so a registry that only
 * asks the contract what it is would publish it, and its owner could then change the factors.
 */
contract ForwardingProxy {
    address private _implementation;
    address private immutable _owner;

    constructor(address implementation_) {
        _implementation = implementation_;
        _owner = msg.sender;
    }

    /// @notice Points the proxy at another implementation (owner only).
    function upgradeTo(address implementation_) external {
        require(msg.sender == _owner, "not owner");
        _implementation = implementation_;
    }

    fallback() external {
        address target = _implementation;
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch ok
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }
}
