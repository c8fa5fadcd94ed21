// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {DeviceRegistry} from "./DeviceRegistry.sol";
import {IAnchorRegistry} from "./interfaces/IAnchorRegistry.sol";
import {IDeviceRegistry} from "./interfaces/IDeviceRegistry.sol";
import {Roles} from "./libraries/Roles.sol";

/**
 * @title AnchorRegistry
 * @notice Batch roots anchored by devices, and the on-chain twin of the reading hashing (see
 * {IAnchorRegistry}). The EIP-712 `verifyingContract` of readings.
 *
 * Gas design of {anchor}: the device's status (mirrored from the DeviceRegistry, which pushes
 * every change through {setDeviceStatus}) and its next batch sequence number share one storage
 * slot ({DeviceState}), so an anchor reads that slot once (cold) and rewrites it (warm), stores
 * the root in one fresh slot, reads the clock skew, and emits the header in its event; it makes
 * no cross-contract call. Because the state slot is non-zero from registration on, a device's
 * first anchor rewrites a non-zero slot too and costs the same as any later one.
 *
 * Enterprise standing costs nothing in the steady state: the clock skew shares its slot with a
 * standing epoch that moves on whenever an enterprise is stopped, and the device's slot holds its
 * enterprise's number and the epoch at which that enterprise was last seen in good standing.
 * Only when the two epochs differ does an anchor read the enterprise's standing (one more cold
 * slot) and, if it is good, record the current epoch in the slot it rewrites anyway.
 * Invariant: `state.standingEpoch == _standingEpoch` implies the enterprise is not stopped
 * (set only at registration, which needs good standing, and after a successful check; every
 * stop moves `_standingEpoch` on).
 */
contract AnchorRegistry is IAnchorRegistry, EIP712 {
    /// @inheritdoc IAnchorRegistry
    bytes32 public constant READING_TYPEHASH = keccak256(
        "Reading(address device,bytes32 meter,uint64 seq,uint64 timestamp,bytes32 quantity,int256 value,bytes32 salt)"
    );
    /// @inheritdoc IAnchorRegistry
    bytes32 public constant BATCH_TYPEHASH = keccak256(
        "Batch(address device,uint64 batchSeq,bytes32 root,uint32 leafCount,uint64 fromTimestamp,uint64 toTimestamp)"
    );

    IAccessControl private immutable _consortium;
    address private immutable _deviceRegistry;

    /// @dev One slot per device: status (1 byte), nextBatchSeq (8), lastAnchorBlock (8),
    /// enterprise (4), standingEpoch (8).
    mapping(address device => DeviceState) private _devices;
    mapping(address device => mapping(uint64 batchSeq => bytes32 root)) private _roots;
    /// @dev `_maxClockSkew` and `_standingEpoch` share one slot, which {anchor} reads anyway.
    uint64 private _maxClockSkew;
    uint64 private _standingEpoch;
    mapping(uint32 enterprise => bool stopped) private _stopped;

    /**
     * @notice Deploys the registry and the DeviceRegistry bound to it.
     * @param consortium_ The Consortium whose roles the registries check.
     * @param maxClockSkew_ Initial maximum clock skew, seconds.
     */
    constructor(IAccessControl consortium_, uint64 maxClockSkew_) EIP712("TrustMRV", "1") {
        _consortium = consortium_;
        _deviceRegistry = address(new DeviceRegistry(consortium_));
        _maxClockSkew = maxClockSkew_;
        _standingEpoch = 1;
        emit MaxClockSkewChanged(0, maxClockSkew_);
    }

    // -- anchoring -----------------------------------------------------------------------------

    /// @inheritdoc IAnchorRegistry
    function anchor(uint64 batchSeq, bytes32 root, uint32 leafCount, uint64 fromTimestamp, uint64 toTimestamp)
        external
    {
        _anchor(msg.sender, batchSeq, root, leafCount, fromTimestamp, toTimestamp);
    }

    /// @inheritdoc IAnchorRegistry
    function anchorBySig(
        address device,
        uint64 batchSeq,
        bytes32 root,
        uint32 leafCount,
        uint64 fromTimestamp,
        uint64 toTimestamp,
        bytes calldata signature
    ) external {
        bytes32 digest = batchDigest(device, batchSeq, root, leafCount, fromTimestamp, toTimestamp);
        address signer = ECDSA.recover(digest, signature);
        if (signer != device) revert AnchorRegistryBatchSignerMismatch(device, signer);
        _anchor(device, batchSeq, root, leafCount, fromTimestamp, toTimestamp);
        emit BatchRelayed(device, batchSeq, msg.sender);
    }

    // -- administration ------------------------------------------------------------------------

    /// @inheritdoc IAnchorRegistry
    function setMaxClockSkew(uint64 newSkew) external {
        if (!_consortium.hasRole(Roles.DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert AnchorRegistryMissingRole(msg.sender, Roles.DEFAULT_ADMIN_ROLE);
        }
        uint64 previousSkew = _maxClockSkew;
        _maxClockSkew = newSkew;
        emit MaxClockSkewChanged(previousSkew, newSkew);
    }

    /// @inheritdoc IAnchorRegistry
    function setDeviceStatus(address device, IDeviceRegistry.DeviceStatus status) external {
        _requireDeviceRegistry();
        _devices[device].status = status;
        emit DeviceStatusUpdated(device, status);
    }

    /// @inheritdoc IAnchorRegistry
    function addDevice(address device, uint32 enterprise) external {
        _requireDeviceRegistry();
        DeviceState storage state = _devices[device];
        state.status = IDeviceRegistry.DeviceStatus.Active;
        state.enterprise = enterprise;
        state.standingEpoch = _standingEpoch;
        emit DeviceStatusUpdated(device, IDeviceRegistry.DeviceStatus.Active);
        emit DeviceAdded(device, enterprise);
    }

    /// @inheritdoc IAnchorRegistry
    function setEnterpriseStanding(uint32 enterprise, bool stopped) external {
        _requireDeviceRegistry();
        _stopped[enterprise] = stopped;
        uint64 epoch = _standingEpoch;
        if (stopped) _standingEpoch = ++epoch;
        emit EnterpriseStandingUpdated(enterprise, stopped, epoch);
    }

    // -- batches and proofs --------------------------------------------------------------------

    /// @inheritdoc IAnchorRegistry
    function batchRoot(address device, uint64 batchSeq) external view returns (bytes32) {
        return _roots[device][batchSeq];
    }

    /// @inheritdoc IAnchorRegistry
    function nextBatchSeq(address device) external view returns (uint64) {
        return _devices[device].nextBatchSeq;
    }

    /// @inheritdoc IAnchorRegistry
    function deviceState(address device) external view returns (DeviceState memory) {
        return _devices[device];
    }

    /// @inheritdoc IAnchorRegistry
    function maxClockSkew() external view returns (uint64) {
        return _maxClockSkew;
    }

    /// @inheritdoc IAnchorRegistry
    function enterpriseStopped(uint32 enterprise) external view returns (bool) {
        return _stopped[enterprise];
    }

    /// @inheritdoc IAnchorRegistry
    function standingEpoch() external view returns (uint64) {
        return _standingEpoch;
    }

    /// @inheritdoc IAnchorRegistry
    function verifyReading(address device, uint64 batchSeq, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        bytes32 root = _roots[device][batchSeq];
        return root != bytes32(0) && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc IAnchorRegistry
    function verifyReadings(
        address device,
        uint64 batchSeq,
        bytes32[] calldata leaves,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external view returns (bool) {
        bytes32 root = _roots[device][batchSeq];
        if (root == bytes32(0) || !_isWellFormedMultiproof(leaves.length, proof.length, proofFlags)) return false;
        return MerkleProof.multiProofVerifyCalldata(proof, proofFlags, root, leaves);
    }

    // -- reading hashing -----------------------------------------------------------------------

    /// @inheritdoc IAnchorRegistry
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IAnchorRegistry
    function readingStructHash(
        address device,
        bytes32 meter,
        uint64 seq,
        uint64 timestamp,
        bytes32 quantity,
        int256 value,
        bytes32 salt
    ) external pure returns (bytes32) {
        return _readingStructHash(device, meter, seq, timestamp, quantity, value, salt);
    }

    /// @inheritdoc IAnchorRegistry
    function readingLeaf(
        address device,
        bytes32 meter,
        uint64 seq,
        uint64 timestamp,
        bytes32 quantity,
        int256 value,
        bytes32 salt
    ) external pure returns (bytes32) {
        return keccak256(abi.encode(_readingStructHash(device, meter, seq, timestamp, quantity, value, salt)));
    }

    /// @inheritdoc IAnchorRegistry
    function readingDigest(
        address device,
        bytes32 meter,
        uint64 seq,
        uint64 timestamp,
        bytes32 quantity,
        int256 value,
        bytes32 salt
    ) external view returns (bytes32) {
        return _hashTypedDataV4(_readingStructHash(device, meter, seq, timestamp, quantity, value, salt));
    }

    /// @inheritdoc IAnchorRegistry
    function recoverReadingSigner(
        address device,
        bytes32 meter,
        uint64 seq,
        uint64 timestamp,
        bytes32 quantity,
        int256 value,
        bytes32 salt,
        bytes calldata signature
    ) external view returns (address) {
        bytes32 digest = _hashTypedDataV4(_readingStructHash(device, meter, seq, timestamp, quantity, value, salt));
        return ECDSA.recover(digest, signature);
    }

    /// @inheritdoc IAnchorRegistry
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    /// @inheritdoc IAnchorRegistry
    function deviceRegistry() external view returns (address) {
        return _deviceRegistry;
    }

    /// @inheritdoc IAnchorRegistry
    function batchDigest(
        address device,
        uint64 batchSeq,
        bytes32 root,
        uint32 leafCount,
        uint64 fromTimestamp,
        uint64 toTimestamp
    ) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(BATCH_TYPEHASH, device, batchSeq, root, leafCount, fromTimestamp, toTimestamp))
        );
    }

    // -- internals -----------------------------------------------------------------------------

    /// @dev {anchor} for `device`, whose authority the caller has established.
    function _anchor(
        address device,
        uint64 batchSeq,
        bytes32 root,
        uint32 leafCount,
        uint64 fromTimestamp,
        uint64 toTimestamp
    ) private {
        DeviceState storage state = _devices[device]; // one slot: read cold once, then warm
        if (state.status != IDeviceRegistry.DeviceStatus.Active) {
            revert AnchorRegistryDeviceNotActive(device, state.status);
        }
        // One slot, read once: the standing epoch and the clock skew.
        uint64 epoch = _standingEpoch;
        uint256 latestAllowed = block.timestamp + _maxClockSkew;
        if (state.standingEpoch != epoch) {
            uint32 enterprise = state.enterprise;
            if (_stopped[enterprise]) revert AnchorRegistryEnterpriseStopped(device, enterprise);
            state.standingEpoch = epoch;
        }
        if (batchSeq != state.nextBatchSeq) {
            revert AnchorRegistryBatchSeqMismatch(device, state.nextBatchSeq, batchSeq);
        }
        if (root == bytes32(0)) revert AnchorRegistryZeroRoot();
        if (leafCount == 0) revert AnchorRegistryEmptyBatch();
        if (fromTimestamp > toTimestamp) revert AnchorRegistryInvalidTimeRange(fromTimestamp, toTimestamp);
        if (toTimestamp > latestAllowed) revert AnchorRegistryTimestampInFuture(toTimestamp, latestAllowed);

        _roots[device][batchSeq] = root;
        // Writes to the slot read above (now warm); `status` stays Active.
        state.nextBatchSeq = batchSeq + 1;
        state.lastAnchorBlock = uint64(block.number);
        emit BatchAnchored(device, batchSeq, root, leafCount, fromTimestamp, toTimestamp);
    }

    function _requireDeviceRegistry() private view {
        if (msg.sender != _deviceRegistry) revert AnchorRegistryCallerNotDeviceRegistry(msg.sender);
    }

    function _readingStructHash(
        address device,
        bytes32 meter,
        uint64 seq,
        uint64 timestamp,
        bytes32 quantity,
        int256 value,
        bytes32 salt
    ) private pure returns (bytes32) {
        return keccak256(abi.encode(READING_TYPEHASH, device, meter, seq, timestamp, quantity, value, salt));
    }

    /**
     * @dev Whether a multiproof of `leavesLength` leaves, `proofLength` proof nodes and these
     * flags consumes exactly its inputs, never an item it does not have (OpenZeppelin's
     * processMultiProof would revert on some such proofs and silently hash a zero word on others).
     */
    function _isWellFormedMultiproof(uint256 leavesLength, uint256 proofLength, bool[] calldata proofFlags)
        private
        pure
        returns (bool)
    {
        uint256 steps = proofFlags.length;
        if (leavesLength == 0 || leavesLength + proofLength != steps + 1) return false;
        uint256 queued = leavesLength; // leaves not yet consumed + hashes produced but not consumed
        uint256 proofUsed = 0;
        for (uint256 i = 0; i < steps; ++i) {
            if (queued == 0) return false;
            --queued;
            if (proofFlags[i]) {
                if (queued == 0) return false;
                --queued;
            } else {
                if (proofUsed == proofLength) return false;
                ++proofUsed;
            }
            ++queued;
        }
        return proofUsed == proofLength;
    }
}
