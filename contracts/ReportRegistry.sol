// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Roles} from "./libraries/Roles.sol";
import {IMethodologyRegistry} from "./interfaces/IMethodologyRegistry.sol";
import {IReportRegistry} from "./interfaces/IReportRegistry.sol";

/**
 * @title ReportRegistry
 * @notice Emission reports and their attestations (see {IReportRegistry}).
 */
contract ReportRegistry is IReportRegistry, EIP712 {
    /// @inheritdoc IReportRegistry
    bytes32 public constant REPORT_TYPEHASH = keccak256(
        "Report(address enterprise,bytes32 site,uint64 periodStart,uint64 periodEnd,bytes32 methodologyId,"
        "address methodology,uint256 scope1,uint256 scope2,uint256 total,bytes32 batches,bytes32 document,"
        "bytes32 supersedes)"
    );

    IAccessControl private immutable _consortium;
    IMethodologyRegistry private immutable _methodologyRegistry;

    /// @dev A record exists iff its `report.enterprise` is not zero (the submitter is never zero).
    mapping(bytes32 reportHash => ReportRecord) private _records;
    mapping(bytes32 reportHash => mapping(address regulator => Attestation)) private _attestations;
    mapping(bytes32 reportHash => address[] regulators) private _attesters;

    /**
     * @param consortium_ The Consortium whose roles are checked.
     * @param methodologyRegistry_ The registry that resolves the methodology of each report.
     */
    constructor(IAccessControl consortium_, IMethodologyRegistry methodologyRegistry_) EIP712("TrustMRV", "1") {
        _consortium = consortium_;
        _methodologyRegistry = methodologyRegistry_;
    }

    /// @inheritdoc IReportRegistry
    function submitReport(Report calldata report) external returns (bytes32 reportHash) {
        _requireRole(Roles.ENTERPRISE_ROLE);
        if (report.enterprise != msg.sender) revert ReportRegistryEnterpriseMismatch(msg.sender, report.enterprise);
        if (report.periodStart >= report.periodEnd) {
            revert ReportRegistryInvalidPeriod(report.periodStart, report.periodEnd);
        }
        if (report.periodEnd > block.timestamp) revert ReportRegistryPeriodNotEnded(report.periodEnd, block.timestamp);
        (address expected,,) = _methodologyRegistry.resolve(report.methodologyId, report.periodStart);
        if (expected != report.methodology) {
            revert ReportRegistryMethodologyMismatch(
                report.methodologyId, report.periodStart, expected, report.methodology
            );
        }

        reportHash = _hashReport(report);
        ReportRecord storage record = _records[reportHash];
        if (record.report.enterprise != address(0)) revert ReportRegistryReportExists(reportHash);
        bytes32 supersedes = report.supersedes;
        if (supersedes != bytes32(0)) {
            ReportRecord storage previous = _records[supersedes];
            address owner = previous.report.enterprise;
            if (owner == address(0)) revert ReportRegistryUnknownReport(supersedes);
            if (owner != msg.sender) revert ReportRegistryForeignReport(supersedes, owner);
            if (previous.supersededBy != bytes32(0)) {
                revert ReportRegistryAlreadySuperseded(supersedes, previous.supersededBy);
            }
            previous.supersededBy = reportHash;
        }
        record.report = report;
        record.submittedBlock = uint64(block.number);
        record.submittedAt = uint64(block.timestamp);
        emit ReportSubmitted(reportHash, msg.sender, supersedes, report);
        if (supersedes != bytes32(0)) emit ReportSuperseded(supersedes, reportHash);
    }

    /// @inheritdoc IReportRegistry
    function attestReport(bytes32 reportHash, Verdict verdict, bytes32 statementHash) external {
        _requireRole(Roles.REGULATOR_ROLE);
        address enterprise = _records[reportHash].report.enterprise;
        if (enterprise == address(0)) revert ReportRegistryUnknownReport(reportHash);
        if (enterprise == msg.sender) revert ReportRegistrySelfAttestation(reportHash, msg.sender);
        if (verdict == Verdict.None) revert ReportRegistryInvalidVerdict();
        if (statementHash == bytes32(0)) revert ReportRegistryZeroStatement();
        Attestation storage given = _attestations[reportHash][msg.sender];
        if (given.verdict != Verdict.None) revert ReportRegistryAlreadyAttested(reportHash, msg.sender);
        given.verdict = verdict;
        given.attestedAt = uint64(block.timestamp);
        given.statementHash = statementHash;
        _attesters[reportHash].push(msg.sender);
        emit ReportAttested(reportHash, msg.sender, verdict, statementHash);
    }

    /// @inheritdoc IReportRegistry
    function hashReport(Report calldata report) external pure returns (bytes32) {
        return _hashReport(report);
    }

    /// @inheritdoc IReportRegistry
    function reportDigest(bytes32 reportHash) external view returns (bytes32) {
        return _hashTypedDataV4(reportHash);
    }

    /// @inheritdoc IReportRegistry
    function reportRecord(bytes32 reportHash) external view returns (ReportRecord memory) {
        ReportRecord storage record = _records[reportHash];
        if (record.report.enterprise == address(0)) revert ReportRegistryUnknownReport(reportHash);
        return record;
    }

    /// @inheritdoc IReportRegistry
    function reportExists(bytes32 reportHash) external view returns (bool) {
        return _records[reportHash].report.enterprise != address(0);
    }

    /// @inheritdoc IReportRegistry
    function attestation(bytes32 reportHash, address regulator) external view returns (Attestation memory) {
        return _attestations[reportHash][regulator];
    }

    /// @inheritdoc IReportRegistry
    function attestersOf(bytes32 reportHash) external view returns (address[] memory) {
        return _attesters[reportHash];
    }

    /// @inheritdoc IReportRegistry
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    /// @inheritdoc IReportRegistry
    function methodologyRegistry() external view returns (address) {
        return address(_methodologyRegistry);
    }

    /// @dev Every field of `Report` is static, so `abi.encode(REPORT_TYPEHASH, report)` is the
    /// EIP-712 `encodeData`: the type hash followed by one word per field, in type-string order.
    function _hashReport(Report calldata report) private pure returns (bytes32) {
        return keccak256(abi.encode(REPORT_TYPEHASH, report));
    }

    function _requireRole(bytes32 role) private view {
        if (!_consortium.hasRole(role, msg.sender)) revert ReportRegistryMissingRole(msg.sender, role);
    }
}
