// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IMethodologyFactory} from "../interfaces/IMethodologyFactory.sol";
import {FactorMethodology} from "./FactorMethodology.sol";

/**
 * @title MethodologyFactory
 * @notice Creates FactorMethodology versions, is their loader on behalf of their creators, and
 * remembers who created each (see {IMethodologyFactory}). It embeds FactorMethodology's creation
 * code, so its runtime code is that code plus a little; both stay under EIP-170's 24,576 bytes
 * (docs/gas.md).
 */
contract MethodologyFactory is IMethodologyFactory {
    mapping(address methodology => address creator) private _creators;

    /// @inheritdoc IMethodologyFactory
    function create(
        bytes32 id,
        uint32 version,
        bytes32 specHash,
        FactorMethodology.SourceSpec[] memory sources,
        FactorMethodology.FactorRow[] memory factors,
        bool keepOpen
    ) external returns (address methodology) {
        FactorMethodology created = new FactorMethodology(id, version, specHash, sources, factors);
        methodology = address(created);
        _creators[methodology] = msg.sender;
        emit MethodologyCreated(methodology, msg.sender, id, version, !keepOpen);
        if (!keepOpen) created.seal();
    }

    /// @inheritdoc IMethodologyFactory
    function addFactors(address methodology, FactorMethodology.FactorRow[] memory factors) external {
        _checkCreator(methodology);
        FactorMethodology(methodology).addFactors(factors);
    }

    /// @inheritdoc IMethodologyFactory
    function seal(address methodology) external {
        _checkCreator(methodology);
        FactorMethodology(methodology).seal();
    }

    /// @inheritdoc IMethodologyFactory
    function creatorOf(address methodology) external view returns (address) {
        return _creators[methodology];
    }

    /// @dev Reverts with {MethodologyFactoryNotCreator} unless the caller created `methodology` here.
    function _checkCreator(address methodology) private view {
        address creator = _creators[methodology];
        if (creator != msg.sender) revert MethodologyFactoryNotCreator(methodology, msg.sender, creator);
    }
}
