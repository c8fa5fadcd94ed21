"""Write the JSON Schema of report bundles (docs/schemas/trustmrv-report-bundle-1.schema.json)
from its sources, so it cannot drift from the code.

The shared definitions (domain, anchor, signed batch header, signed reading, multiproof) come
from the proof bundle schema (trustmrv-proof-2), the record objects from the batch file schema
(trustmrv-batch-3), the report document is the report schema (trustmrv-report-1) embedded whole
as a resource under its own ``$id``, and the counts from
``accounting_rules.reports.bundle.LIMITS``. ``tests/unit/accounting_rules/reports/
test_bundle_schema.py`` fails when the committed file differs from what this script writes.

Usage: ``.venv/bin/python scripts/report_bundle_schema.py [--check]``
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

from accounting_rules.reports.bundle import FORMAT, LIMITS

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"
TARGET = SCHEMAS / "trustmrv-report-bundle-1.schema.json"
FROM_PROOF = ("noLineFeed", "hex32", "address", "uint64", "uint256", "domain", "anchor",
              "anchorOrNull", "signedBatchHeader", "meterPath", "signedReading", "multiProof")
FROM_BATCH = ("sitePath", "uint32", "positiveUint32", "nonNegativeInt256", "code", "signature",
              "gap", "meterChange", "emissionSummary")

_UNEXPRESSED = (
    "Checked only by the parser (accounting_rules.reports.bundle), not by this schema: the "
    f"document's byte size ({LIMITS.bundle_bytes} bytes), the total readings "
    f"({LIMITS.readings}) and records ({LIMITS.records}) over all batches, that batches are "
    "sorted by (device, batchSeq) without repeats, that a batch entry proves at least one "
    "reading or record, that a multiproof has at most as many nodes as the limit; everything "
    "the proof bundle, batch file and report schemas list as parser-only. Verification steps "
    "(docs/protocol.md 11.4), not parsing: the leaf order, signatures, the report hash and "
    "everything the report's figures must agree with.")


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8"))
    return loaded


def schema() -> dict[str, Any]:
    """The report bundle schema."""
    proof, batch, report = _load("trustmrv-proof-2"), _load("trustmrv-batch-3"), \
        _load("trustmrv-report-1")
    defs = {name: copy.deepcopy(proof["$defs"][name]) for name in FROM_PROOF}
    defs.update({name: copy.deepcopy(batch["$defs"][name]) for name in FROM_BATCH})
    multi = defs["multiProof"]["properties"]
    multi["proof"]["maxItems"] = LIMITS.multiproof_nodes
    multi["proofFlags"]["maxItems"] = (LIMITS.multiproof_nodes + LIMITS.readings_per_batch
                                       + LIMITS.records_per_batch)
    defs["signedRecord"] = copy.deepcopy(batch["$defs"]["recordEntry"]["properties"]["record"])
    defs["report"] = report  # an embedded resource: its $id and $defs stay its own
    defs["provenBatch"] = {
        "description": "One batch of the evidence: its signed header, its anchor (null until "
                       "anchored), the readings and records of it the report uses, each list in "
                       "ascending order of leaf hash (the multiproof's), and one multiproof of "
                       "all of them.",
        "type": "object",
        "required": ["batch", "anchor", "readings", "records", "proof"],
        "additionalProperties": False,
        "properties": {
            "batch": {"$ref": "#/$defs/signedBatchHeader"},
            "anchor": {"$ref": "#/$defs/anchorOrNull"},
            "readings": {"type": "array", "maxItems": LIMITS.readings_per_batch,
                         "items": {"$ref": "#/$defs/signedReading"}},
            "records": {"type": "array", "maxItems": LIMITS.records_per_batch,
                        "items": {"$ref": "#/$defs/signedRecord"}},
            "proof": {"$ref": "#/$defs/multiProof"},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:trustmrv:schema:trustmrv-report-bundle-1",
        "title": f"TrustMRV report bundle ({FORMAT})",
        "description": "A report document, its registered hash, and the signed, anchored "
                       "evidence behind its measured figures: per batch, the readings and "
                       "records the report uses with one multiproof. Specified in "
                       "docs/protocol.md section 11. " + _UNEXPRESSED,
        "type": "object",
        "required": ["format", "report", "reportHash", "domain", "batches"],
        "additionalProperties": False,
        "properties": {
            "format": {"const": FORMAT},
            "report": {"$ref": report["$id"]},
            "reportHash": {"$ref": "#/$defs/hex32"},
            "domain": {"$ref": "#/$defs/domain"},
            "batches": {"type": "array", "maxItems": LIMITS.batches,
                        "items": {"$ref": "#/$defs/provenBatch"}},
            "summaries": {"type": "array", "minItems": 1, "maxItems": LIMITS.summaries,
                          "items": {"$ref": "#/$defs/emissionSummary"}},
        },
        "$defs": defs,
    }


def rendered() -> str:
    """The schema file's exact text."""
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the committed schema differs, write nothing")
    args = parser.parse_args(argv)
    text = rendered()
    if args.check:
        stale = not TARGET.exists() or TARGET.read_text("utf-8") != text
        if stale:
            print(f"stale: {TARGET}", file=sys.stderr)
        return 1 if stale else 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
