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
from mrv_core.uplink import ACK_FORMAT, KINDS, LIMITS, UPLINK_FORMAT, Status

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"
SHARED = ("noLineFeed", "hex32", "address", "uint64", "uint256", "domain", "signedBatchHeader",
          "meterPath", "signedReading")
#: The $defs item type of each kind's array.
ITEM_DEFS = {"readings": "signedReading", "batches": "signedBatchHeader"}

_UNEXPRESSED = (
    "Checked only by the decoder (mrv_core.uplink), not by this schema: gzip framing, the "
    f"compressed ({LIMITS.compressed_bytes} bytes) and decompressed "
    f"({LIMITS.decompressed_bytes} bytes) size limits, nesting depth ({LIMITS.depth}); the "
    "EIP-55 checksum of mixed-case addresses; numeric ranges beyond the digit count; "
    "fromTimestamp <= toTimestamp; meter-path NFC, its 256-byte limit and the complete Unicode "
    "category rule; that every item's device is the document's device; that no two items of a "
    "kind share an identity key; duplicate object keys. Signatures are verified by "
    "mrv_core.verify, not by the decoder.")


def _shared_defs() -> dict[str, Any]:
    proof = json.loads((SCHEMAS / "trustmrv-proof-2.schema.json").read_text("utf-8"))
    defs = {name: copy.deepcopy(proof["$defs"][name]) for name in SHARED}
    reading = defs["signedReading"]
    reading["properties"]["quantity"]["enum"] = list(QUANTITIES)
    reading["if"]["properties"]["quantity"]["enum"] = [
        code for code, quantity in QUANTITIES.items() if not quantity.signed]
    return defs


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
        "$defs": _shared_defs(),
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
