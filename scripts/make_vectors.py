#!/usr/bin/env python3
"""Write ``tests/vectors/protocol.json``: the protocol's known-answer vectors.

One JSON file that the Python tests, the OpenZeppelin interop test and the Solidity tests all read:
type strings and hashes, domain separators, eight fixed readings with their meter paths, struct
hashes, digests, leaves and signatures, Merkle roots, proofs and multiproofs over them, signed
batch headers (the EIP-712 ``Batch`` struct: encoding, struct hash, digest and signature), and
signed records (``Gap``, ``MeterChange``, ``EmissionSummary``: their wire form, encoding, struct
hash, leaf, digest and signature), fields at ordinary values and at the edges of their types.

Everything is fixed: private keys 0x..01 to 0x..03, salts, timestamps, and two domains (the offline
``SAMPLE_DOMAIN`` and chain 31337 with a fixed AnchorRegistry address). Signatures are fixed too:
libsecp256k1 derives its nonce by RFC 6979, so the same key and digest always give the same bytes.

A vector that changes means a wire format changed. The script therefore refuses to rewrite an
existing value unless given ``--force``; new entries are added freely. ``--check`` writes nothing
and exits 1 when the file is not what this script would produce.

    python scripts/make_vectors.py            # create, or add new entries
    python scripts/make_vectors.py --check    # CI: is the file current?
    python scripts/make_vectors.py --force    # accept a deliberate format change
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrv_core import QUANTITIES, SAMPLE_DOMAIN, Domain, Reading, meter_id
from mrv_core.batch import BatchHeader
from mrv_core.codec import INT256_MAX, INT256_MIN, UINT64_MAX, format_address, format_hex
from mrv_core.eip712 import (
    BATCH_TYPE,
    BATCH_TYPEHASH,
    DOMAIN_NAME,
    DOMAIN_TYPE,
    DOMAIN_TYPEHASH,
    DOMAIN_VERSION,
    READING_TYPE,
    READING_TYPEHASH,
    batch_digest,
    batch_struct_hash,
    encode_batch_struct,
    encode_struct,
    leaf_hash,
    reading_digest,
    struct_hash,
)
from mrv_core.hashing import keccak256
from mrv_core.keys import DeviceKey
from mrv_core.merkle import MerkleTree
from mrv_core.reading import site_id
from mrv_core.records import (
    RECORD_TYPES,
    SCOPE_METER,
    SCOPE_SITE,
    EmissionSummary,
    Gap,
    MeterChange,
    Record,
    note_hash,
    record_digest,
    record_leaf,
    record_struct_hash,
)
from mrv_core.wire import encode_signed_record

FORMAT = "trustmrv-vectors/1"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "protocol.json"
#: The OpenZeppelin StandardMerkleTree leaf types: typeHash, then the Reading fields.
LEAF_ENCODING = (
    "bytes32", "address", "bytes32", "uint64", "uint64", "bytes32", "int256", "bytes32",
)

#: Test-only keys: the secrets 1, 2 and 3. Their addresses are well known; never fund them.
KEYS = {"device-1": 1, "device-2": 2, "device-3": 3}
#: The offline sample domain, and anvil's chain id with the address of the first contract its
#: default deployer creates (where a test deployment of the AnchorRegistry lands).
DOMAINS = {
    "sample": SAMPLE_DOMAIN,
    "anvil": Domain(chain_id=31337,
                    verifying_contract=bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3")),
}
T0 = 1_735_689_600  # 2025-01-01T00:00:00Z


def _salt(label: str) -> bytes:
    """A fixed salt that looks like a random one."""
    return keccak256(f"trustmrv test vector salt: {label}".encode("ascii"))


@dataclass(frozen=True)
class ReadingSpec:
    name: str
    key: str
    meter_path: str
    seq: int
    timestamp: int
    quantity: str
    value: int
    salt: bytes


INCOMER = "demo-co/wuxi-plant/assembly/line-1/main-incomer"
INVERTER = "demo-co/wuxi-plant/assembly/line-1/pv-inverter"
GAS = "demo-co/wuxi-plant/utilities/boiler-house/gas-meter-1"
UNICODE = "示例集团/无锡工厂/装配车间/一号线/总表"

READINGS = (
    ReadingSpec("energy-import-first", "device-1", INCOMER, 0, T0, "energy.active.import:Wh",
                123_456_789, _salt("0")),
    ReadingSpec("energy-import-next", "device-1", INCOMER, 1, T0 + 900, "energy.active.import:Wh",
                123_460_250, _salt("1")),
    ReadingSpec("power-export-negative", "device-1", INVERTER, 0, T0 + 60, "power.active:W",
                -4_200, _salt("2")),
    ReadingSpec("gas-zero-at-epoch", "device-2", GAS, 0, 0, "volume.gas:dm3", 0, _salt("3")),
    ReadingSpec("unicode-path-maxima", "device-2", UNICODE, UINT64_MAX, UINT64_MAX, "heat:kJ",
                INT256_MAX, _salt("4")),
    ReadingSpec("power-int256-min-zero-salt", "device-3", INVERTER, 7, T0 + 3_600,
                "power.active:W", INT256_MIN, bytes(32)),
    ReadingSpec("power-int256-max-ones-salt", "device-3", INVERTER, 8, T0 + 3_601,
                "power.active:W", INT256_MAX, b"\xff" * 32),
    ReadingSpec("energy-export-one", "device-1", INCOMER, 2, T0 + 1_800,
                "energy.active.export:Wh", 1, _salt("7")),
)
PROOF_TREE_SIZE = 7  # leaves at two depths


@dataclass(frozen=True)
class HeaderSpec:
    """A batch header over the first ``leaf_count`` vector readings (or, for the limits, a
    header at the edge of every field's type)."""

    name: str
    key: str
    batch_seq: int
    leaf_count: int
    limits: bool = False


HEADERS = (
    HeaderSpec("first-batch-of-7", "device-1", 0, PROOF_TREE_SIZE),
    HeaderSpec("one-reading", "device-2", 41, 1),
    HeaderSpec("every-field-at-its-limit", "device-3", UINT64_MAX, 2**32 - 1, limits=True),
)
MULTIPROOFS = ((8, (6, 1, 3)), (7, (0, 2, 4, 5)), (5, (0, 1, 2, 3, 4)), (1, (0,)))


SITE = "demo-co/wuxi-plant"
_EMISSION_BASE = {"source": "electricity.grid", "quantity": "energy.active.import:Wh",
                  "methodology": "cn.electricity.location", "methodology_version": 2}


@dataclass(frozen=True)
class RecordSpec:
    """A record of ``key``'s device: its fields other than ``device``, and what travels beside."""

    name: str
    key: str
    kind: str
    fields: dict[str, Any]
    path: str
    note: str | None = None


RECORDS = (
    RecordSpec("gap-timeout-two-polls", "device-1", "Gap", {
        "meter": meter_id(INCOMER), "quantity": "energy.active.import:Wh", "next_seq": 3,
        "from_timestamp": T0 + 2_700, "to_timestamp": T0 + 3_600, "failed_polls": 2,
        "error_class": "timeout", "salt": _salt("gap-0")}, INCOMER),
    RecordSpec("gap-every-field-at-its-limit", "device-3", "Gap", {
        "meter": meter_id(INVERTER), "quantity": "power.active:W", "next_seq": UINT64_MAX,
        "from_timestamp": 0, "to_timestamp": UINT64_MAX, "failed_polls": 2**32 - 1,
        "error_class": "gateway_target", "salt": bytes(32)}, INVERTER),
    RecordSpec("meter-change-replacement", "device-1", "MeterChange", {
        "meter": meter_id(INCOMER), "quantity": "energy.active.import:Wh", "next_seq": 4,
        "timestamp": T0 + 4_000, "old_final": 123_470_001, "new_initial": 0,
        "note": note_hash("换表 雷击后更换 / meter replaced after a lightning strike"),
        "salt": _salt("change-0")}, INCOMER,
        "换表 雷击后更换 / meter replaced after a lightning strike"),
    RecordSpec("meter-change-empty-note-limits", "device-2", "MeterChange", {
        "meter": meter_id(GAS), "quantity": "volume.gas:dm3", "next_seq": 0,
        "timestamp": UINT64_MAX, "old_final": INT256_MAX, "new_initial": INT256_MAX,
        "note": note_hash(""), "salt": b"\xff" * 32}, GAS, ""),
    RecordSpec("summary-meter-hour", "device-1", "EmissionSummary", {
        **_EMISSION_BASE, "scope_kind": SCOPE_METER, "scope_id": meter_id(INCOMER),
        "period_start": T0 - 8 * 3_600, "period_end": T0 - 7 * 3_600, "activity": 3_461,
        "emissions": 1_857, "reading_count": 4, "gap_count": 1, "bridged_gap_count": 1,
        "bridged_seconds": 900, "unexplained_decreases": 0, "salt": _salt("summary-0")},
        INCOMER),
    RecordSpec("summary-site-limits", "device-2", "EmissionSummary", {
        **_EMISSION_BASE, "scope_kind": SCOPE_SITE, "scope_id": site_id(SITE),
        "methodology_version": 2**32 - 1, "period_start": 0, "period_end": UINT64_MAX,
        "activity": 2**256 - 1, "emissions": 2**256 - 1, "reading_count": 2**32 - 1,
        "gap_count": 2**32 - 1, "bridged_gap_count": 2**32 - 1, "bridged_seconds": UINT64_MAX,
        "unexplained_decreases": 2**32 - 1, "salt": _salt("summary-1")}, SITE),
)


def _record_entry(spec: RecordSpec, keys: dict[str, DeviceKey]) -> dict[str, Any]:
    key = keys[spec.key]
    record: Record = RECORD_TYPES[spec.kind](device=key.address, **spec.fields)
    signatures = {}
    wire: dict[str, str] = {}
    for name, domain in DOMAINS.items():
        signed = key.sign_record(record, domain, spec.path, spec.note)
        signatures[name] = {"digest": _hex(record_digest(record, domain)),
                            "signature": _hex(signed.signature)}
        if name == "anvil":
            wire = encode_signed_record(signed)
    return {
        "name": spec.name,
        "signer": spec.key,
        "type": spec.kind,
        "wire": wire,
        "encodeData": _hex(record.encode()),
        "structHash": _hex(record_struct_hash(record)),
        "leaf": _hex(record_leaf(record)),
        "signatures": signatures,
    }


def _hex(data: bytes) -> str:
    return format_hex(data)


def _domain_entry(domain: Domain) -> dict[str, Any]:
    return {
        "name": domain.name,
        "version": domain.version,
        "chainId": str(domain.chain_id),
        "verifyingContract": format_address(domain.verifying_contract),
        "separator": _hex(domain.separator),
    }


def _reading_entry(spec: ReadingSpec, keys: dict[str, DeviceKey]) -> dict[str, Any]:
    key = keys[spec.key]
    reading = Reading(device=key.address, meter=meter_id(spec.meter_path), seq=spec.seq,
                      timestamp=spec.timestamp, quantity=spec.quantity, value=spec.value,
                      salt=spec.salt)
    signatures = {}
    for name, domain in DOMAINS.items():
        signed = key.sign_reading(reading, domain, spec.meter_path)
        signatures[name] = {"digest": _hex(reading_digest(reading, domain)),
                            "signature": _hex(signed.signature)}
    return {
        "name": spec.name,
        "signer": spec.key,
        "meterPath": spec.meter_path,
        "reading": {
            "device": format_address(reading.device),
            "meter": _hex(reading.meter),
            "seq": str(reading.seq),
            "timestamp": str(reading.timestamp),
            "quantity": reading.quantity,
            "value": str(reading.value),
            "salt": _hex(reading.salt),
        },
        "quantityBytes32": _hex(QUANTITIES[reading.quantity].code_bytes),
        "encodeData": _hex(encode_struct(reading)),
        "structHash": _hex(struct_hash(reading)),
        "leaf": _hex(leaf_hash(reading)),
        "signatures": signatures,
    }


def _header_entry(spec: HeaderSpec, keys: dict[str, DeviceKey],
                  leaves: list[bytes]) -> dict[str, Any]:
    key = keys[spec.key]
    if spec.limits:
        header = BatchHeader(device=key.address, batch_seq=spec.batch_seq, root=b"\xff" * 32,
                             leaf_count=spec.leaf_count, from_timestamp=0,
                             to_timestamp=UINT64_MAX)
    else:
        stamps = [READINGS[i].timestamp for i in range(spec.leaf_count)]
        header = BatchHeader(device=key.address, batch_seq=spec.batch_seq,
                             root=MerkleTree(leaves[: spec.leaf_count]).root,
                             leaf_count=spec.leaf_count, from_timestamp=min(stamps),
                             to_timestamp=max(stamps))
    signatures = {name: {"digest": _hex(batch_digest(header, domain)),
                         "signature": _hex(key.sign_batch(header, domain))}
                  for name, domain in DOMAINS.items()}
    return {
        "name": spec.name,
        "signer": spec.key,
        "header": {
            "device": format_address(header.device),
            "batchSeq": str(header.batch_seq),
            "root": _hex(header.root),
            "leafCount": str(header.leaf_count),
            "fromTimestamp": str(header.from_timestamp),
            "toTimestamp": str(header.to_timestamp),
        },
        "encodeData": _hex(encode_batch_struct(header)),
        "structHash": _hex(batch_struct_hash(header)),
        "signatures": signatures,
    }


def _multiproof_entry(leaves: list[bytes], n: int, indices: Sequence[int]) -> dict[str, Any]:
    tree = MerkleTree(leaves[:n])
    multi, order = tree.multiproof(indices)
    return {
        "n": n,
        "indices": list(indices),
        "root": _hex(tree.root),
        "leafOrder": order,
        "leaves": [_hex(leaf) for leaf in multi.leaves],
        "proof": [_hex(node) for node in multi.proof],
        "proofFlags": list(multi.proof_flags),
    }


def build_vectors() -> dict[str, Any]:
    """The whole vector document, computed from the fixed inputs above."""
    keys = {name: DeviceKey.from_private_bytes(secret.to_bytes(32, "big"))
            for name, secret in KEYS.items()}
    readings = [_reading_entry(spec, keys) for spec in READINGS]
    leaves = [bytes.fromhex(entry["leaf"][2:]) for entry in readings]
    proof_tree = MerkleTree(leaves[:PROOF_TREE_SIZE])
    return {
        "format": FORMAT,
        "description": "TrustMRV known-answer vectors; generated by scripts/make_vectors.py. "
                       "Integers are decimal strings, bytes lowercase 0x-hex, addresses EIP-55.",
        "types": {
            "EIP712Domain": DOMAIN_TYPE,
            "EIP712DomainTypeHash": _hex(DOMAIN_TYPEHASH),
            "Reading": READING_TYPE,
            "ReadingTypeHash": _hex(READING_TYPEHASH),
            "Batch": BATCH_TYPE,
            "BatchTypeHash": _hex(BATCH_TYPEHASH),
            "domainNameHash": _hex(keccak256(DOMAIN_NAME.encode("ascii"))),
            **{entry: value for cls in (Gap, MeterChange, EmissionSummary)
               for entry, value in ((cls.__name__, cls.TYPE),
                                    (f"{cls.__name__}TypeHash", _hex(cls.TYPEHASH)))},
            "domainVersionHash": _hex(keccak256(DOMAIN_VERSION.encode("ascii"))),
        },
        "quantities": {code: _hex(q.code_bytes) for code, q in QUANTITIES.items()},
        "keys": [
            {"name": name, "privateKey": _hex(secret.to_bytes(32, "big")),
             "address": format_address(keys[name].address)}
            for name, secret in KEYS.items()
        ],
        "domains": {name: _domain_entry(domain) for name, domain in DOMAINS.items()},
        "readings": readings,
        "merkle": {
            "leafEncoding": list(LEAF_ENCODING),
            "roots": [{"n": n, "root": _hex(MerkleTree(leaves[:n]).root)}
                      for n in range(1, len(leaves) + 1)],
            "unsortedRoots": [{"n": n, "root": _hex(MerkleTree(leaves[:n], sort_leaves=False).root)}
                              for n in range(1, len(leaves) + 1)],
            "proofs": [
                {"n": PROOF_TREE_SIZE, "index": i, "root": _hex(proof_tree.root),
                 "leaf": _hex(leaves[i]), "proof": [_hex(node) for node in proof_tree.proof(i)]}
                for i in range(PROOF_TREE_SIZE)
            ],
            "multiproofs": [_multiproof_entry(leaves, n, indices) for n, indices in MULTIPROOFS],
        },
        "batches": [_header_entry(spec, keys, leaves) for spec in HEADERS],
        "records": [_record_entry(spec, keys) for spec in RECORDS],
    }


# -- writing, guarded -----------------------------------------------------------------------------


def _flatten(node: object, prefix: str = "") -> dict[str, object]:
    """``{json-path: scalar}`` for every scalar in a JSON document."""
    if isinstance(node, dict):
        items: list[tuple[str, object]] = [(f"{prefix}.{k}", v) for k, v in node.items()]
    elif isinstance(node, list):
        items = [(f"{prefix}[{i}]", v) for i, v in enumerate(node)]
    else:
        return {prefix or "$": node}
    flat: dict[str, object] = {}
    for path, value in items:
        flat.update(_flatten(value, path))
    if not items:
        flat[prefix or "$"] = node
    return flat


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write the protocol's known-answer vectors (tests/vectors/protocol.json)."
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="vector file to write")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="write nothing; exit 1 unless the file is exactly current")
    mode.add_argument("--force", action="store_true",
                      help="overwrite changed or removed values (a deliberate format change)")
    args = parser.parse_args(argv)

    text = render(build_vectors())
    if args.out.exists():
        old_text = args.out.read_text(encoding="utf-8")
        if old_text == text:
            print(f"{args.out}: up to date")
            return 0
        old, new = _flatten(json.loads(old_text)), _flatten(json.loads(text))
        changed = sorted(p for p in old.keys() & new.keys() if old[p] != new[p])
        removed = sorted(old.keys() - new.keys())
        added = sorted(new.keys() - old.keys())
        for label, paths in (("changed", changed), ("removed", removed), ("added", added)):
            for path in paths[:20]:
                print(f"{label}: {path}", file=sys.stderr)
            if len(paths) > 20:
                print(f"{label}: ... {len(paths) - 20} more", file=sys.stderr)
        if args.check:
            print(f"{args.out}: not current; run scripts/make_vectors.py", file=sys.stderr)
            return 1
        if (changed or removed) and not args.force:
            print(f"{args.out}: refusing to change existing vectors (a format change?); "
                  "rerun with --force if that is intended", file=sys.stderr)
            return 1
    elif args.check:
        print(f"{args.out}: missing", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
