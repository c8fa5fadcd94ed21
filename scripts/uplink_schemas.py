"""Write the JSON Schemas of the uplink documents (docs/schemas/trustmrv-uplink-1.schema.json and
trustmrv-uplink-ack-1.schema.json) from their sources, so they cannot drift from the code.

The shared definitions (addresses, hex, integers, the domain, signed readings and headers) are
taken from the proof bundle schema (trustmrv-proof-2), the quantity codes from the registry
(``mrv_core.quantities``), the counts and string bound from ``mrv_core.uplink.LIMITS``.
``tests/unit/mrv_core/test_uplink_schema.py`` fails when a committed file differs from what
this script writes.

Usage: ``.venv/bin/python scripts/uplink_schemas.py [--check]``
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

from mrv_core.quantities import QUANTITIES
from mrv_core.records import ERROR_CLASSES, NOTE_MAX_BYTES, RECORD_TYPES, FieldSpec, MeterChange
from mrv_core.uplink import ACK_FORMAT, KINDS, LIMITS, UPLINK_FORMAT, Status

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"
SHARED = ("noLineFeed", "hex32", "address", "uint64", "uint256", "domain", "signedBatchHeader",
          "meterPath", "signedReading")
#: The $defs item type of each kind's array.
ITEM_DEFS = {"readings": "signedReading", "gaps": "signedGap", "meterChanges": "signedMeterChange",
             "summaries": "signedEmissionSummary", "batches": "signedBatchHeader"}

_UNEXPRESSED = (
    "Checked only by the decoder (mrv_core.uplink), not by this schema: gzip framing, the "
    f"compressed ({LIMITS.compressed_bytes} bytes) and decompressed "
    f"({LIMITS.decompressed_bytes} bytes) size limits, nesting depth ({LIMITS.depth}); the "
    "EIP-55 checksum of mixed-case addresses; numeric ranges beyond the digit count; "
    "fromTimestamp <= toTimestamp; meter-path NFC, its 256-byte limit and the complete Unicode "
    "category rule (and a site summary's path is enterprise/site, two levels); record rules "
    "across fields (ordered times, failedPolls >= 1, a cumulative quantity where "
    "mrv_core.records requires one, scopeKind 1 or 2); that every item's device is the "
    "document's device; that no two items of a kind share an identity key; duplicate object "
    "keys. Signatures are verified by mrv_core.verify, not by the decoder.")


def _shared_defs() -> dict[str, Any]:
    proof = json.loads((SCHEMAS / "trustmrv-proof-2.schema.json").read_text("utf-8"))
    defs = {name: copy.deepcopy(proof["$defs"][name]) for name in SHARED}
    reading = defs["signedReading"]
    reading["properties"]["quantity"]["enum"] = list(QUANTITIES)
    reading["if"]["properties"]["quantity"]["enum"] = [
        code for code, quantity in QUANTITIES.items() if not quantity.signed]
    return defs


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    """One record field as it travels (mrv_core.wire): codes as text, integers as strings."""
    if spec.kind == "address":
        return {"$ref": "#/$defs/address"}
    if spec.kind == "bytes32":
        return {"$ref": "#/$defs/hex32"}
    if spec.kind == "quantity":
        return {"enum": list(QUANTITIES)}
    if spec.name == "errorClass":
        return {"enum": list(ERROR_CLASSES)}
    if spec.kind == "code":
        return {"type": "string", "pattern": "^[!-~]{1,32}$", "maxLength": 32}
    low, high = spec.bound
    sign = "-?" if low < 0 else ""
    return {"$ref": "#/$defs/noLineFeed", "type": "string",
            "pattern": f"^(0|{sign}[1-9][0-9]*)$", "maxLength": len(str(low if low < 0 else high)),
            "description": f"A {spec.abi} as a canonical base-10 string (the decoder also "
                           f"enforces {low} <= value <= {high})."}


def _record_schema(name: str) -> dict[str, Any]:
    cls = RECORD_TYPES[name]
    extra: dict[str, Any] = {
        "path": {"type": "string", "minLength": 3, "maxLength": 256,
                 "description": "The meter path whose keccak256 is the record's meter (for a "
                                "site summary, scopeKind 2: the site path enterprise/site)."},
        "signature": {"type": "string", "minLength": 132, "maxLength": 132,
                      "pattern": "^0x[0-9a-fA-F]{130}$"},
    }
    if cls is MeterChange:
        extra["noteText"] = {"type": "string", "maxLength": NOTE_MAX_BYTES,
                             "description": "The operator's note; note = keccak256 of its UTF-8 "
                                            f"bytes (at most {NOTE_MAX_BYTES} bytes)."}
    properties = {"type": {"const": name}, **{spec.name: _field_schema(spec)
                                              for spec in cls.FIELDS}, **extra}
    return {"description": f"A signed {name} record (mrv_core.records; docs/protocol.md "
                           "section 9) with what travels beside it.",
            "type": "object", "required": list(properties), "additionalProperties": False,
            "properties": properties}


def request_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {
        "format": {"const": UPLINK_FORMAT},
        "device": {"$ref": "#/$defs/address", "description": "The sending device; every item "
                   "is this device's, and its TLS client certificate names this address."},
        "domain": {"$ref": "#/$defs/domain", "description": "The EIP-712 domain every item "
                   "of the request was signed under."},
    }
    for kind in KINDS:
        properties[kind.name] = {"type": "array", "maxItems": kind.limit(LIMITS),
                                 "items": {"$ref": f"#/$defs/{ITEM_DEFS[kind.name]}"}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:trustmrv:schema:trustmrv-uplink-1",
        "title": f"TrustMRV uplink request ({UPLINK_FORMAT})",
        "description": "One device's signed items, POSTed gzip-compressed to the ledger API "
                       "(docs/protocol.md section 9). Arrays are processed in the order "
                       f"{', '.join(k.name for k in KINDS)}; at least one item. " + _UNEXPRESSED,
        "type": "object",
        "required": ["format", "device", "domain", *(k.name for k in KINDS)],
        "additionalProperties": False,
        "properties": properties,
        "anyOf": [{"properties": {k.name: {"minItems": 1}}} for k in KINDS],
        "$defs": {**_shared_defs(), "signedGap": _record_schema("Gap"),
                  "signedMeterChange": _record_schema("MeterChange"),
                  "signedEmissionSummary": _record_schema("EmissionSummary")},
    }


def ack_schema() -> dict[str, Any]:
    delivered = [Status.ACCEPTED.value, Status.DUPLICATE.value]
    verdict = {
        "description": "The verdict on the item at the same position of the request's array "
                       "of the same name; id = keccak256(hashStruct(item)).",
        "type": "object",
        "required": ["id", "status", "reason"],
        "additionalProperties": False,
        "properties": {
            "id": {"$ref": "#/$defs/hex32"},
            "status": {"enum": [s.value for s in Status]},
            "reason": {"type": ["string", "null"], "minLength": 1,
                       "maxLength": LIMITS.string_chars},
        },
        "if": {"properties": {"status": {"enum": delivered}}},
        "then": {"properties": {"reason": {"type": "null"}}},
        "else": {"properties": {"reason": {"type": "string"}}},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:trustmrv:schema:trustmrv-uplink-ack-1",
        "title": f"TrustMRV uplink acknowledgement ({ACK_FORMAT})",
        "description": "The ledger API's answer to one uplink request (docs/protocol.md section "
                       "9): one verdict per item, in the request's order. Checked only by the "
                       "decoder: that the device, the counts and every id match the request "
                       "it answers.",
        "type": "object",
        "required": ["format", "device", *(k.name for k in KINDS)],
        "additionalProperties": False,
        "properties": {
            "format": {"const": ACK_FORMAT},
            "device": {"$ref": "#/$defs/address"},
            **{k.name: {"type": "array", "maxItems": k.limit(LIMITS),
                        "items": {"$ref": "#/$defs/verdict"}} for k in KINDS},
        },
        "$defs": {"hex32": _shared_defs()["hex32"], "address": _shared_defs()["address"],
                  "verdict": verdict},
    }


def rendered() -> dict[Path, str]:
    """Each schema file's path and its exact text."""
    return {SCHEMAS / f"{name}.schema.json": json.dumps(schema, indent=2, ensure_ascii=False)
            + "\n" for name, schema in (("trustmrv-uplink-1", request_schema()),
                                        ("trustmrv-uplink-ack-1", ack_schema()))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a committed schema differs, write nothing")
    args = parser.parse_args(argv)
    stale = [path for path, text in rendered().items()
             if not path.exists() or path.read_text("utf-8") != text]
    if args.check:
        for path in stale:
            print(f"stale: {path}", file=sys.stderr)
        return 1 if stale else 0
    for path, text in rendered().items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
