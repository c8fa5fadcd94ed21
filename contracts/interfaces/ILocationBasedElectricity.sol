// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMethodology} from "./IMethodology.sol";

/**
 * @title ILocationBasedElectricity
 * @notice Purchased electricity, location-based (scope 2): grams CO2 = Wh x grid factor, with the
 * grid factor in grams CO2 per MWh taken from a table by data period. The table is given to the
 * constructor and immutable afterwards.
 */
interface ILocationBasedElectricity is IMethodology {
    /**
     * @notice One row of the grid factor table, as given to the constructor.
     * @param key Unique key of the row (e.g. `bytes32("cn.grid.national/2022")`).
     * @param grid The grid region: the activity source this row applies to.
     * @param validFrom Start of the data period (Unix seconds, inclusive), e.g. the start of the
     * data year in the publishing authority's time zone.
     * @param validUntil End of the data period (Unix seconds, exclusive).
     * @param gramsPerMWh The emission factor in grams CO2 per MWh (= mg CO2 per kWh).
     * @param citation Source of the value (publication, table, year).
     */
    struct GridFactor {
        bytes32 key;
        bytes32 grid;
        uint64 validFrom;
        uint64 validUntil;
        uint256 gramsPerMWh;
        string citation;
    }

    /// @notice The constructor got no factor rows.
    error LocationBasedElectricityEmptyTable();
    /// @notice Row `index` has a zero key, grid or factor, or an empty validity interval.
    error LocationBasedElectricityInvalidFactor(uint256 index);
    /// @notice Two rows share the key `key`.
    error LocationBasedElectricityDuplicateKey(bytes32 key);
    /// @notice Row `index` is out of order: rows must be sorted by (grid, validFrom) and the
    /// intervals of one grid must not overlap.
    error LocationBasedElectricityFactorsNotSorted(uint256 index);
}
