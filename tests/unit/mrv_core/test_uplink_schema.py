"""The uplink JSON Schemas in docs/schemas/ are what scripts/uplink_schemas.py writes, and agree
with the decoder (mrv_core.uplink): documents our code writes validate, hostile ones are refused
by both. Rules the schema cannot express are listed in its description."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from factories import (
    TEST_DOMAIN,
    TEST_KEY,
    load_script,
    sample_batch,
    signed_readings,
    signed_records,
)
from mrv_core.batch import SignedBatchHeader
from mrv_core.compression import gzip_document
from mrv_core.errors import FormatError
from mrv_core.quantities import QUANTITIES
from mrv_core.uplink import (
    LIMITS,
    Status,
    UplinkRequest,
    Verdict,
    decode_ack,
    decode_request,
    encode_ack,
    item_id,
)

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8")))


def request() -> UplinkRequest:
    batch = sample_batch(4, seed=2, batch_seq=7)
    assert batch.header_signature is not None
    readings = signed_readings(6, seed=3) + list(batch.readings)
    return UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN,
                            [*readings, *signed_records(8, seed=4),
                             SignedBatchHeader(batch.header, batch.header_signature)])


def test_committed_schemas_are_what_the_script_writes() -> None:
    script = load_script("uplink_schemas")
    for path, text in script.rendered().items():
        assert path.read_text("utf-8") == text, f"{path.name} is stale: run the script"
    assert script.main(["--check"]) == 0


@pytest.mark.parametrize("name", ["trustmrv-uplink-1", "trustmrv-uplink-ack-1"])
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    Draft202012Validator.check_schema(validator(name).schema)


def test_schema_lists_every_registered_quantity_and_the_limits() -> None:
    schema = validator("trustmrv-uplink-1").schema
    assert schema["$defs"]["signedReading"]["properties"]["quantity"]["enum"] == list(QUANTITIES)
    assert schema["properties"]["readings"]["maxItems"] == LIMITS.readings
    assert schema["properties"]["batches"]["maxItems"] == LIMITS.batches


def test_documents_our_code_writes_validate() -> None:
    req = request()
    assert list(validator("trustmrv-uplink-1").iter_errors(req.to_json())) == []
    statuses = list(Status) * 5
    verdicts = [Verdict(item_id(item), s, None if s in ("accepted", "duplicate") else "because")
                for item, s in zip(req.items, statuses, strict=False)]
    ack = json.loads(encode_ack(req, verdicts))
    assert list(validator("trustmrv-uplink-ack-1").iter_errors(ack)) == []


MUTATIONS: dict[str, Any] = {
    "no items": lambda d: d.update(readings=[], batches=[], gaps=[], meterChanges=[],
                                   summaries=[]),
    "gap in meter changes": lambda d: d["meterChanges"].append(d["gaps"][0]),
    "gap failedPolls as a number": lambda d: d["gaps"][0].update(failedPolls=1),
    "gap unknown error class": lambda d: d["gaps"][0].update(errorClass="cosmic_ray"),
    "meter change without note text": lambda d: d["meterChanges"][0].pop("noteText"),
    "summary with a note": lambda d: d["summaries"][0].update(noteText=""),
    "summary source with a space": lambda d: d["summaries"][0].update(source="grid power"),
    "unknown field": lambda d: d.update(extra="1"),
    "missing domain": lambda d: d.pop("domain"),
    "wrong format": lambda d: d.update(format="trustmrv-uplink/0"),
    "seq as a number": lambda d: d["readings"][0].update(seq=1),
    "salt 31 bytes": lambda d: d["readings"][0].update(salt="0x" + "00" * 31),
    "header without signature": lambda d: d["batches"][0].pop("signature"),
    "reading with a unit": lambda d: d["readings"][0].update(unit="Wh"),
    "unknown quantity": lambda d: d["readings"][0].update(quantity="x:Wh"),
    "too many batches": lambda d: d.update(batches=d["batches"] * (LIMITS.batches + 1)),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_hostile_request_refused_by_schema_and_decoder(name: str) -> None:
    doc = copy.deepcopy(request().to_json())
    MUTATIONS[name](doc)
    assert not validator("trustmrv-uplink-1").is_valid(doc)
    with pytest.raises(FormatError):
        decode_request(gzip_document(json.dumps(doc).encode()), "gzip")


@pytest.mark.parametrize("change", [{"status": "accepted", "reason": "x"},
                                    {"status": "rejected", "reason": None},
                                    {"status": "lost", "reason": None},
                                    {"status": "conflict", "reason": ""}])
def test_hostile_ack_refused_by_schema_and_decoder(change: dict[str, Any]) -> None:
    req = request()
    ack = json.loads(encode_ack(req, [Verdict(item_id(i), Status.ACCEPTED) for i in req.items]))
    ack["readings"][0].update(change)
    assert not validator("trustmrv-uplink-ack-1").is_valid(ack)
    with pytest.raises(FormatError):
        decode_ack(json.dumps(ack).encode(), None, req)
