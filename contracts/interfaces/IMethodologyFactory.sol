// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IFactorMethodology} from "./IFactorMethodology.sol";

/**
 * @title IMethodologyFactory
 * @notice The consortium's own factory of methodology versions: it deploys {FactorMethodology}
 * contracts (code the consortium reviewed once, with no proxy, no `delegatecall` and no
 * `selfdestruct`), remembers which addresses it created and for whom, and is their loader: a
 * creator appends factor rows and seals its contract through the factory. The MethodologyRegistry
 * creates one factory in its constructor and publishes only versions that factory created.
 */
interface IMethodologyFactory {
    /// @notice `caller` did not create `methodology` here (`creator`: who did, zero if nobody).
    error MethodologyFactoryNotCreator(address methodology, address caller, address creator);

    /// @notice `creator` created `methodology`, version `version` of `id`; `isSealed` is false when
    /// the creator still has factor rows to add before sealing it.
    event MethodologyCreated(
        address indexed methodology, address indexed creator, bytes32 indexed id, uint32 version, bool isSealed
    );

    /**
     * @notice Deploys a FactorMethodology with these constructor arguments and records the caller
     * as its creator. Without `keepOpen`, `factors` is the whole table and the contract is sealed
     * at once; with it, the creator appends the remaining rows with {addFactors} and then calls
     * {seal}.
     *
     * Requirements: those of the FactorMethodology constructor (its custom errors pass through).
     *
     * Emits a {MethodologyCreated} event (and the contract's own events).
     * @return methodology The new contract's address.
     */
    function create(
        bytes32 id,
        uint32 version,
        bytes32 specHash,
        IFactorMethodology.SourceSpec[] memory sources,
        IFactorMethodology.FactorRow[] memory factors,
        bool keepOpen
    ) external returns (address methodology);

    /**
     * @notice Appends `factors` to the open table of `methodology`
     * ({IFactorMethodology-addFactors}).
     *
     * Requirements:
     *
     * - the caller created `methodology` here (else {MethodologyFactoryNotCreator});
     * - its table is not sealed ({IFactorMethodology-FactorMethodologyAlreadySealed}) and the rows
     *   pass its checks.
     *
     * Emits a {IMethodology-FactorCited} event per row (from `methodology`).
     */
    function addFactors(address methodology, IFactorMethodology.FactorRow[] memory factors) external;

    /**
     * @notice Seals the table of `methodology` ({IFactorMethodology-seal}).
     *
     * Requirements:
     *
     * - the caller created `methodology` here (else {MethodologyFactoryNotCreator});
     * - its table is not sealed yet.
     *
     * Emits a {IFactorMethodology-TableSealed} event (from `methodology`).
     */
    function seal(address methodology) external;

    /// @notice The account that created `methodology` here, or zero when this factory did not.
    function creatorOf(address methodology) external view returns (address);
}
