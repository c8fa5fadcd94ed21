// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";

/**
 * @title IReportRegistry
 * @notice Emission reports of enterprises, identified by their EIP-712 struct hash, and the
 * attestations regulators give them. A report is never overwritten; a correction is a new report
 * that names the one it supersedes. The EIP-712 domain is name `TrustMRV`, version `1`, this
 * chain's id and this contract's address ({IERC5267-eip712Domain}); {reportDigest} is what a
 * party signs off chain to endorse a report.
 */
interface IReportRegistry is IERC5267 {
    /// @notice A regulator's verdict on a report. `None` marks "not attested" and is never given.
    enum Verdict {
        None,
        Accepted,
        Rejected,
        Qualified
    }

    /**
     * @notice An emission report, the EIP-712 struct `Report`.
     * @param enterprise The reporting enterprise (must be the submitter).
     * @param site The site reported on.
     * @param periodStart Start of the period, Unix seconds, inclusive.
     * @param periodEnd End of the period, Unix seconds, exclusive.
     * @param methodologyId The methodology applied.
     * @param methodology The methodology version contract, which must be the one the
     * MethodologyRegistry resolves for `periodStart`.
     * @param scope1 Scope-1 emissions, grams CO2e.
     * @param scope2 Scope-2 emissions, grams CO2e.
     * @param total Total emissions, grams CO2e, as the methodology computes it.
     * @param batches Commitment to the anchored batches the figures rest on (e.g. the Merkle root
     * over their (device, batchSeq, root) triples; its construction is the report format's).
     * @param document Hash of the off-chain report document (activities, evidence), or zero.
     * @param supersedes The report this one corrects, or zero.
     */
    struct Report {
        address enterprise;
        bytes32 site;
        uint64 periodStart;
        uint64 periodEnd;
        bytes32 methodologyId;
        address methodology;
        uint256 scope1;
        uint256 scope2;
        uint256 total;
        bytes32 batches;
        bytes32 document;
        bytes32 supersedes;
    }

    /**
     * @notice What the registry keeps for a report.
     * @param report The report as submitted.
     * @param submittedBlock Block number of the submission.
     * @param submittedAt Block time of the submission.
     * @param supersededBy The report that corrects this one, or zero.
     */
    struct ReportRecord {
        Report report;
        uint64 submittedBlock;
        uint64 submittedAt;
        bytes32 supersededBy;
    }

    /**
     * @notice One regulator's attestation of one report.
     * @dev `verdict` and `attestedAt` share a slot.
     */
    struct Attestation {
        Verdict verdict;
        uint64 attestedAt;
        bytes32 statementHash;
    }

    /// @notice `account` lacks `role` in the Consortium.
    error ReportRegistryMissingRole(address account, bytes32 role);
    /// @notice The report names `enterprise`, but `caller` submitted it.
    error ReportRegistryEnterpriseMismatch(address caller, address enterprise);
    /// @notice The period is empty or reversed.
    error ReportRegistryInvalidPeriod(uint64 periodStart, uint64 periodEnd);
    /// @notice The period ends at `periodEnd`, after the block time `now_`.
    error ReportRegistryPeriodNotEnded(uint64 periodEnd, uint256 now_);
    /// @notice For `id` at `periodStart` the registry resolves `expected`, the report names `actual`.
    error ReportRegistryMethodologyMismatch(bytes32 id, uint64 periodStart, address expected, address actual);
    /// @notice A report with hash `reportHash` exists already.
    error ReportRegistryReportExists(bytes32 reportHash);
    /// @notice No report has hash `reportHash`.
    error ReportRegistryUnknownReport(bytes32 reportHash);
    /// @notice Report `reportHash` belongs to `enterprise`, not to the caller.
    error ReportRegistryForeignReport(bytes32 reportHash, address enterprise);
    /// @notice Report `reportHash` was already superseded by `supersededBy`.
    error ReportRegistryAlreadySuperseded(bytes32 reportHash, bytes32 supersededBy);
    /// @notice `Verdict.None` is not a verdict.
    error ReportRegistryInvalidVerdict();
    /// @notice The verification statement hash is zero.
    error ReportRegistryZeroStatement();
    /// @notice `regulator` already attested report `reportHash`.
    error ReportRegistryAlreadyAttested(bytes32 reportHash, address regulator);
    /// @notice `regulator` is the enterprise of report `reportHash`.
    error ReportRegistrySelfAttestation(bytes32 reportHash, address regulator);

    /// @notice `enterprise` submitted `report`, whose struct hash is `reportHash`.
    event ReportSubmitted(
        bytes32 indexed reportHash, address indexed enterprise, bytes32 indexed supersedes, Report report
    );
    /// @notice Report `reportHash` was superseded by report `supersededBy`.
    event ReportSuperseded(bytes32 indexed reportHash, bytes32 indexed supersededBy);
    /// @notice `regulator` attested report `reportHash` with `verdict`; `statementHash` is the hash
    /// of its verification statement.
    event ReportAttested(
        bytes32 indexed reportHash, address indexed regulator, Verdict verdict, bytes32 statementHash
    );

    /**
     * @notice Submits `report`; it is stored under its EIP-712 struct hash, which is returned.
     *
     * Requirements:
     *
     * - the caller holds `ENTERPRISE_ROLE` and is `report.enterprise`;
     * - `report.periodStart < report.periodEnd <= block.timestamp`;
     * - `report.methodology` is what the MethodologyRegistry resolves for
     *   (`report.methodologyId`, `report.periodStart`);
     * - no report with the same hash exists;
     * - if `report.supersedes` is set: that report exists, belongs to the caller and was not
     *   superseded yet.
     *
     * Emits a {ReportSubmitted} event, and a {ReportSuperseded} event for a correction.
     */
    function submitReport(Report calldata report) external returns (bytes32 reportHash);

    /**
     * @notice Records the caller's verdict on report `reportHash`.
     *
     * Requirements:
     *
     * - the caller holds `REGULATOR_ROLE` and is not the report's enterprise;
     * - the report exists and the caller has not attested it before;
     * - `verdict` is not `None`; `statementHash` is not zero.
     *
     * Emits a {ReportAttested} event.
     */
    function attestReport(bytes32 reportHash, Verdict verdict, bytes32 statementHash) external;

    /// @notice keccak256 of the `Report` EIP-712 type string.
    function REPORT_TYPEHASH() external view returns (bytes32);

    /// @notice The EIP-712 struct hash of `report` (its id in this registry).
    function hashReport(Report calldata report) external pure returns (bytes32);

    /// @notice The EIP-712 digest of the report with struct hash `reportHash` under this domain.
    function reportDigest(bytes32 reportHash) external view returns (bytes32);

    /**
     * @notice The stored record of report `reportHash`.
     *
     * Requirements:
     *
     * - the report exists.
     */
    function reportRecord(bytes32 reportHash) external view returns (ReportRecord memory);

    /// @notice Whether a report with hash `reportHash` exists.
    function reportExists(bytes32 reportHash) external view returns (bool);

    /// @notice The attestation of report `reportHash` by `regulator` (`verdict` None if none).
    function attestation(bytes32 reportHash, address regulator) external view returns (Attestation memory);

    /// @notice The regulators that attested report `reportHash`, in order.
    function attestersOf(bytes32 reportHash) external view returns (address[] memory);

    /// @notice The Consortium whose roles this registry checks.
    function consortium() external view returns (address);

    /// @notice The MethodologyRegistry reports are checked against.
    function methodologyRegistry() external view returns (address);
}
