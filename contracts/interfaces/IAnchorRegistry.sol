// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";
import {IDeviceRegistry} from "./IDeviceRegistry.sol";

/**
 * @title IAnchorRegistry
 * @notice Merkle roots of reading batches, anchored by each device's own account with a gap-free
 * per-device batch sequence, and the on-chain twin of the protocol's hashing: the EIP-712 leaf,
 * digest and signer of a reading, and Merkle (multi)proof checks against anchored roots.
 *
 * This contract is the EIP-712 `verifyingContract` of readings: domain name `TrustMRV`, version
 * `1`, this chain's id and this address, reported by {IERC5267-eip712Domain}.
 *
 * The per-batch header (`leafCount`, `fromTimestamp`, `toTimestamp`) is committed in the
 * {BatchAnchored} event of the anchoring transaction (its receipt), not in storage; storage keeps
 * the root, which is what inclusion proofs are checked against.
 */
interface IAnchorRegistry is IERC5267 {
    /**
     * @notice The anchoring state of one device.
     * @dev Fits one storage slot (1 + 8 + 8 = 17 bytes), so {anchor} reads and writes one slot
     * besides the new root.
     * @param status Mirror of the device's status in the DeviceRegistry.
     * @param nextBatchSeq The batch sequence number the device must anchor next.
     * @param lastAnchorBlock Block number of the device's latest anchor (zero before the first).
     */
    struct DeviceState {
        IDeviceRegistry.DeviceStatus status;
        uint64 nextBatchSeq;
        uint64 lastAnchorBlock;
    }

    /// @notice `account` lacks `role` in the Consortium.
    error AnchorRegistryMissingRole(address account, bytes32 role);
    /// @notice Only the DeviceRegistry may push device status changes; `caller` is not it.
    error AnchorRegistryCallerNotDeviceRegistry(address caller);
    /// @notice `device` (the caller of {anchor}) is not an active registered device; it is `status`.
    error AnchorRegistryDeviceNotActive(address device, IDeviceRegistry.DeviceStatus status);
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
    /// @notice The maximum clock skew changed from `previousSkew` to `newSkew` seconds.
    event MaxClockSkewChanged(uint64 previousSkew, uint64 newSkew);
    /// @notice The DeviceRegistry set the anchoring status of `device` to `status`.
    event DeviceStatusUpdated(address indexed device, IDeviceRegistry.DeviceStatus status);

    /**
     * @notice Anchors the caller's batch `batchSeq`. The caller is the device itself.
     *
     * Requirements:
     *
     * - the caller is a device in status `Active`;
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

    /// @notice The root of batch `batchSeq` of `device`, zero when not anchored.
    function batchRoot(address device, uint64 batchSeq) external view returns (bytes32);

    /// @notice The batch sequence number `device` must anchor next (= its number of batches).
    function nextBatchSeq(address device) external view returns (uint64);

    /// @notice The anchoring state of `device`.
    function deviceState(address device) external view returns (DeviceState memory);

    /// @notice The maximum clock skew in seconds.
    function maxClockSkew() external view returns (uint64);

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
