// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IMethodology} from "../interfaces/IMethodology.sol";
import {IFactorMethodology} from "../interfaces/IFactorMethodology.sol";

/**
 * @title FactorMethodology
 * @notice The methodology engine of docs/accounting.md, section 1: one immutable contract per
 * methodology version, its sources given to the constructor, its factor table to the constructor
 * or, when it is too large for one transaction, in chunks before the contract is sealed (see
 * {IFactorMethodology}).
 *
 * {compute} follows section 1.4 of that document, in this order:
 *
 * 1. `periodStart < periodEnd`, else {MethodologyInvalidPeriod}.
 * 2. One pass over the lines, in input order. Per line: the source is known, else
 *    {MethodologyUnknownSource}; a deduction or override line has non-zero evidence, else
 *    {MethodologyMissingEvidence}; an override line replaces a (target, parameter) no earlier line
 *    replaced, else {MethodologyDuplicateOverride}. Deduction amounts are added to the pool of their
 *    target (checked).
 * 3. A second pass, in input order. Per emission line: the target's pool covers `min(pool,
 *    amount)` and shrinks by it; every parameter of the source, in its order, is resolved (the
 *    override if one was given, else the row of that (source, parameter) whose data period contains
 *    the whole computation period, else {MethodologyNoFactorForPeriod}); then the line's grams, with
 *    checked arithmetic in the documented order. Deduction and override lines emit 0 g.
 * 4. The checked sums: `scope1`, `scope2`, `total`.
 *
 * Any overflow reverts with `Panic(0x11)`.
 */
contract FactorMethodology is IFactorMethodology, ERC165 {
    uint8 private constant _EMISSION = 0;
    uint8 private constant _DEDUCTION = 1;
    uint8 private constant _OVERRIDE = 2;
    uint256 private constant _NOT_FOUND = type(uint256).max;

    /**
     * @dev One source. Slot 0 is all {compute} reads per line, once per pass: scope (1) + kind (1) +
     * index (4) + target (4) + slot (4) + parameterCount (4) = 18 bytes. Slot 1: unit; slot 2:
     * numerator; slot 3: denominator; slot 4: the parameter names (length; names at
     * keccak256(slot)). Reading all the slot-0 fields a step needs in one expression, before any
     * branch, lets the optimizer load the slot once.
     *
     * Parameter slots number the (emission source, parameter) pairs 0, 1, 2 ...: an emission
     * source's parameters are `slot`, `slot + 1` ... in its order. The uint32 indices cannot be
     * truncated: 2**32 specs or rows in constructor memory would cost far more gas than a block holds.
     */
    struct Source {
        uint8 scope; // 1 or 2; 0 marks an unknown source
        uint8 kind; // _EMISSION, _DEDUCTION or _OVERRIDE
        uint32 index; // position in _codes (spec order)
        uint32 target; // deduction, override: the index of the target
        uint32 slot; // emission: its first parameter slot; override: the slot it replaces
        uint32 parameterCount; // emission: parameters.length (saves a cold SLOAD per call)
        bytes32 unit;
        uint256 numerator;
        uint256 denominator;
        bytes32[] parameters;
    }

    /**
     * @dev One factor row, stored at its position (table index + 1). Slot 0 is all that parameter
     * resolution reads per row it passes: validFrom (8) + validUntil (8) + next (4) + source (4) +
     * parameter (4) + decimals (1) = 29 bytes. Slot 1: value; slot 2: unit; slot 3: key. The
     * citation is not stored: the constructor emits it in {FactorCited} (about 8 gas per byte
     * instead of 20,000 per 32 bytes; the citations of a national grid table cost more than the
     * rest of its rows).
     */
    struct Row {
        uint64 validFrom;
        uint64 validUntil;
        uint32 next; // position of the previous row of the same parameter slot; 0: none
        uint32 source; // index of its source
        uint32 parameter; // index of its parameter in the source's list
        uint8 decimals;
        uint256 value;
        bytes32 unit;
        bytes32 key;
    }

    /// @dev The state of one {compute} call, in memory. Its arrays are allocated only when needed.
    struct Computation {
        uint64 periodStart;
        uint64 periodEnd;
        uint256[] overrides; // override values, by parameter slot
        bool[] overridden; // by parameter slot
        uint256[] pools; // deduction pools, by target index
    }

    bytes32 private immutable _methodologyId;
    uint32 private immutable _version;
    bytes32 private immutable _specHash;
    uint256 private immutable _sourceCount;
    uint256 private immutable _slotCount;
    /// @dev Number of factor rows stored so far (positions 1 ... _rowCount).
    uint256 private _rowCount;
    /// @dev The account that may still append factor rows; zero once sealed.
    address private _loader;

    mapping(bytes32 code => Source) private _sources;
    bytes32[] private _codes;
    mapping(uint256 position => Row) private _rows;
    mapping(bytes32 key => uint256 position) private _positions;
    /// @dev The last-listed row of each parameter slot; each row links to the one listed before it.
    mapping(uint256 slot => uint256 position) private _latestRows;

    /**
     * @notice Builds one methodology version. Checks, in this order: every source spec on its own
     * and for duplicates, in spec order ({FactorMethodologyInvalidSourceSpec},
     * {FactorMethodologyDuplicateSource}); then the targets of deductions and overrides, in spec
     * order ({FactorMethodologyUnknownTarget}); then every factor row, in table order (see
     * {addFactors}).
     * @param methodologyId_ The methodology id shared by all versions, e.g. `bytes32("cn.electricity.location")`.
     * @param version_ This version's number.
     * @param specHash_ keccak256 of the human-readable specification.
     * @param sources_ The sources (see {IFactorMethodology-SourceSpec}); {sources} keeps their order.
     * @param factors The first rows of the factor table (see {IFactorMethodology-FactorRow}), or
     * all of them; {factorKeys} keeps their order. The deployer is the loader: it may append rows
     * ({addFactors}) until it seals the table ({seal}).
     */
    constructor(
        bytes32 methodologyId_,
        uint32 version_,
        bytes32 specHash_,
        SourceSpec[] memory sources_,
        FactorRow[] memory factors
    ) {
        _methodologyId = methodologyId_;
        _version = version_;
        _specHash = specHash_;
        _sourceCount = sources_.length;
        _slotCount = _storeSources(sources_);
        _linkTargets(sources_);
        _storeRows(factors);
        _loader = msg.sender;
    }

    /// @inheritdoc IFactorMethodology
    function addFactors(FactorRow[] memory factors) external {
        _checkLoader();
        _storeRows(factors);
    }

    /// @inheritdoc IFactorMethodology
    function seal() external {
        _checkLoader();
        _loader = address(0);
        emit TableSealed(_rowCount);
    }

    /// @inheritdoc IFactorMethodology
    function isSealed() external view returns (bool) {
        return _loader == address(0);
    }

    /// @inheritdoc IFactorMethodology
    function loader() external view returns (address) {
        return _loader;
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
    function factorKeys() external view returns (bytes32[] memory keys) {
        keys = new bytes32[](_rowCount);
        for (uint256 i = 0; i < keys.length; ++i) {
            keys[i] = _rows[i + 1].key;
        }
    }

    /// @inheritdoc IMethodology
    function factor(bytes32 key) external view returns (Factor memory) {
        uint256 position = _positions[key];
        if (position == 0) revert MethodologyUnknownFactor(key);
        Row storage row = _rows[position];
        bytes32 code = _codes[row.source];
        return Factor({
            source: code,
            parameter: _sources[code].parameters[row.parameter],
            validFrom: row.validFrom,
            validUntil: row.validUntil,
            value: row.value,
            decimals: row.decimals,
            unit: row.unit
        });
    }

    /// @inheritdoc IMethodology
    function sources() external view returns (bytes32[] memory) {
        return _codes;
    }

    /// @inheritdoc IMethodology
    function activityUnit(bytes32 source) external view returns (bytes32) {
        Source storage stored = _sources[source];
        if (stored.scope == 0) revert MethodologyUnknownSource(source);
        return stored.unit;
    }

    /// @inheritdoc IFactorMethodology
    function sourceSpec(bytes32 source) external view returns (SourceSpec memory spec) {
        Source storage stored = _sources[source];
        if (stored.scope == 0) revert MethodologyUnknownSource(source);
        spec.source = source;
        spec.unit = stored.unit;
        spec.scope = stored.scope;
        spec.kind = stored.kind;
        if (stored.kind != _EMISSION) spec.target = _codes[stored.target];
        spec.parameters = stored.parameters;
        spec.numerator = stored.numerator;
        spec.denominator = stored.denominator;
    }

    /**
     * @inheritdoc IMethodology
     * @dev The steps and their order are those of the contract's description (docs/accounting.md,
     * section 1.4). The parameters of a source are resolved once per call, at its first emission
     * line, and kept in memory for its later lines (same period, same overrides: same values).
     */
    function compute(uint64 periodStart, uint64 periodEnd, Activity[] calldata activities)
        external
        view
        returns (Result memory result)
    {
        // 1. The period.
        if (periodStart >= periodEnd) revert MethodologyInvalidPeriod(periodStart, periodEnd);
        Computation memory computation;
        computation.periodStart = periodStart;
        computation.periodEnd = periodEnd;
        // 2. Known sources, evidence, overrides and deduction pools, in input order.
        _collect(activities, computation);
        // 3. Every line, in input order.
        Emission[] memory emissions = new Emission[](activities.length);
        _computeLines(activities, computation, emissions);
        // 4. The checked sums.
        for (uint256 i = 0; i < emissions.length; ++i) {
            Emission memory emission = emissions[i];
            if (emission.scope == 1) {
                result.scope1 += emission.grams;
            } else {
                result.scope2 += emission.grams;
            }
        }
        result.total = result.scope1 + result.scope2;
        result.emissions = emissions;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) public view override(ERC165, IERC165) returns (bool) {
        return interfaceId == type(IMethodology).interfaceId || interfaceId == type(IFactorMethodology).interfaceId
            || super.supportsInterface(interfaceId);
    }

    // -- compute ----------------------------------------------------------------------------------

    /// @dev Step 2: checks every line's source, and the evidence and uniqueness of deductions and
    /// overrides; collects the override values and the deduction pools.
    function _collect(Activity[] calldata activities, Computation memory computation) private view {
        for (uint256 i = 0; i < activities.length; ++i) {
            Activity calldata activity = activities[i];
            Source storage source = _sources[activity.source];
            (uint8 scope, uint8 kind, uint256 slot, uint256 target) =
                (source.scope, source.kind, source.slot, source.target);
            if (scope == 0) revert MethodologyUnknownSource(activity.source);
            if (kind == _EMISSION) continue;
            if (activity.evidence == 0) revert MethodologyMissingEvidence(i);
            if (kind == _OVERRIDE) {
                if (computation.overridden.length == 0) {
                    computation.overridden = new bool[](_slotCount);
                    computation.overrides = new uint256[](_slotCount);
                }
                if (computation.overridden[slot]) revert MethodologyDuplicateOverride(activity.source);
                computation.overridden[slot] = true;
                computation.overrides[slot] = activity.amount;
            } else {
                if (computation.pools.length == 0) computation.pools = new uint256[](_sourceCount);
                computation.pools[target] += activity.amount;
            }
        }
    }

    /// @dev Step 3: the grams of every line into `emissions` (allocated, one per line).
    function _computeLines(Activity[] calldata activities, Computation memory computation, Emission[] memory emissions)
        private
        view
    {
        // By source index: [numerator, denominator, value of each parameter], once resolved.
        uint256[][] memory constants = new uint256[][](_sourceCount);
        for (uint256 i = 0; i < activities.length; ++i) {
            Activity calldata activity = activities[i];
            Source storage source = _sources[activity.source];
            (uint8 scope, uint8 kind, uint256 index) = (source.scope, source.kind, source.index);
            Emission memory emission = emissions[i];
            emission.scope = scope;
            if (kind != _EMISSION) continue; // deductions and overrides emit 0 g
            uint256 acc = activity.amount;
            uint256[] memory pools = computation.pools;
            if (pools.length != 0) {
                uint256 pool = pools[index];
                uint256 covered = pool < acc ? pool : acc;
                pools[index] = pool - covered;
                acc -= covered;
            }
            uint256[] memory line = constants[index];
            if (line.length == 0) {
                line = _resolve(source, activity.source, computation);
                constants[index] = line;
            }
            for (uint256 p = 2; p < line.length; ++p) {
                acc *= line[p];
            }
            acc *= line[0];
            uint256 denominator = line[1];
            acc += denominator / 2;
            emission.grams = acc / denominator;
        }
    }

    /// @dev `[numerator, denominator, value of each parameter]` of emission source `source`
    /// (code `code`) for the period: per parameter, the override if one was given, else the row
    /// of its parameter slot whose period contains `[periodStart, periodEnd)`.
    function _resolve(
        Source storage source,
        bytes32 code,
        Computation memory computation
    ) private view returns (uint256[] memory line) {
        (uint256 first, uint256 count) = (source.slot, source.parameterCount);
        line = new uint256[](count + 2);
        line[0] = source.numerator;
        line[1] = source.denominator;
        uint64 periodStart = computation.periodStart;
        uint64 periodEnd = computation.periodEnd;
        bool[] memory overridden = computation.overridden;
        for (uint256 p = 0; p < count; ++p) {
            uint256 slot = first + p;
            if (overridden.length != 0 && overridden[slot]) {
                line[p + 2] = computation.overrides[slot];
                continue;
            }
            uint256 position = _latestRows[slot];
            while (position != 0) {
                Row storage row = _rows[position];
                if (row.validFrom <= periodStart && periodEnd <= row.validUntil) break;
                position = row.next;
            }
            if (position == 0) revert MethodologyNoFactorForPeriod(code, periodStart, periodEnd);
            line[p + 2] = _rows[position].value;
        }
    }

    // -- construction -----------------------------------------------------------------------------

    /// @dev Only the loader, and only while the table is open.
    function _checkLoader() private view {
        address current = _loader;
        if (current == address(0)) revert FactorMethodologyAlreadySealed();
        if (msg.sender != current) revert FactorMethodologyNotLoader(msg.sender, current);
    }

    /// @dev Stores every source in spec order; returns the number of parameter slots.
    function _storeSources(SourceSpec[] memory specs) private returns (uint256 slots) {
        for (uint256 i = 0; i < specs.length; ++i) {
            SourceSpec memory spec = specs[i];
            if (!_wellFormed(spec)) revert FactorMethodologyInvalidSourceSpec(i);
            Source storage stored = _sources[spec.source];
            if (stored.scope != 0) revert FactorMethodologyDuplicateSource(spec.source);
            stored.scope = spec.scope;
            stored.kind = spec.kind;
            stored.index = uint32(i);
            stored.unit = spec.unit;
            stored.parameters = spec.parameters;
            if (spec.kind == _EMISSION) {
                stored.slot = uint32(slots);
                stored.parameterCount = uint32(spec.parameters.length);
                stored.numerator = spec.numerator;
                stored.denominator = spec.denominator;
                slots += spec.parameters.length;
            }
            _codes.push(spec.source);
        }
    }

    /// @dev Whether `spec` is well formed on its own (see {FactorMethodologyInvalidSourceSpec}).
    function _wellFormed(SourceSpec memory spec) private pure returns (bool) {
        if (spec.source == 0 || spec.unit == 0 || spec.scope == 0 || spec.scope > 2) return false;
        bytes32[] memory parameters = spec.parameters;
        if (spec.kind == _EMISSION) {
            if (spec.target != 0 || spec.numerator == 0 || spec.denominator == 0) return false;
            for (uint256 p = 0; p < parameters.length; ++p) {
                if (parameters[p] == 0 || _indexOf(parameters, parameters[p]) != p) return false;
            }
            return true;
        }
        if (spec.kind > _OVERRIDE || spec.target == 0 || spec.numerator != 0 || spec.denominator != 0) return false;
        if (spec.kind == _DEDUCTION) return parameters.length == 0;
        return parameters.length == 1 && parameters[0] != 0;
    }

    /// @dev Links every deduction and override to its target (and an override to its parameter slot).
    function _linkTargets(SourceSpec[] memory specs) private {
        for (uint256 i = 0; i < specs.length; ++i) {
            SourceSpec memory spec = specs[i];
            if (spec.kind == _EMISSION) continue;
            Source storage target = _sources[spec.target];
            if (target.scope == 0 || target.kind != _EMISSION) {
                revert FactorMethodologyUnknownTarget(i, spec.target);
            }
            Source storage stored = _sources[spec.source];
            stored.target = target.index;
            if (spec.kind == _OVERRIDE) {
                uint256 p = _indexOf(specs[target.index].parameters, spec.parameters[0]);
                if (p == _NOT_FOUND) revert FactorMethodologyUnknownTarget(i, spec.target);
                stored.slot = uint32(target.slot + p);
            }
        }
    }

    /// @dev Appends `factors` to the table in order, each linked to the earlier rows of its slot,
    /// and emits its citation. Row indices in errors count from the start of the whole table.
    function _storeRows(FactorRow[] memory factors) private {
        uint256 stored = _rowCount;
        for (uint256 j = 0; j < factors.length; ++j) {
            FactorRow memory row = factors[j];
            uint256 i = stored + j; // its index in the whole table
            if (row.key == 0) revert FactorMethodologyZeroKey(i);
            if (_positions[row.key] != 0) revert FactorMethodologyDuplicateKey(row.key);
            Source storage source = _sources[row.source];
            if (source.scope == 0 || source.kind != _EMISSION) revert FactorMethodologyUnknownParameter(i);
            uint256 p = _indexOfStored(source.parameters, row.parameter);
            if (p == _NOT_FOUND) revert FactorMethodologyUnknownParameter(i);
            if (row.validFrom >= row.validUntil) revert FactorMethodologyEmptyPeriod(i);
            uint256 slot = source.slot + p;
            uint256 previous = _latestRows[slot];
            for (uint256 other = previous; other != 0; other = _rows[other].next) {
                Row storage earlier = _rows[other];
                if (row.validFrom < earlier.validUntil && earlier.validFrom < row.validUntil) {
                    revert FactorMethodologyOverlappingPeriods(i);
                }
            }
            uint256 position = i + 1;
            _rows[position] = Row({
                validFrom: row.validFrom,
                validUntil: row.validUntil,
                next: uint32(previous),
                source: source.index,
                parameter: uint32(p),
                decimals: row.decimals,
                value: row.value,
                unit: row.unit,
                key: row.key
            });
            _latestRows[slot] = position;
            _positions[row.key] = position;
            emit FactorCited(row.key, row.citation);
        }
        _rowCount = stored + factors.length;
    }

    /// @dev The index of `name` in the stored list `names`, or `_NOT_FOUND`.
    function _indexOfStored(bytes32[] storage names, bytes32 name) private view returns (uint256) {
        for (uint256 i = 0; i < names.length; ++i) {
            if (names[i] == name) return i;
        }
        return _NOT_FOUND;
    }

    /// @dev The index of `name` in `names`, or `_NOT_FOUND`.
    function _indexOf(bytes32[] memory names, bytes32 name) private pure returns (uint256) {
        for (uint256 i = 0; i < names.length; ++i) {
            if (names[i] == name) return i;
        }
        return _NOT_FOUND;
    }
}
