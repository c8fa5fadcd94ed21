// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";
import {IDeviceRegistry} from "./IDeviceRegistry.sol";

/**
 * @title IAnchorRegistry
 * @notice Merkle roots of reading batches, anchored by each device's own account (or by any
 * relayer carrying the device's signature over the batch header) with a gap-free per-device batch
 * sequence, and the on-chain twin of the protocol's hashing: the EIP-712 leaf,
 * digest and signer of a reading, and Merkle (multi)proof checks against anchored roots.
 *
 * This contract is the EIP-712 `verifyingContract` of readings and batch headers: domain name
 * `TrustMRV`, version `1`, this chain's id and this address, reported by {IERC5267-eip712Domain}.
 *
 * The per-batch header (`leafCount`, `fromTimestamp`, `toTimestamp`) is committed in the
 * {BatchAnchored} event of the anchoring transaction (its receipt), not in storage; storage keeps
 * the root, which is what inclusion proofs are checked against.
 */
interface IAnchorRegistry is IERC5267 {
    /**
     * @notice The anchoring state of one device.
     * @dev Fits one storage slot (1 + 8 + 8 + 4 + 8 = 29 bytes), so {anchor} reads and writes one
     * slot besides the new root.
     * @param status Mirror of the device's status in the DeviceRegistry.
     * @param nextBatchSeq The batch sequence number the device must anchor next.
     * @param lastAnchorBlock Block number of the device's latest anchor (zero before the first).
     * @param enterprise The number of the device's enterprise (see {enterpriseStopped}).
     * @param standingEpoch The {standingEpoch} at which the enterprise was last seen in good
     * standing: while it equals the current one, no enterprise has been stopped since, and
     * {anchor} need not read the enterprise's standing.
     */
    struct DeviceState {
        IDeviceRegistry.DeviceStatus status;
        uint64 nextBatchSeq;
        uint64 lastAnchorBlock;
        uint32 enterprise;
        uint64 standingEpoch;
    }

    /// @notice `account` lacks `role` in the Consortium.
    error AnchorRegistryMissingRole(address account, bytes32 role);
    /// @notice Only the DeviceRegistry may push device status changes; `caller` is not it.
    error AnchorRegistryCallerNotDeviceRegistry(address caller);
    /// @notice `device` (the caller of {anchor}) is not an active registered device; it is `status`.
    error AnchorRegistryDeviceNotActive(address device, IDeviceRegistry.DeviceStatus status);
    /// @notice The enterprise (number `enterprise`) of `device` lost its role and is not reactivated.
    error AnchorRegistryEnterpriseStopped(address device, uint32 enterprise);
    /// @notice The batch header signature recovers `signer`, not `device`.
    error AnchorRegistryBatchSignerMismatch(address device, address signer);
    /// @notice `device` must anchor batch `expected` next, not `actual`.
    error AnchorRegistryBatchSeqMismatch(address device, uint64 expected, uint64 actual);
    /// @notice The root is zero.
    error AnchorRegistryZeroRoot();
    /// @notice A batch holds at least one reading.
    error AnchorRegistryEmptyBatch();
    /// @notice `fromTimestamp` is after `toTimestamp`.
    error AnchorRegistryInvalidTimeRange(uint64 fromTimestamp, uint64 toTimestamp);
    /// @notice `toTimestamp` is later than `latestAllowed` (block time plus the maximum clock skew).
    error AnchorRegistryTimestampInFuture(uint64 toTimestamp, uint256 latestAllowed);

    /// @notice `device` anchored batch `batchSeq`: Merkle `root` over `leafCount` reading leaves
    /// measured between `fromTimestamp` and `toTimestamp` (Unix seconds, inclusive).
    event BatchAnchored(
        address indexed device,
        uint64 indexed batchSeq,
        bytes32 root,
        uint32 leafCount,
        uint64 fromTimestamp,
        uint64 toTimestamp
    );
    /// @notice `relayer` submitted batch `batchSeq` of `device` with the device's signature; the
    /// {BatchAnchored} event of the same transaction carries the header.
    event BatchRelayed(address indexed device, uint64 indexed batchSeq, address indexed relayer);
    /// @notice The maximum clock skew changed from `previousSkew` to `newSkew` seconds.
    event MaxClockSkewChanged(uint64 previousSkew, uint64 newSkew);
    /// @notice The DeviceRegistry set the anchoring status of `device` to `status`.
    event DeviceStatusUpdated(address indexed device, IDeviceRegistry.DeviceStatus status);
    /// @notice The DeviceRegistry added `device` of enterprise number `enterprise`.
    event DeviceAdded(address indexed device, uint32 indexed enterprise);
    /// @notice The DeviceRegistry stopped (`stopped`) or reactivated enterprise number `enterprise`;
    /// the standing epoch is now `standingEpoch`.
    event EnterpriseStandingUpdated(uint32 indexed enterprise, bool stopped, uint64 standingEpoch);

    /**
     * @notice Anchors the caller's batch `batchSeq`. The caller is the device itself.
     *
     * Requirements:
     *
     * - the caller is a device in status `Active`, whose enterprise is not stopped;
     * - `batchSeq` equals the caller's next batch sequence number (0, 1, 2, ...): a replayed or
     *   skipped batch reverts;
     * - `root` is not zero and `leafCount` is at least 1;
     * - `fromTimestamp <= toTimestamp <= block.timestamp + maxClockSkew()`.
     *
     * Emits a {BatchAnchored} event.
     */
    function anchor(uint64 batchSeq, bytes32 root, uint32 leafCount, uint64 fromTimestamp, uint64 toTimestamp)
        external;

    /**
     * @notice Anchors batch `batchSeq` of `device` for it: any account (a relayer) may submit the
     * header with the device's EIP-712 signature over `Batch(address device,uint64 batchSeq,bytes32
     * root,uint32 leafCount,uint64 fromTimestamp,uint64 toTimestamp)` under this contract's domain.
     *
     * Requirements:
     *
     * - `signature` is 65 bytes `r || s || v` with a low `s` (else OpenZeppelin's
     *   `ECDSAInvalidSignature*` errors) and recovers `device`;
     * - everything {anchor} requires of its caller holds for `device`: active, enterprise not
     *   stopped, `batchSeq` its next (so a signature is used at most once), the header checks.
     *
     * Emits a {BatchAnchored} and a {BatchRelayed} event.
     */
    function anchorBySig(
        address device,
        uint64 batchSeq,
        bytes32 root,
        uint32 leafCount,
        uint64 fromTimestamp,
        uint64 toTimestamp,
        bytes calldata signature
    ) external;

    /**
     * @notice Sets how far (seconds) a batch's `toTimestamp` may lie ahead of the block time.
     *
     * Requirements:
     *
     * - the caller holds the Consortium's `DEFAULT_ADMIN_ROLE`.
     *
     * Emits a {MaxClockSkewChanged} event.
     */
    function setMaxClockSkew(uint64 newSkew) external;

    /**
     * @notice Sets the anchoring status of `device` (keeps its batch sequence).
     *
     * Requirements:
     *
     * - the caller is the DeviceRegistry.
     *
     * Emits a {DeviceStatusUpdated} event.
     */
    function setDeviceStatus(address device, IDeviceRegistry.DeviceStatus status) external;

    /**
     * @notice Adds the newly registered `device` of enterprise number `enterprise` as `Active`,
     * seen in good standing now (the DeviceRegistry registers only for enterprises in standing).
     *
     * Requirements:
     *
     * - the caller is the DeviceRegistry.
     *
     * Emits a {DeviceStatusUpdated} and a {DeviceAdded} event.
     */
    function addDevice(address device, uint32 enterprise) external;

    /**
     * @notice Stops (`stopped`) or reactivates enterprise number `enterprise`. Stopping moves the
     * standing epoch on, so every device checks its enterprise's standing at its next anchor.
     *
     * Requirements:
     *
     * - the caller is the DeviceRegistry.
     *
     * Emits an {EnterpriseStandingUpdated} event.
     */
    function setEnterpriseStanding(uint32 enterprise, bool stopped) external;

    /// @notice The root of batch `batchSeq` of `device`, zero when not anchored.
    function batchRoot(address device, uint64 batchSeq) external view returns (bytes32);

    /// @notice The batch sequence number `device` must anchor next (= its number of batches).
    function nextBatchSeq(address device) external view returns (uint64);

    /// @notice The anchoring state of `device`.
    function deviceState(address device) external view returns (DeviceState memory);

    /// @notice The maximum clock skew in seconds.
    function maxClockSkew() external view returns (uint64);

    /// @notice Whether enterprise number `enterprise` is stopped (its devices may not anchor).
    function enterpriseStopped(uint32 enterprise) external view returns (bool);

    /// @notice How many times an enterprise has been stopped (starts at 1).
    function standingEpoch() external view returns (uint64);

    /// @notice keccak256 of the `Batch` EIP-712 type string.
    function BATCH_TYPEHASH() external view returns (bytes32);

    /// @notice The EIP-712 digest a device signs for a batch header under this contract's domain.
    function batchDigest(
        address device,
        uint64 batchSeq,
        bytes32 root,
        uint32 leafCount,
        uint64 fromTimestamp,
        uint64 toTimestamp
    ) external view returns (bytes32);

    /**
     * @notice Whether `leaf` is in batch `batchSeq` of `device`, by the sibling path `proof`
     * (OpenZeppelin `MerkleProof`, sorted-pair keccak256). False when the batch is not anchored.
     * @dev Compute `leaf` from the reading ({readingLeaf}), never accept it from a prover: an
     * inner node of the tree with its shorter path would pass as a "leaf".
     */
    function verifyReading(address device, uint64 batchSeq, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (bool);

    /**
     * @notice Whether all `leaves` are in batch `batchSeq` of `device`, by an OpenZeppelin
     * multiproof (`leaves` in the order the proof consumes them, `proof`, `proofFlags`). False
     * when the batch is not anchored, when `leaves` is empty, or when the proof is malformed
     * (it would consume more nodes than it has); never reverts on proof contents.
     */
    function verifyReadings(
        address device,
        uint64 batchSeq,
        bytes32[] calldata leaves,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external view returns (bool);

    /// @notice keccak256 of the `Reading` EIP-712 type string.
    function READING_TYPEHASH() external view returns (bytes32);

    /// @notice The EIP-712 domain separator of readings on this chain.
    function domainSeparator() external view returns (bytes32);

    /// @notice The EIP-712 struct hash of a reading.
    function readingStructHash(
        address device,
        bytes32 meter,
        uint64 seq,
        uint64 timestamp,
        bytes32 quantity,
        int256 value,
        bytes32 salt
    ) external pure returns (bytes32);

    /// @notice The Merkle leaf of a reading: `keccak256(structHash)`, which equals
    /// `keccak256(keccak256(abi.encode(READING_TYPEHASH, device, meter, seq, timestamp, quantity, value, salt)))`,
    /// OpenZeppelin StandardMerkleTree's leaf for that value list.
    function readingLeaf(
        address device,
        bytes32 meter,
        uint64 seq,
        uint64 timestamp,
        bytes32 quantity,
        int256 value,
        bytes32 salt
    ) external pure returns (bytes32);

    /// @notice The EIP-712 digest a device signs for a reading under this contract's domain.
    function readingDigest(
        address device,
        bytes32 meter,
        uint64 seq,
        uint64 timestamp,
        bytes32 quantity,
        int256 value,
        bytes32 salt
    ) external view returns (bytes32);

    /**
     * @notice The signer of a reading's 65-byte `r || s || v` signature under this contract's
     * domain (OpenZeppelin `ECDSA.recover`).
     *
     * Requirements:
     *
     * - `signature` is 65 bytes with a low `s` and recovers a signer (otherwise it reverts with
     *   OpenZeppelin's `ECDSAInvalidSignature*` errors).
     */
    function recoverReadingSigner(
        address device,
        bytes32 meter,
        uint64 seq,
        uint64 timestamp,
        bytes32 quantity,
        int256 value,
        bytes32 salt,
        bytes calldata signature
    ) external view returns (address);

    /// @notice The Consortium whose `DEFAULT_ADMIN_ROLE` sets the clock skew.
    function consortium() external view returns (address);

    /// @notice The DeviceRegistry this registry created and takes device status from.
    function deviceRegistry() external view returns (address);
}
