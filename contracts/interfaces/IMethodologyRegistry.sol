// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMethodology} from "./IMethodology.sol";
import {IMethodologyFactory} from "./IMethodologyFactory.sol";

/**
 * @title IMethodologyRegistry
 * @notice Append-only versions of each methodology id, each with the time it takes effect, so
 * the version in force for any past period can be resolved and never changes afterwards.
 *
 * Rules:
 *
 * - Ids are assigned, never taken: the consortium admin (`DEFAULT_ADMIN_ROLE`) assigns an id to
 *   one association (which holds `ASSOCIATION_ROLE`) before its first version, and may reassign it
 *   until then; from the first version on the assignment is final. Only the assigned association
 *   publishes versions of the id.
 * - Only versions the registry's own factory ({factory}) created, with their factor table sealed,
 *   are published. The registry pins each version's code hash (`EXTCODEHASH`) at publication;
 *   {resolve} and {compute} fail closed ({MethodologyRegistryCodeChanged}) if the code at that
 *   address ever differs.
 * - The first version of an id may take effect from any time (nothing could have resolved to that
 *   id before). Every later version must take effect no earlier than the block in which it is
 *   published and strictly later than the previous version, and must carry a higher version
 *   number. Versions are never edited or removed; a methodology contract is published once.
 */
interface IMethodologyRegistry {
    /**
     * @notice One published version.
     * @dev Two storage slots: methodology, version and effectiveFrom (20 + 4 + 8 bytes); codeHash.
     * @param codeHash The `EXTCODEHASH` of `methodology` when it was published.
     */
    struct Version {
        address methodology;
        uint32 version;
        uint64 effectiveFrom;
        bytes32 codeHash;
    }

    /// @notice `account` lacks `role` in the Consortium.
    error MethodologyRegistryMissingRole(address account, bytes32 role);
    /// @notice `methodology` was not created by the registry's factory.
    error MethodologyRegistryNotFactoryMade(address methodology);
    /// @notice `creator` created `methodology` through the factory, not `caller`: an association
    /// publishes only a contract it created itself, so no one else can slip it other factors under
    /// the official id, version and spec hash.
    error MethodologyRegistryNotCreator(address methodology, address creator, address caller);
    /// @notice `methodology`'s factor table is not sealed yet.
    error MethodologyRegistryNotSealed(address methodology);
    /// @notice The code at `methodology` hashes to `actual`, not to `pinned`, the hash pinned at
    /// publication: the version can no longer be trusted.
    error MethodologyRegistryCodeChanged(address methodology, bytes32 pinned, bytes32 actual);
    /// @notice `methodology` is not published.
    error MethodologyRegistryNotPublished(address methodology);
    /// @notice No association is assigned id `id`: the consortium admin assigns it first.
    error MethodologyRegistryIdNotAssigned(bytes32 id);
    /// @notice Id `id` already has a published version, so its assignment is final.
    error MethodologyRegistryIdInUse(bytes32 id);
    /// @notice `account` does not hold `ASSOCIATION_ROLE`, so no id can be assigned to it.
    error MethodologyRegistryNotAnAssociation(address account);
    /// @notice The contract declares methodology id `actual`, the publication names `expected`.
    error MethodologyRegistryIdMismatch(bytes32 expected, bytes32 actual);
    /// @notice Id `id` is assigned to `publisher`; `caller` may not publish versions of it.
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

    /// @notice The consortium admin `admin` assigned `id` to `association` (`previous`: the
    /// association it was assigned to before, zero if none).
    event MethodologyIdAssigned(bytes32 indexed id, address indexed association, address previous, address admin);

    /**
     * @notice Assigns `id` to `association`, which alone may then publish its versions.
     *
     * Requirements:
     *
     * - the caller holds the Consortium's `DEFAULT_ADMIN_ROLE` (else {MethodologyRegistryMissingRole});
     * - `association` holds `ASSOCIATION_ROLE` (else {MethodologyRegistryNotAnAssociation});
     * - `id` has no published version yet (else {MethodologyRegistryIdInUse}).
     *
     * Emits a {MethodologyIdAssigned} event.
     */
    function assignId(bytes32 id, address association) external;

    /**
     * @notice Publishes `methodology` as the next version of `id`, in force from `effectiveFrom`
     * (Unix seconds) until the next version takes effect.
     *
     * Requirements:
     *
     * - the caller holds `ASSOCIATION_ROLE` ({MethodologyRegistryMissingRole}) and is the
     *   association `id` is assigned to ({MethodologyRegistryIdNotAssigned},
     *   {MethodologyRegistryNotIdPublisher});
     * - `methodology` was created by {factory} ({MethodologyRegistryNotFactoryMade}) and by the
     *   caller itself ({MethodologyRegistryNotCreator}), was not published before, has its factor table sealed ({MethodologyRegistryNotSealed}) and
     *   declares `id`;
     * - its version number exceeds the previous version's;
     * - for a later version: `effectiveFrom >= block.timestamp` and `effectiveFrom` is after the
     *   previous version's.
     *
     * Its code hash is pinned.
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
     * - such a version exists (else {MethodologyRegistryNoVersionInForce});
     * - its code still hashes to the pinned hash (else {MethodologyRegistryCodeChanged}).
     */
    function resolve(bytes32 id, uint64 timestamp)
        external
        view
        returns (address methodology, uint32 version, uint64 effectiveFrom);

    /**
     * @notice {IMethodology-compute} of the published `methodology`, checked against its pinned
     * code hash in the same call: the on-chain way to compute with a published version.
     *
     * Requirements:
     *
     * - `methodology` is published (else {MethodologyRegistryNotPublished});
     * - its code still hashes to the pinned hash (else {MethodologyRegistryCodeChanged});
     * - those of {IMethodology-compute} (its errors pass through unchanged).
     */
    function compute(
        address methodology,
        uint64 periodStart,
        uint64 periodEnd,
        IMethodology.Activity[] calldata activities
    ) external view returns (IMethodology.Result memory);

    /// @notice The code hash pinned when `methodology` was published (zero when unpublished).
    function codeHashOf(address methodology) external view returns (bytes32);

    /// @notice The factory whose versions this registry publishes (created by its constructor).
    function factory() external view returns (IMethodologyFactory);

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

    /// @notice The association `id` is assigned to (zero when unassigned).
    function publisherOf(bytes32 id) external view returns (address);

    /// @notice Whether `methodology` was published (under any id).
    function isPublished(address methodology) external view returns (bool);

    /// @notice Every published id, in order of first publication.
    function methodologyIds() external view returns (bytes32[] memory);

    /// @notice The Consortium whose `ASSOCIATION_ROLE` publishes.
    function consortium() external view returns (address);
}
