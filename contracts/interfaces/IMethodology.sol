// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/**
 * @title IMethodology
 * @notice One immutable version of an emission accounting methodology: its identity, a hash of
 * its human-readable specification, its factor tables, and a `view` computation from activity
 * data to integer grams of CO2 equivalent. A new version is a new contract, published in the
 * MethodologyRegistry with the time it takes effect.
 *
 * The computation is integer fixed point with checked arithmetic (overflow reverts); every
 * methodology documents its one rounding rule. Factors are chosen by the methodology from the
 * period of the data, never by the caller. The same interface serves purchased electricity
 * (location- or market-based, certificates as activities whose `evidence` is the certificate
 * hash), fuel combustion (per fuel: consumption x NCV x carbon content x oxidation x 44/12),
 * heat, fugitive gases (mass x GWP) and combined enterprise methodologies with scope 1 and
 * scope 2 totals.
 */
interface IMethodology is IERC165 {
    /**
     * @notice One line of activity data.
     * @param source What the activity is, in the methodology's vocabulary (a grid region, a fuel
     * type, a gas, a certificate scheme ...), as an ASCII `bytes32` or a hash.
     * @param amount The quantity, an integer in the unit {activityUnit} gives for `source`.
     * @param evidence Hash of the evidence behind the figure (a commitment to anchored readings,
     * a certificate id); methodologies that do not deduct anything ignore it.
     */
    struct Activity {
        bytes32 source;
        uint256 amount;
        bytes32 evidence;
    }

    /// @notice The emissions of one activity line: its GHG Protocol scope (1 or 2) and grams CO2e.
    struct Emission {
        uint8 scope;
        uint256 grams;
    }

    /**
     * @notice The outcome of {compute}.
     * @param emissions One entry per activity, in input order.
     * @param scope1 Sum of the scope-1 entries, grams CO2e.
     * @param scope2 Sum of the scope-2 entries, grams CO2e.
     * @param total `scope1 + scope2`.
     */
    struct Result {
        Emission[] emissions;
        uint256 scope1;
        uint256 scope2;
        uint256 total;
    }

    /**
     * @notice One entry of a factor table.
     * @param source The activity source it applies to.
     * @param parameter Which parameter of the formula it is (`EF`, `NCV`, `CC`, `OF`, `GWP` ...).
     * @param validFrom Start of the data period it applies to (Unix seconds, inclusive).
     * @param validUntil End of that period (Unix seconds, exclusive).
     * @param value The factor in fixed point: `value / 10**decimals` `unit`.
     * @param decimals Decimal scale of `value`.
     * @param unit The unit as ASCII `bytes32`, e.g. `gCO2/MWh`.
     *
     * Where the value comes from is in the {FactorCited} event of its key and in the specification
     * that {specHash} commits to.
     */
    struct Factor {
        bytes32 source;
        bytes32 parameter;
        uint64 validFrom;
        uint64 validUntil;
        uint256 value;
        uint8 decimals;
        bytes32 unit;
    }

    /**
     * @notice Emitted once per factor, when the version is built: where factor `key` comes from
     * (publication | document | table | year). Logs cost a fraction of storage, and a citation is
     * read by people, never by {compute}.
     */
    event FactorCited(bytes32 indexed key, string citation);

    /// @notice The period is empty or reversed: `periodStart` must be before `periodEnd`.
    error MethodologyInvalidPeriod(uint64 periodStart, uint64 periodEnd);
    /// @notice The methodology has no factors for activity source `source`.
    error MethodologyUnknownSource(bytes32 source);
    /// @notice No factor of `source` covers the whole period `[periodStart, periodEnd)`.
    error MethodologyNoFactorForPeriod(bytes32 source, uint64 periodStart, uint64 periodEnd);
    /// @notice No factor has the key `key`.
    error MethodologyUnknownFactor(bytes32 key);
    /// @notice Activity line `index` (a deduction or an override) has no evidence: `evidence` is zero.
    error MethodologyMissingEvidence(uint256 index);
    /// @notice A second line of override source `source` replaces a parameter another line of the
    /// same computation already replaced.
    error MethodologyDuplicateOverride(bytes32 source);

    /// @notice The methodology's id, shared by all its versions (e.g. `bytes32("cn.electricity.location")`).
    function methodologyId() external view returns (bytes32);

    /// @notice This version's number.
    function version() external view returns (uint32);

    /// @notice keccak256 of the human-readable specification of this version.
    function specHash() external view returns (bytes32);

    /// @notice The keys of all factors, in table order.
    function factorKeys() external view returns (bytes32[] memory);

    /**
     * @notice The factor stored under `key`.
     *
     * Requirements:
     *
     * - `key` is one of {factorKeys}.
     */
    function factor(bytes32 key) external view returns (Factor memory);

    /// @notice The activity sources this methodology accepts.
    function sources() external view returns (bytes32[] memory);

    /**
     * @notice The unit of `Activity.amount` for `source`, as ASCII `bytes32` (e.g. `Wh`).
     *
     * Requirements:
     *
     * - `source` is one of {sources}.
     */
    function activityUnit(bytes32 source) external view returns (bytes32);

    /**
     * @notice Computes the emissions of `activities` during `[periodStart, periodEnd)` (Unix
     * seconds). The factors applied are those in force for that period.
     *
     * Requirements:
     *
     * - `periodStart < periodEnd`;
     * - every activity's source is known and has a factor covering the whole period;
     * - every deduction or override line carries evidence, and no two lines override the same
     *   parameter (for methodologies that have deductions or overrides);
     * - no intermediate value overflows 256 bits.
     */
    function compute(uint64 periodStart, uint64 periodEnd, Activity[] calldata activities)
        external
        view
        returns (Result memory);
}
