"""The uplink codec (mrv_core.uplink): round trips of requests and acks, and hostile bodies.

Every refusal is a typed FormatError naming the JSON path; size and count refusals are
DocumentTooLarge, a wrong Content-Encoding UnsupportedEncoding (a server's 413 and 415).
"""

from __future__ import annotations

import copy
import gzip
import json
import re
import zlib
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from factories import (
    METER_PATHS,
    OTHER_KEY,
    SITE_PATH,
    TEST_DOMAIN,
    TEST_KEY,
    sample_batch,
    signed_readings,
    signed_records,
)
from factories import readings as any_reading
from factories import records as any_record
from mrv_core.batch import SignedBatchHeader
from mrv_core.compression import gunzip_bounded, gzip_document
from mrv_core.eip712 import Domain
from mrv_core.errors import DocumentTooLarge, FormatError, UnsupportedEncoding
from mrv_core.reading import SignedReading
from mrv_core.records import (
    RECORD_KINDS,
    SCOPE_SITE,
    EmissionSummary,
    Gap,
    MeterChange,
    SignedRecord,
)
from mrv_core.uplink import (
    DOCUMENT_ORDER,
    KINDS,
    LIMITS,
    Status,
    UplinkLimits,
    UplinkRequest,
    Verdict,
    decode_ack,
    decode_request,
    encode_ack,
    encode_request,
    item_id,
    item_key,
)

READINGS = signed_readings(12, seed=5)
RECORDS = signed_records(8, seed=6)  # two of each: gap, meter change, meter and site summary
BATCHES = [sample_batch(3, seed=s, batch_seq=s) for s in range(3)]
HEADERS = [SignedBatchHeader(b.header, b.header_signature or b"") for b in BATCHES]


def request_of(readings: list[SignedReading] | None = None,
               headers: list[SignedBatchHeader] | None = None,
               records: list[SignedRecord] | None = None) -> UplinkRequest:
    return UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN,
                            [*(headers if headers is not None else HEADERS[:1]),
                             *(records if records is not None else RECORDS[:4]),
                             *(readings if readings is not None else READINGS[:3])])


def body_of(doc: Any) -> bytes:
    return gzip_document(json.dumps(doc).encode("utf-8"))


def base_doc() -> dict[str, Any]:
    return request_of().to_json()


# -- round trips ----------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(positions=st.lists(st.integers(0, len(READINGS) - 1), unique=True, max_size=12),
       records=st.permutations(RECORDS).flatmap(lambda rs: st.integers(0, 8).map(
           lambda n: rs[:n])),
       headers=st.lists(st.sampled_from(range(len(HEADERS))), unique=True, max_size=3),
       chain_id=st.integers(0, 2**256 - 1), contract=st.binary(min_size=20, max_size=20))
@example(positions=[0], records=[], headers=[], chain_id=0, contract=bytes(20))
def test_request_round_trips_through_gzip_json(positions: list[int],
                                               records: list[SignedRecord], headers: list[int],
                                               chain_id: int, contract: bytes) -> None:
    readings = [READINGS[p] for p in positions] or [READINGS[0]]
    # headers first, then records, then readings: the request puts them in processing order
    sent = [HEADERS[h] for h in headers] + records + readings
    request = UplinkRequest.of(TEST_KEY.address, Domain(chain_id, contract), sent)
    decoded = decode_request(encode_request(request), "gzip")
    assert decoded == request
    # processing order: readings, gaps, meter changes, summaries, batch headers; order kept
    # within a kind
    def of(kind: type) -> list[SignedRecord]:
        return [r for r in records if isinstance(r.record, kind)]
    assert decoded.items == (*readings, *of(Gap), *of(MeterChange), *of(EmissionSummary),
                             *[HEADERS[h] for h in headers])
    doc = request.to_json()
    assert [len(doc[name]) for name in ("gaps", "meterChanges", "summaries")] == [
        len(of(Gap)), len(of(MeterChange)), len(of(EmissionSummary))]


def _signed_item(draw: st.DrawFn) -> SignedReading | SignedRecord:
    """Any reading or record of TEST_KEY over its whole range, with an arbitrary 65-byte
    signature (the codec checks shapes; signatures are the verifier's)."""
    signature = draw(st.binary(min_size=65, max_size=65))
    if draw(st.booleans()):
        return SignedReading(draw(any_reading(device=TEST_KEY.address)), signature,
                             draw(st.sampled_from(METER_PATHS)))
    record = draw(any_record(device=TEST_KEY.address))
    site = isinstance(record, EmissionSummary) and record.scope_kind == SCOPE_SITE
    note = (draw(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40))
            if isinstance(record, MeterChange) else None)
    return SignedRecord(record, signature, SITE_PATH if site else METER_PATHS[0], note)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_items_over_their_whole_range_round_trip(data: st.DataObject) -> None:
    drawn = data.draw(st.lists(st.composite(_signed_item)(), min_size=1, max_size=20))
    unique = list({item_key(item): item for item in drawn}.values())
    request = UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN, unique)
    assert decode_request(encode_request(request), "gzip") == request


@settings(max_examples=60, deadline=None)
@given(statuses=st.lists(st.sampled_from(list(Status)), min_size=4, max_size=4),
       reason=st.text(min_size=1, max_size=LIMITS.string_chars), gzip_it=st.booleans())
def test_ack_round_trips_with_every_status(statuses: list[Status], reason: str,
                                           gzip_it: bool) -> None:
    request = request_of(READINGS[:3], HEADERS[:1], RECORDS[:4])
    verdicts = [Verdict(item_id(item), status, None if status in (Status.ACCEPTED,
                                                                  Status.DUPLICATE) else reason)
                for item, status in zip(request.items, statuses * 2, strict=True)]
    body = encode_ack(request, verdicts)
    ack = decode_ack(gzip_document(body) if gzip_it else body, "gzip" if gzip_it else None,
                     request)
    assert ack.verdicts == tuple(verdicts) and ack.device == TEST_KEY.address
    assert [v.delivered for v in ack.verdicts] == [s in ("accepted", "duplicate")
                                                   for s in statuses * 2]


def test_item_ids_and_keys() -> None:
    reading, header = READINGS[4], HEADERS[2]
    assert item_key(reading) == ("Reading", TEST_KEY.address, reading.reading.meter,
                                 reading.reading.seq)
    assert item_key(header) == ("Batch", TEST_KEY.address, 2)
    gap, change = RECORDS[0], RECORDS[1]
    assert isinstance(gap.record, Gap) and isinstance(change.record, MeterChange)
    assert item_key(gap) == ("Gap", TEST_KEY.address, gap.record.meter, gap.record.quantity,
                             gap.record.from_timestamp)
    assert item_key(change) == ("MeterChange", TEST_KEY.address, change.record.meter,
                                change.record.quantity, change.record.next_seq)
    ids = {item_id(item) for item in (*READINGS, *HEADERS, *RECORDS)}
    assert len(ids) == len(READINGS) + len(HEADERS) + len(RECORDS)


# -- hostile bodies: every refusal a FormatError at a JSON path -----------------------------

def _refused(body: bytes, where: str, match: str, error: type[FormatError] = FormatError,
             encoding: str | None = "gzip", limits: UplinkLimits = LIMITS) -> None:
    with pytest.raises(error, match=re.escape(match)) as info:
        decode_request(body, encoding, limits)
    assert info.value.where == where, str(info.value)


def test_gzip_bomb_is_refused_after_the_limit_not_inflated() -> None:
    limits = UplinkLimits(decompressed_bytes=1 << 20)
    packer = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    spaces = b" " * (1 << 20)
    bomb = b"".join([packer.compress(b"["), *(packer.compress(spaces) for _ in range(64)),
                     packer.compress(b"]"), packer.flush()])  # 64 MiB of JSON in 64 KiB
    assert len(bomb) < limits.compressed_bytes
    _refused(bomb, "$", "more than 1048576 bytes", DocumentTooLarge, limits=limits)


def test_compressed_body_over_its_limit_is_refused_before_inflating() -> None:
    limits = UplinkLimits(compressed_bytes=100)
    _refused(b"\x1f\x8b" + bytes(200), "$", "body is 202 bytes, limit 100", DocumentTooLarge,
             limits=limits)


@pytest.mark.parametrize("encoding", [None, "", "identity", "deflate", "br", "gzip, gzip"])
def test_content_encoding_other_than_gzip_is_refused(encoding: str | None) -> None:
    _refused(body_of(base_doc()), "$", "Content-Encoding must be gzip", UnsupportedEncoding,
             encoding=encoding)


@pytest.mark.parametrize(("body", "match"), [
    (gzip_document(b"{}") + b"x", "1 bytes after the gzip member"),
    (gzip_document(b"{}") + gzip_document(b"{}"), "after the gzip member"),
    (gzip_document(b'{"a": 1}')[:-6], "truncated"),
    (zlib.compress(b"{}"), "not a gzip stream"),
    (b"{}", "not a gzip stream"),
    (b"", "truncated"),
])
def test_broken_gzip_framing_is_refused(body: bytes, match: str) -> None:
    _refused(body, "$", match)


def test_trailing_garbage_after_the_json_is_refused() -> None:
    text = json.dumps(base_doc()).encode() + b" {}"
    _refused(gzip_document(text), "$", "Extra data")


def test_deep_nesting_is_refused_before_parsing() -> None:
    _refused(gzip_document(b"[" * 100_000 + b"]" * 100_000), "$", "nested deeper than 4")
    doc = base_doc()
    doc["readings"][0]["salt"] = [[["0x00"]]]
    _refused(body_of(doc), "$", "nested deeper than 4")


def test_huge_counts_are_refused_before_decoding_items() -> None:
    doc = base_doc()
    doc["readings"] = ["x"] * (LIMITS.readings + 1)
    _refused(body_of(doc), "$.readings", f"has {LIMITS.readings + 1} items, limit",
             DocumentTooLarge)
    doc = base_doc()
    doc["batches"] = doc["batches"] * (LIMITS.batches + 1)
    _refused(body_of(doc), "$.batches", "items, limit", DocumentTooLarge)


def test_long_strings_are_refused_at_their_path() -> None:
    doc = base_doc()
    doc["readings"][1]["meterPath"] = "a/b/c/d/" + "e" * 5000
    _refused(body_of(doc), "$.readings[1].meterPath", "string of 5008 characters, limit 4096")
    doc = base_doc()
    doc["x" * 4097] = 1
    _refused(body_of(doc), "$", "key of 4097 characters")


def _set(path: str, value: Any) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = doc
        for part in parents:
            node = node[part]
        node[last] = value
    return mutate


def _delete(path: str) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part) if part.isdigit() else part]
        del node[last]
    return mutate


OTHER_READING = signed_readings(1, seed=9, key=OTHER_KEY)[0]

#: name -> (mutation, JSON path named, message fragment)
HOSTILE: dict[str, tuple[Any, str, str]] = {
    "wrong format": (_set("format", "trustmrv-uplink/2"), "$.format", "expected"),
    "format as a number": (_set("format", 1), "$.format", "expected"),
    "unknown top-level field": (_set("note", "x"), "$", "unknown field"),
    "unknown reading field": (_set("readings.0.unit", "Wh"), "$.readings[0]", "unknown field"),
    "unknown batch field": (_set("batches.0.extra", "1"), "$.batches[0]", "unknown field"),
    "missing readings": (_delete("readings"), "$", "missing field"),
    "missing header signature": (_delete("batches.0.signature"), "$.batches[0]",
                                 "missing field"),
    "readings not an array": (_set("readings", {}), "$.readings", "expected an array"),
    "reading not an object": (_set("readings.1", "r"), "$.readings[1]", "expected an object"),
    "seq as a JSON number": (_set("readings.0.seq", 5), "$.readings[0].seq", "expected a base-10"),
    "seq as a boolean": (_set("readings.0.seq", True), "$.readings[0].seq", "expected a base-10"),
    "value as null": (_set("readings.2.value", None), "$.readings[2].value", "expected a base-10"),
    "salt bad hex": (_set("readings.0.salt", "0x" + "zz" * 32), "$.readings[0].salt",
                     "not 0x-prefixed hex"),
    "salt short": (_set("readings.0.salt", "0x" + "00" * 31), "$.readings[0].salt",
                   "expected 32 bytes"),
    "signature odd digits": (_set("readings.1.signature", "0x" + "0" * 129),
                             "$.readings[1].signature", "odd number"),
    "header signature short": (_set("batches.0.signature", "0x" + "11" * 64),
                               "$.batches[0].signature", "expected 65 bytes"),
    "device bad checksum": (_set("device", "0x7e5F4552091A69125d5DfCb7b8C2659029395Bdf"),
                            "$.device", "checksum"),
    "domain wrong name": (_set("domain.name", "Other"), "$.domain.name", "expected"),
    "meter path with three levels": (_set("readings.0.meterPath", "a/b/c"),
                                     "$.readings[0].meterPath", "levels"),
    "unknown quantity": (_set("readings.0.quantity", "energy:kWh"), "$.readings[0]",
                         "quantity"),
    "leafCount zero": (_set("batches.0.leafCount", "0"), "$.batches[0].leafCount", "outside"),
    "another device's reading": (_set("readings.1", None), "$.readings[1].device",
                                 "expected the document's device"),
    "a reading twice": (_set("readings.2", None), "$.readings[2]", "repeats the identity of "
                                                                   "$.readings[0]"),
    "no items": (lambda d: d.update(readings=[], batches=[], gaps=[], meterChanges=[],
                                    summaries=[]), "$", "no items"),
    "a meter change among gaps": (lambda d: d["gaps"].append(d["meterChanges"][0]),
                                  "$.gaps[1].type", "expected 'Gap' in gaps, got 'MeterChange'"),
    "unknown record type": (_set("gaps.0.type", "Outage"), "$.gaps[0].type", "expected one of"),
    "meter change without its note": (_delete("meterChanges.0.noteText"), "$.meterChanges[0]",
                                      "missing field"),
    "gap with a note": (_set("gaps.0.noteText", "x"), "$.gaps[0]", "unknown field"),
    "error class unknown": (_set("gaps.0.errorClass", "cosmic_ray"), "$.gaps[0]", "errorClass"),
    "note longer than any": (_set("meterChanges.0.noteText", "n" * 4097),
                             "$.meterChanges[0].noteText", "string of 4097 characters"),
    "summary period bad digits": (_set("summaries.0.periodStart", "01"),
                                  "$.summaries[0].periodStart", "not a canonical"),
    "document an array": (lambda d: d.clear(), "$", "missing field"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_document_refused_at_its_json_path(name: str) -> None:
    mutate, where, match = HOSTILE[name]
    doc = copy.deepcopy(base_doc())
    mutate(doc)
    if name == "another device's reading":
        doc["readings"][1] = request_of([OTHER_READING]).to_json()["readings"][0]
    if name == "a reading twice":
        doc["readings"][2] = copy.deepcopy(doc["readings"][0])
    _refused(body_of(doc), where, match)


def test_duplicate_keys_and_floats_are_refused() -> None:
    text = json.dumps(base_doc())
    doubled = text.replace('"format": ', '"format": "x", "format": ', 1)
    _refused(gzip_document(doubled.encode()), "$", "duplicate key")
    floated = text.replace('"readings": [', '"readings": [1.5, ', 1)
    _refused(gzip_document(floated.encode()), "$", "float")


# -- acks that do not answer the request ------------------------------------------------------

def _ack_doc(request: UplinkRequest) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(encode_ack(request, [Verdict(item_id(i), Status.ACCEPTED)
                                                          for i in request.items]))
    return doc


@pytest.mark.parametrize(("mutate", "where", "match"), [
    (_set("readings.0.id", "0x" + "00" * 32), "$.readings[0].id", "expected the item's id"),
    (lambda d: d["readings"].pop(), "$.readings", "expected 3 verdicts, got 2"),
    (lambda d: d["batches"].append(d["batches"][0]), "$.batches", "expected 1 verdicts, got 2"),
    (_set("readings.1.status", "ok"), "$.readings[1].status", "expected one of"),
    (_set("readings.1.reason", "why"), "$.readings[1].reason", "has no reason"),
    (_set("readings.1.status", "rejected"), "$.readings[1].reason", "needs a reason"),
    (_set("readings.1.reason", ""), "$.readings[1].reason", "non-empty string"),
    (_set("device", "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"), "$.device", "expected"),
    (_set("format", "trustmrv-uplink/1"), "$.format", "expected"),
    (_set("extra", []), "$", "unknown field"),
])
def test_ack_not_matching_its_request_is_refused(mutate: Any, where: str, match: str) -> None:
    request = request_of()
    doc = _ack_doc(request)
    mutate(doc)
    with pytest.raises(FormatError, match=match) as info:
        decode_ack(json.dumps(doc).encode(), "identity", request)
    assert info.value.where == where


def test_ack_bomb_and_encoding_refused() -> None:
    request = request_of()
    with pytest.raises(DocumentTooLarge):
        decode_ack(gzip.compress(b" " * (LIMITS.ack_bytes + 1)), "gzip", request)
    with pytest.raises(UnsupportedEncoding):
        decode_ack(b"{}", "br", request)


def test_gunzip_bounded_accepts_exactly_the_limit() -> None:
    data = b"a" * 1000
    assert gunzip_bounded(gzip_document(data), 1000) == data
    with pytest.raises(DocumentTooLarge):
        gunzip_bounded(gzip_document(data), 999)


def test_the_document_order_ranks_every_leaf_kind_as_the_kinds_are_processed() -> None:
    assert DOCUMENT_ORDER == {"reading": 0, "gap": 1, "meter_change": 2,
                              "emission_summary": 3, "batch": 4}
    assert set(RECORD_KINDS.values()) < set(DOCUMENT_ORDER)
    assert [kind.name for kind in sorted(KINDS, key=lambda k: DOCUMENT_ORDER[k.leaf_kind])] == \
        ["readings", "gaps", "meterChanges", "summaries", "batches"]
