// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IMethodology} from "../interfaces/IMethodology.sol";
import {ILocationBasedElectricity} from "../interfaces/ILocationBasedElectricity.sol";

/**
 * @title LocationBasedElectricity
 * @notice Purchased electricity, location-based, scope 2.
 *
 * Formula, per activity line (`source` = grid region, `amount` = electricity in Wh):
 *
 *     grams CO2 = (amount * gramsPerMWh + 500_000) / 1_000_000      (integer division)
 *
 * i.e. Wh x (g CO2 / MWh) / (10^6 Wh / MWh), **rounded half up to whole grams, once per activity
 * line**. The scope-2 total is the sum of the rounded lines, so the lines always add up to it.
 * All arithmetic is checked: an overflow reverts.
 *
 * The grid factor applied is the row of `source` whose validity interval `[validFrom,
 * validUntil)` contains the whole period `[periodStart, periodEnd)`; a period that crosses a
 * data-period boundary (e.g. a year end) has no factor and reverts, so one computation never
 * mixes data years. The table is fixed at construction: a corrected factor is a new version.
 */
contract LocationBasedElectricity is ILocationBasedElectricity, ERC165 {
    bytes32 private constant _PARAMETER = "EF";
    bytes32 private constant _FACTOR_UNIT = "gCO2/MWh";
    bytes32 private constant _ACTIVITY_UNIT = "Wh";
    uint256 private constant _WH_PER_MWH = 1_000_000;
    uint8 private constant _SCOPE = 2;

    bytes32 private immutable _methodologyId;
    uint32 private immutable _version;
    bytes32 private immutable _specHash;

    /// @dev Rows by key; storage per row: key, grid, validFrom + validUntil (one slot), factor, citation.
    mapping(bytes32 key => GridFactor) private _factors;
    bytes32[] private _keys;
    mapping(bytes32 grid => bytes32[] keys) private _gridKeys;
    bytes32[] private _grids;

    /**
     * @param methodologyId_ The methodology id, e.g. `bytes32("cn.electricity.location")`.
     * @param version_ The version number.
     * @param specHash_ keccak256 of the human-readable specification.
     * @param table The grid factor rows, sorted by (grid, validFrom), intervals of one grid
     * disjoint, keys unique, every factor and interval non-empty.
     */
    constructor(bytes32 methodologyId_, uint32 version_, bytes32 specHash_, GridFactor[] memory table) {
        if (table.length == 0) revert LocationBasedElectricityEmptyTable();
        _methodologyId = methodologyId_;
        _version = version_;
        _specHash = specHash_;
        for (uint256 i = 0; i < table.length; ++i) {
            GridFactor memory row = table[i];
            bool empty = row.key == bytes32(0) || row.grid == bytes32(0) || row.gramsPerMWh == 0;
            if (empty || row.validFrom >= row.validUntil) revert LocationBasedElectricityInvalidFactor(i);
            if (_factors[row.key].grid != bytes32(0)) revert LocationBasedElectricityDuplicateKey(row.key);
            bool newGrid = i == 0 || row.grid != table[i - 1].grid;
            if (i > 0 && (row.grid < table[i - 1].grid || (!newGrid && row.validFrom < table[i - 1].validUntil))) {
                revert LocationBasedElectricityFactorsNotSorted(i);
            }
            if (newGrid) _grids.push(row.grid);
            _factors[row.key] = row;
            _keys.push(row.key);
            _gridKeys[row.grid].push(row.key);
        }
    }

    /// @inheritdoc IMethodology
    function methodologyId() external view returns (bytes32) {
        return _methodologyId;
    }

    /// @inheritdoc IMethodology
    function version() external view returns (uint32) {
        return _version;
    }

    /// @inheritdoc IMethodology
    function specHash() external view returns (bytes32) {
        return _specHash;
    }

    /// @inheritdoc IMethodology
    function factorKeys() external view returns (bytes32[] memory) {
        return _keys;
    }

    /// @inheritdoc IMethodology
    function factor(bytes32 key) external view returns (Factor memory) {
        GridFactor storage row = _factors[key];
        if (row.grid == bytes32(0)) revert MethodologyUnknownFactor(key);
        return Factor({
            source: row.grid,
            parameter: _PARAMETER,
            validFrom: row.validFrom,
            validUntil: row.validUntil,
            value: row.gramsPerMWh,
            decimals: 0,
            unit: _FACTOR_UNIT,
            citation: row.citation
        });
    }

    /// @inheritdoc IMethodology
    function sources() external view returns (bytes32[] memory) {
        return _grids;
    }

    /// @inheritdoc IMethodology
    function activityUnit(bytes32 source) external view returns (bytes32) {
        if (_gridKeys[source].length == 0) revert MethodologyUnknownSource(source);
        return _ACTIVITY_UNIT;
    }

    /// @inheritdoc IMethodology
    function compute(uint64 periodStart, uint64 periodEnd, Activity[] calldata activities)
        external
        view
        returns (Result memory result)
    {
        if (periodStart >= periodEnd) revert MethodologyInvalidPeriod(periodStart, periodEnd);
        result.emissions = new Emission[](activities.length);
        for (uint256 i = 0; i < activities.length; ++i) {
            uint256 gramsPerMWh = _factorFor(activities[i].source, periodStart, periodEnd);
            uint256 grams = (activities[i].amount * gramsPerMWh + _WH_PER_MWH / 2) / _WH_PER_MWH;
            result.emissions[i] = Emission({scope: _SCOPE, grams: grams});
            result.scope2 += grams;
        }
        result.total = result.scope1 + result.scope2;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) public view override(ERC165, IERC165) returns (bool) {
        return interfaceId == type(IMethodology).interfaceId || super.supportsInterface(interfaceId);
    }

    function _factorFor(bytes32 grid, uint64 periodStart, uint64 periodEnd) private view returns (uint256) {
        bytes32[] storage keys = _gridKeys[grid];
        uint256 count = keys.length;
        if (count == 0) revert MethodologyUnknownSource(grid);
        for (uint256 i = 0; i < count; ++i) {
            GridFactor storage row = _factors[keys[i]];
            if (row.validFrom <= periodStart && periodEnd <= row.validUntil) return row.gramsPerMWh;
        }
        revert MethodologyNoFactorForPeriod(grid, periodStart, periodEnd);
    }
}
