// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMethodology} from "./IMethodology.sol";

/**
 * @title IFactorMethodology
 * @notice The methodology engine (docs/accounting.md, section 1): one immutable contract per
 * methodology version, built from data only. A methodology is a list of activity *sources*
 * (emission, deduction or override), the ordered *parameters* each emission source's formula
 * multiplies, a constant ratio closing the formula, and a *factor table* giving each (source,
 * parameter) by data period. The sources are given to the constructor; the factor table too, or,
 * when it is too large for one transaction (EIP-3860 caps initcode at 49,152 bytes, EIP-7825 a
 * transaction at 2**24 gas), its first rows there and the rest in chunks ({addFactors}) by the
 * *loader*, the deployer, who then seals the table ({seal}). Every row is checked as it
 * arrives. Once sealed, nothing changes: a corrected factor is a new version, and the
 * MethodologyRegistry publishes only sealed versions its factory created.
 *
 * Per emission line, with `covered` the part of `amount` a deduction pool covers:
 *
 *     acc = amount - covered
 *     acc = acc * value(p)      for each parameter p, in the source's order
 *     acc = acc * numerator
 *     acc = acc + denominator / 2
 *     grams = acc / denominator
 *
 * with checked arithmetic (an overflow reverts with `Panic(0x11)`): round half up, once per line.
 */
interface IFactorMethodology is IMethodology {
    /**
     * @notice One activity source, as given to the constructor and returned by {sourceSpec}.
     * @param source Its ASCII code, right-padded with zero bytes (`bytes32("fuel.natural_gas")`).
     * @param unit The integer unit of `Activity.amount` for it, ASCII (`Wh`, `dm3`, `g`, `kJ`; for an
     * override, the unit of the parameter it replaces).
     * @param scope GHG Protocol scope of its emissions: 1 or 2.
     * @param kind 0 emission, 1 deduction, 2 override.
     * @param target For a deduction or an override: the emission source it applies to; else zero.
     * @param parameters For an emission source: the ordered parameter names its formula multiplies
     * (ASCII: `EF`; `NCV`, `CC`, `OF`; `GWP`), distinct and non-zero, possibly none. For an
     * override: exactly one, the parameter of `target` it replaces. For a deduction: none.
     * @param numerator For an emission source: the constant numerator (> 0); else zero.
     * @param denominator For an emission source: the constant denominator (> 0); else zero.
     */
    struct SourceSpec {
        bytes32 source;
        bytes32 unit;
        uint8 scope;
        uint8 kind;
        bytes32 target;
        bytes32[] parameters;
        uint256 numerator;
        uint256 denominator;
    }

    /**
     * @notice One row of the factor table, as given to the constructor ({factor} returns it as an
     * `IMethodology.Factor`, without the key and the citation).
     * @param key Its unique, non-zero key, e.g. `bytes32("elec.national.2022")`.
     * @param source The emission source it belongs to.
     * @param parameter One of that source's parameters.
     * @param validFrom Start of the data period (Unix seconds, inclusive).
     * @param validUntil End of the data period (Unix seconds, exclusive); `2**64 - 1` is open-ended.
     * @param value The value in the stored unit (docs/accounting.md, section 2), used as is.
     * @param decimals `value / 10**decimals` in `unit` is the published figure.
     * @param unit The unit, ASCII (`gCO2/MWh`, `J/dm3`, `gC/GJ`, `1e-4`, `1e-1`).
     * @param citation Publication | document | table | year; emitted in
     * {IMethodology-FactorCited}, not stored.
     */
    struct FactorRow {
        bytes32 key;
        bytes32 source;
        bytes32 parameter;
        uint64 validFrom;
        uint64 validUntil;
        uint256 value;
        uint8 decimals;
        bytes32 unit;
        string citation;
    }

    /**
     * @notice Source spec `index` is malformed on its own: a zero code or unit; a scope other than
     * 1 or 2; a kind above 2; an emission source with a target, a zero numerator or denominator, or
     * a zero or repeated parameter name; a deduction with no target, any parameter, or a non-zero
     * numerator or denominator; an override with no target, not exactly one non-zero parameter, or
     * a non-zero numerator or denominator.
     */
    error FactorMethodologyInvalidSourceSpec(uint256 index);
    /// @notice Two source specs share the code `source`.
    error FactorMethodologyDuplicateSource(bytes32 source);
    /// @notice Source spec `index` (a deduction or an override) targets `target`, which is not an
    /// emission source of this methodology, or (an override) a parameter `target` does not have.
    error FactorMethodologyUnknownTarget(uint256 index, bytes32 target);
    /// @notice Factor row `index` has a zero key.
    error FactorMethodologyZeroKey(uint256 index);
    /// @notice Two factor rows share the key `key`.
    error FactorMethodologyDuplicateKey(bytes32 key);
    /// @notice Factor row `index` names a source that is not an emission source of this
    /// methodology, or a parameter its source does not have.
    error FactorMethodologyUnknownParameter(uint256 index);
    /// @notice Factor row `index` has an empty data period: `validFrom >= validUntil`.
    error FactorMethodologyEmptyPeriod(uint256 index);
    /// @notice The data period of factor row `index` overlaps an earlier row of the same (source,
    /// parameter).
    error FactorMethodologyOverlappingPeriods(uint256 index);

    /// @notice `caller` may not load factor rows or seal: only the loader `loader` may.
    error FactorMethodologyNotLoader(address caller, address loader);
    /// @notice The factor table is sealed: no row can be added, and it cannot be sealed again.
    error FactorMethodologyAlreadySealed();

    /// @notice The factor table was sealed with `factorCount` rows; nothing changes from now on.
    event TableSealed(uint256 factorCount);

    /**
     * @notice Appends `factors` to the factor table, in order, each checked as the constructor
     * checks rows: its key ({FactorMethodologyZeroKey}, {FactorMethodologyDuplicateKey}, also
     * against earlier chunks), its source and parameter ({FactorMethodologyUnknownParameter}), its
     * period ({FactorMethodologyEmptyPeriod}) and the earlier rows of its (source, parameter)
     * ({FactorMethodologyOverlappingPeriods}); row indices in errors count from the start of the
     * whole table.
     *
     * Requirements:
     *
     * - the table is not sealed (else {FactorMethodologyAlreadySealed});
     * - the caller is the loader (else {FactorMethodologyNotLoader}).
     *
     * Emits a {IMethodology-FactorCited} event per row.
     */
    function addFactors(FactorRow[] memory factors) external;

    /**
     * @notice Seals the factor table: no row can be added afterwards, and the loader is cleared.
     *
     * Requirements:
     *
     * - the table is not sealed (else {FactorMethodologyAlreadySealed});
     * - the caller is the loader (else {FactorMethodologyNotLoader}).
     *
     * Emits a {TableSealed} event.
     */
    function seal() external;

    /// @notice Whether the factor table is sealed (complete and unchangeable).
    function isSealed() external view returns (bool);

    /// @notice The account that may still add rows and seal; zero once sealed.
    function loader() external view returns (address);

    /**
     * @notice The specification of `source`, as given to the constructor.
     *
     * Requirements:
     *
     * - `source` is one of {sources} (else {MethodologyUnknownSource}).
     */
    function sourceSpec(bytes32 source) external view returns (SourceSpec memory);
}
