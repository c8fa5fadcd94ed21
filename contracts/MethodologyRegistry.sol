// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Roles} from "./libraries/Roles.sol";
import {IFactorMethodology} from "./interfaces/IFactorMethodology.sol";
import {IMethodology} from "./interfaces/IMethodology.sol";
import {IMethodologyFactory} from "./interfaces/IMethodologyFactory.sol";
import {IMethodologyRegistry} from "./interfaces/IMethodologyRegistry.sol";
import {MethodologyFactory} from "./methodologies/MethodologyFactory.sol";

/**
 * @title MethodologyRegistry
 * @notice Append-only, time-resolved versions of each assigned methodology id, each pinned to its
 * code hash (see {IMethodologyRegistry}).
 */
contract MethodologyRegistry is IMethodologyRegistry {
    IAccessControl private immutable _consortium;
    IMethodologyFactory private immutable _factory;

    /// @dev Versions of each id in publication order, which is also ascending `effectiveFrom`
    /// and ascending version number. Two slots per version.
    mapping(bytes32 id => Version[] versions) private _versions;
    mapping(bytes32 id => address association) private _publishers;
    mapping(address methodology => bytes32 codeHash) private _codeHashes;
    bytes32[] private _ids;

    /// @param consortium_ The Consortium whose admin assigns ids and whose `ASSOCIATION_ROLE`
    /// publishes. The constructor creates the registry's {MethodologyFactory}.
    constructor(IAccessControl consortium_) {
        _consortium = consortium_;
        _factory = new MethodologyFactory();
    }

    /// @inheritdoc IMethodologyRegistry
    function assignId(bytes32 id, address association) external {
        _checkRole(Roles.DEFAULT_ADMIN_ROLE);
        if (!_consortium.hasRole(Roles.ASSOCIATION_ROLE, association)) {
            revert MethodologyRegistryNotAnAssociation(association);
        }
        if (_versions[id].length != 0) revert MethodologyRegistryIdInUse(id);
        address previous = _publishers[id];
        _publishers[id] = association;
        emit MethodologyIdAssigned(id, association, previous, msg.sender);
    }

    /// @inheritdoc IMethodologyRegistry
    function publish(bytes32 id, address methodology, uint64 effectiveFrom) external {
        _checkRole(Roles.ASSOCIATION_ROLE);
        address publisher = _publishers[id];
        if (publisher == address(0)) revert MethodologyRegistryIdNotAssigned(id);
        if (publisher != msg.sender) revert MethodologyRegistryNotIdPublisher(id, publisher, msg.sender);
        address creator = _factory.creatorOf(methodology);
        if (creator == address(0)) revert MethodologyRegistryNotFactoryMade(methodology);
        if (creator != msg.sender) revert MethodologyRegistryNotCreator(methodology, creator, msg.sender);
        if (_codeHashes[methodology] != 0) revert MethodologyRegistryAlreadyPublished(methodology);
        IFactorMethodology candidate = IFactorMethodology(methodology);
        if (!candidate.isSealed()) revert MethodologyRegistryNotSealed(methodology);
        bytes32 declaredId = candidate.methodologyId();
        if (declaredId != id) revert MethodologyRegistryIdMismatch(id, declaredId);
        uint32 versionNumber = candidate.version();

        Version[] storage versions = _versions[id];
        uint256 count = versions.length;
        if (count == 0) {
            _ids.push(id);
        } else {
            Version storage previous = versions[count - 1];
            if (versionNumber <= previous.version) {
                revert MethodologyRegistryVersionNotIncreasing(id, previous.version, versionNumber);
            }
            if (effectiveFrom < block.timestamp) {
                revert MethodologyRegistryEffectiveTimeInPast(effectiveFrom, block.timestamp);
            }
            if (effectiveFrom <= previous.effectiveFrom) {
                revert MethodologyRegistryEffectiveTimeNotAfterPrevious(previous.effectiveFrom, effectiveFrom);
            }
        }
        bytes32 codeHash = methodology.codehash;
        _codeHashes[methodology] = codeHash;
        versions.push(
            Version({methodology: methodology, version: versionNumber, effectiveFrom: effectiveFrom, codeHash: codeHash})
        );
        emit MethodologyPublished(id, versionNumber, methodology, effectiveFrom, candidate.specHash(), msg.sender);
    }

    /// @inheritdoc IMethodologyRegistry
    function resolve(bytes32 id, uint64 timestamp)
        external
        view
        returns (address methodology, uint32 version, uint64 effectiveFrom)
    {
        Version[] storage versions = _versions[id];
        // Binary search for the number of versions with effectiveFrom <= timestamp.
        uint256 low = 0;
        uint256 high = versions.length;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (versions[mid].effectiveFrom <= timestamp) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        if (low == 0) revert MethodologyRegistryNoVersionInForce(id, timestamp);
        Version storage found = versions[low - 1];
        methodology = found.methodology;
        _checkCode(methodology, found.codeHash);
        return (methodology, found.version, found.effectiveFrom);
    }

    /// @inheritdoc IMethodologyRegistry
    function compute(
        address methodology,
        uint64 periodStart,
        uint64 periodEnd,
        IMethodology.Activity[] calldata activities
    ) external view returns (IMethodology.Result memory) {
        bytes32 pinned = _codeHashes[methodology];
        if (pinned == 0) revert MethodologyRegistryNotPublished(methodology);
        _checkCode(methodology, pinned);
        return IMethodology(methodology).compute(periodStart, periodEnd, activities);
    }

    /// @inheritdoc IMethodologyRegistry
    function versionCount(bytes32 id) external view returns (uint256) {
        return _versions[id].length;
    }

    /// @inheritdoc IMethodologyRegistry
    function versionAt(bytes32 id, uint256 index) external view returns (Version memory) {
        Version[] storage versions = _versions[id];
        if (index >= versions.length) revert MethodologyRegistryVersionIndexOutOfRange(id, index);
        return versions[index];
    }

    /// @inheritdoc IMethodologyRegistry
    function publisherOf(bytes32 id) external view returns (address) {
        return _publishers[id];
    }

    /// @inheritdoc IMethodologyRegistry
    function isPublished(address methodology) external view returns (bool) {
        return _codeHashes[methodology] != 0;
    }

    /// @inheritdoc IMethodologyRegistry
    function codeHashOf(address methodology) external view returns (bytes32) {
        return _codeHashes[methodology];
    }

    /// @inheritdoc IMethodologyRegistry
    function methodologyIds() external view returns (bytes32[] memory) {
        return _ids;
    }

    /// @inheritdoc IMethodologyRegistry
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    /// @inheritdoc IMethodologyRegistry
    function factory() external view returns (IMethodologyFactory) {
        return _factory;
    }

    /// @dev Reverts with {MethodologyRegistryMissingRole} unless the caller holds `role`.
    function _checkRole(bytes32 role) private view {
        if (!_consortium.hasRole(role, msg.sender)) revert MethodologyRegistryMissingRole(msg.sender, role);
    }

    /// @dev Reverts with {MethodologyRegistryCodeChanged} unless the code at `methodology` hashes
    /// to `pinned`.
    function _checkCode(address methodology, bytes32 pinned) private view {
        bytes32 actual = methodology.codehash;
        if (actual != pinned) revert MethodologyRegistryCodeChanged(methodology, pinned, actual);
    }
}
