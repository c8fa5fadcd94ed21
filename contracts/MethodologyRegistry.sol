// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ERC165Checker} from "@openzeppelin/contracts/utils/introspection/ERC165Checker.sol";
import {Roles} from "./libraries/Roles.sol";
import {IMethodology} from "./interfaces/IMethodology.sol";
import {IMethodologyRegistry} from "./interfaces/IMethodologyRegistry.sol";

/**
 * @title MethodologyRegistry
 * @notice Append-only, time-resolved versions of each methodology (see {IMethodologyRegistry}).
 */
contract MethodologyRegistry is IMethodologyRegistry {
    IAccessControl private immutable _consortium;

    /// @dev Versions of each id in publication order, which is also ascending `effectiveFrom`
    /// and ascending version number. One slot per version.
    mapping(bytes32 id => Version[] versions) private _versions;
    mapping(bytes32 id => address association) private _publishers;
    mapping(address methodology => bool published) private _published;
    bytes32[] private _ids;

    /// @param consortium_ The Consortium whose `ASSOCIATION_ROLE` publishes.
    constructor(IAccessControl consortium_) {
        _consortium = consortium_;
    }

    /// @inheritdoc IMethodologyRegistry
    function publish(bytes32 id, address methodology, uint64 effectiveFrom) external {
        bytes32 role = Roles.ASSOCIATION_ROLE;
        if (!_consortium.hasRole(role, msg.sender)) revert MethodologyRegistryMissingRole(msg.sender, role);
        address publisher = _publishers[id];
        if (publisher != address(0) && publisher != msg.sender) {
            revert MethodologyRegistryNotIdPublisher(id, publisher, msg.sender);
        }
        if (!ERC165Checker.supportsInterface(methodology, type(IMethodology).interfaceId)) {
            revert MethodologyRegistryNotAMethodology(methodology);
        }
        if (_published[methodology]) revert MethodologyRegistryAlreadyPublished(methodology);
        IMethodology candidate = IMethodology(methodology);
        bytes32 declaredId = candidate.methodologyId();
        if (declaredId != id) revert MethodologyRegistryIdMismatch(id, declaredId);
        uint32 versionNumber = candidate.version();

        Version[] storage versions = _versions[id];
        uint256 count = versions.length;
        if (count == 0) {
            _publishers[id] = msg.sender;
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
        _published[methodology] = true;
        versions.push(Version({methodology: methodology, version: versionNumber, effectiveFrom: effectiveFrom}));
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
        return (found.methodology, found.version, found.effectiveFrom);
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
        return _published[methodology];
    }

    /// @inheritdoc IMethodologyRegistry
    function methodologyIds() external view returns (bytes32[] memory) {
        return _ids;
    }

    /// @inheritdoc IMethodologyRegistry
    function consortium() external view returns (address) {
        return address(_consortium);
    }
}
