// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IMethodologyRegistry
 * @notice Append-only versions of each methodology id, each with the time it takes effect, so
 * the version in force for any past period can be resolved and never changes afterwards.
 *
 * Rules: the association that first publishes an id owns it and alone publishes its later
 * versions. The first version of an id may take effect from any time (nothing could have
 * resolved to that id before). Every later version must take effect no earlier than the block in
 * which it is published and strictly later than the previous version, and must carry a higher
 * version number. Versions are never edited or removed; a methodology contract is published once.
 */
interface IMethodologyRegistry {
    /**
     * @notice One published version.
     * @dev Fits one storage slot (20 + 4 + 8 bytes).
     */
    struct Version {
        address methodology;
        uint32 version;
        uint64 effectiveFrom;
    }

    /// @notice `account` lacks `role` in the Consortium.
    error MethodologyRegistryMissingRole(address account, bytes32 role);
    /// @notice `methodology` does not implement IMethodology (ERC-165).
    error MethodologyRegistryNotAMethodology(address methodology);
    /// @notice The contract declares methodology id `actual`, the publication names `expected`.
    error MethodologyRegistryIdMismatch(bytes32 expected, bytes32 actual);
    /// @notice Id `id` belongs to `publisher`; `caller` may not publish versions of it.
    error MethodologyRegistryNotIdPublisher(bytes32 id, address publisher, address caller);
    /// @notice `methodology` is already published.
    error MethodologyRegistryAlreadyPublished(address methodology);
    /// @notice Version numbers of `id` must increase: `given` does not exceed `previous`.
    error MethodologyRegistryVersionNotIncreasing(bytes32 id, uint32 previous, uint32 given);
    /// @notice A later version cannot take effect at `effectiveFrom`, before the block time `now_`.
    error MethodologyRegistryEffectiveTimeInPast(uint64 effectiveFrom, uint256 now_);
    /// @notice A later version must take effect after the previous one (`previous`), not at `given`.
    error MethodologyRegistryEffectiveTimeNotAfterPrevious(uint64 previous, uint64 given);
    /// @notice No version of `id` is in force at `timestamp` (unknown id, or before its first).
    error MethodologyRegistryNoVersionInForce(bytes32 id, uint64 timestamp);
    /// @notice `id` has no version number `index` (0-based) in publication order.
    error MethodologyRegistryVersionIndexOutOfRange(bytes32 id, uint256 index);

    /// @notice `publisher` published `methodology`, version `version` of `id`, in force from
    /// `effectiveFrom`; `specHash` is the hash of its specification.
    event MethodologyPublished(
        bytes32 indexed id,
        uint32 indexed version,
        address indexed methodology,
        uint64 effectiveFrom,
        bytes32 specHash,
        address publisher
    );

    /**
     * @notice Publishes `methodology` as the next version of `id`, in force from `effectiveFrom`
     * (Unix seconds) until the next version takes effect.
     *
     * Requirements:
     *
     * - the caller holds `ASSOCIATION_ROLE` and, unless this is the first version of `id`, is the
     *   association that published the first;
     * - `methodology` implements IMethodology, declares `id`, and was not published before;
     * - its version number exceeds the previous version's;
     * - for a later version: `effectiveFrom >= block.timestamp` and `effectiveFrom` is after the
     *   previous version's.
     *
     * Emits a {MethodologyPublished} event.
     */
    function publish(bytes32 id, address methodology, uint64 effectiveFrom) external;

    /**
     * @notice The version of `id` in force at `timestamp`: the last one whose `effectiveFrom` is
     * at or before it.
     *
     * Requirements:
     *
     * - such a version exists (else {MethodologyRegistryNoVersionInForce}).
     */
    function resolve(bytes32 id, uint64 timestamp)
        external
        view
        returns (address methodology, uint32 version, uint64 effectiveFrom);

    /// @notice How many versions of `id` were published.
    function versionCount(bytes32 id) external view returns (uint256);

    /**
     * @notice The `index`-th published version of `id` (0-based, publication order).
     *
     * Requirements:
     *
     * - `index < versionCount(id)`.
     */
    function versionAt(bytes32 id, uint256 index) external view returns (Version memory);

    /// @notice The association that owns `id` (zero when unpublished).
    function publisherOf(bytes32 id) external view returns (address);

    /// @notice Whether `methodology` was published (under any id).
    function isPublished(address methodology) external view returns (bool);

    /// @notice Every published id, in order of first publication.
    function methodologyIds() external view returns (bytes32[] memory);

    /// @notice The Consortium whose `ASSOCIATION_ROLE` publishes.
    function consortium() external view returns (address);
}
