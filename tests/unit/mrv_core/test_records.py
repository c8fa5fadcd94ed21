"""Signed records: type strings as the protocol fixes them, hashing against independent oracles
(eth_utils keccak, eth_abi, eth-account's EIP-712 encoder), constructor checks, signing and
recovery, and the strict wire codec."""

from __future__ import annotations

import copy
import dataclasses
import random
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils.crypto import keccak
from hypothesis import given
from hypothesis import strategies as st

from factories import (
    OTHER_KEY,
    SITE_PATH,
    TEST_DOMAIN,
    TEST_KEY,
    make_records,
    readings,
    records,
    signed_records,
)
from mrv_core import SAMPLE_DOMAIN, Domain, FormatError, KeyFileError, VerificationError
from mrv_core.codec import UINT64_MAX
from mrv_core.eip712 import READING_TYPEHASH, leaf_hash
from mrv_core.errors import InvalidMeterPath, InvalidRecord
from mrv_core.reading import site_id
from mrv_core.records import (
    RECORD_TYPES,
    EmissionSummary,
    MeterChange,
    Record,
    SignedRecord,
    note_hash,
    record_digest,
    record_leaf,
    record_struct_hash,
    record_typed_data,
)
from mrv_core.signing import recover_address
from mrv_core.verify import verify_signed_record
from mrv_core.wire import decode_signed_record, encode_signed_record

#: The type strings exactly as the issue-9 brief fixes them (Gap, MeterChange) and as
#: docs/protocol.md section 9 states them (EmissionSummary).
BRIEF_TYPES = {
    "Gap": "Gap(address device,bytes32 meter,bytes32 quantity,uint64 nextSeq,uint64 fromTimestamp,"
           "uint64 toTimestamp,uint32 failedPolls,bytes32 errorClass,bytes32 salt)",
    "MeterChange": "MeterChange(address device,bytes32 meter,bytes32 quantity,uint64 nextSeq,"
                   "uint64 timestamp,int256 oldFinal,int256 newInitial,bytes32 note,bytes32 salt)",
    "EmissionSummary": "EmissionSummary(address device,uint8 scopeKind,bytes32 scopeId,"
                       "bytes32 source,bytes32 quantity,bytes32 methodology,"
                       "uint32 methodologyVersion,uint64 periodStart,uint64 periodEnd,"
                       "uint256 activity,uint256 emissions,uint32 readingCount,uint32 gapCount,"
                       "uint32 bridgedGapCount,uint64 bridgedSeconds,uint32 unexplainedDecreases,"
                       "bytes32 salt)",
}
DOMAINS = st.sampled_from([TEST_DOMAIN, SAMPLE_DOMAIN,
                           Domain(chain_id=2**256 - 1, verifying_contract=b"\xff" * 20)])
SIGNED = signed_records(4)


@pytest.mark.parametrize("name", list(BRIEF_TYPES))
def test_type_strings_and_hashes_are_the_protocols(name: str) -> None:
    cls = RECORD_TYPES[name]
    assert cls.TYPE == BRIEF_TYPES[name]
    assert cls.TYPEHASH == keccak(text=BRIEF_TYPES[name])


def test_type_hashes_differ_from_each_other_and_from_the_readings() -> None:
    hashes = {cls.TYPEHASH for cls in RECORD_TYPES.values()} | {READING_TYPEHASH}
    assert len(hashes) == 4


def _abi_values(record: Record) -> list[Any]:
    values: list[Any] = [record.TYPEHASH]
    for spec in record.FIELDS:
        value = getattr(record, spec.attr)
        if spec.kind in ("code", "quantity"):
            value = value.encode("ascii").ljust(32, b"\0")
        elif spec.kind == "address":
            value = "0x" + value.hex()
        values.append(value)
    return values


@given(record=records(), domain=DOMAINS)
def test_hashes_match_eth_abi_and_eth_account(record: Record, domain: Domain) -> None:
    types = ["bytes32", *(spec.abi for spec in record.FIELDS)]
    encoded = abi_encode(types, _abi_values(record))
    assert record.encode() == encoded
    assert record_struct_hash(record) == keccak(encoded)
    assert record_leaf(record) == keccak(keccak(encoded))
    signable = encode_typed_data(full_message=record_typed_data(record, domain))
    assert signable.header == domain.separator
    assert signable.body == record_struct_hash(record)
    assert _hash_eip191_message(signable) == record_digest(record, domain)


@given(record=records(), reading=readings())
def test_no_record_leaf_is_a_reading_leaf(record: Record, reading: Any) -> None:
    # The words after the type hash may coincide; the type hash that opens each encoding cannot.
    assert record.encode()[:32] != READING_TYPEHASH
    assert record_leaf(record) != leaf_hash(reading)


@given(record=records())
def test_every_field_changes_the_struct_hash(record: Record) -> None:
    original = record_struct_hash(record)
    for spec in record.FIELDS:
        value = getattr(record, spec.attr)
        if isinstance(value, bytes):
            changed: Any = bytes([value[0] ^ 1]) + value[1:]
        elif isinstance(value, str):
            continue  # codes: covered by the eth_abi oracle above
        else:
            changed = value - 1 if value > max(spec.bound[0], 1) else value + 1
        try:
            mutated = dataclasses.replace(record, **{spec.attr: changed})  # type: ignore[arg-type]
        except InvalidRecord:
            continue  # the change broke a cross-field rule (e.g. from > to)
        assert record_struct_hash(mutated) != original, spec.name


def test_typed_data_carries_integers_as_decimal_strings_and_codes_as_hex() -> None:
    gap = SIGNED[0].record
    message = record_typed_data(gap, TEST_DOMAIN)["message"]
    assert isinstance(message, dict)
    assert message["nextSeq"] == str(gap.next_seq)  # type: ignore[union-attr]
    assert message["errorClass"] == "0x" + gap.error_class.encode().ljust(32, b"\0").hex()  # type: ignore[union-attr]
    assert message["quantity"].startswith("0x656e65726779")


@pytest.mark.parametrize("index", range(4))
def test_signed_records_recover_their_device_and_verify(index: int) -> None:
    signed = SIGNED[index]
    assert recover_address(record_digest(signed.record, TEST_DOMAIN), signed.signature) == \
        TEST_KEY.address
    assert verify_signed_record(signed, TEST_DOMAIN) == record_leaf(signed.record)


def test_a_key_refuses_to_sign_another_devices_record() -> None:
    record, path, _ = make_records(random.Random(1), OTHER_KEY.address)[0]
    with pytest.raises(KeyFileError, match="names device"):
        TEST_KEY.sign_record(record, TEST_DOMAIN, path)


def _step(signed: SignedRecord, domain: Domain = TEST_DOMAIN) -> str:
    with pytest.raises(VerificationError) as excinfo:
        verify_signed_record(signed, domain)
    return excinfo.value.step


def test_verification_names_the_failed_step() -> None:
    gap, change, meter_summary, site_summary = SIGNED
    other_meter = "demo-co/wuxi-plant/assembly/line-1/other"
    assert _step(dataclasses.replace(gap, path=other_meter)) == "meter"
    assert _step(dataclasses.replace(change, note=change.note + "!")) == "meter"  # type: ignore[operator]
    assert _step(dataclasses.replace(site_summary, path="demo-co/other-plant")) == "meter"
    assert _step(gap, SAMPLE_DOMAIN) == "signature"
    forged = dataclasses.replace(meter_summary, record=dataclasses.replace(
        meter_summary.record, emissions=meter_summary.record.emissions + 1))  # type: ignore[union-attr]
    assert _step(forged) == "signature"
    high_v = dataclasses.replace(gap, signature=gap.signature[:64] + b"\x1d")
    assert _step(high_v) == "signature"


# -- constructor checks ---------------------------------------------------------------------------

GAP = SIGNED[0].record
CHANGE = SIGNED[1].record
SUMMARY = SIGNED[2].record
BAD_FIELDS = [
    (GAP, "device", b"\x01" * 19, "20 bytes"),
    (GAP, "meter", "0x" + "00" * 32, "32 bytes"),
    (GAP, "quantity", "bogus:Wh", "registered quantity"),
    (GAP, "next_seq", UINT64_MAX + 1, "outside"),
    (GAP, "next_seq", True, "must be an int"),
    (GAP, "from_timestamp", -1, "outside"),
    (GAP, "to_timestamp", 0, "fromTimestamp"),
    (GAP, "failed_polls", 0, "at least 1"),
    (GAP, "failed_polls", 2**32, "outside"),
    (GAP, "error_class", "timeout ", "code"),
    (GAP, "error_class", "flood", "not one of"),
    (GAP, "salt", bytearray(32), "32 bytes"),
    (CHANGE, "quantity", "power.active:W", "cumulative"),
    (CHANGE, "quantity", "voltage:mV", "cumulative"),
    (CHANGE, "old_final", -1, "negative"),
    (CHANGE, "new_initial", 2**255, "outside"),
    (CHANGE, "note", b"", "32 bytes"),
    (SUMMARY, "scope_kind", 0, "meter"),
    (SUMMARY, "scope_kind", 256, "outside"),
    (SUMMARY, "source", "electricity grid", "code"),
    (SUMMARY, "methodology", "", "code"),
    (SUMMARY, "methodology_version", 0, "at least 1"),
    (SUMMARY, "period_end", SUMMARY.timespan()[0], "below"),  # type: ignore[union-attr]
    (SUMMARY, "activity", 2**256, "outside"),
    (SUMMARY, "emissions", -1, "outside"),
    (SUMMARY, "reading_count", 2**32, "outside"),
    (SUMMARY, "bridged_seconds", 2**64, "outside"),
    (SUMMARY, "quantity", "current:mA", "cumulative"),
]


@pytest.mark.parametrize(("record", "attr", "value", "message"), BAD_FIELDS,
                         ids=[f"{type(r).__name__}.{a}={v!r:.20}" for r, a, v, _ in BAD_FIELDS])
def test_constructor_refuses_a_bad_field(record: Record, attr: str, value: Any,
                                         message: str) -> None:
    with pytest.raises(InvalidRecord, match=message):
        dataclasses.replace(record, **{attr: value})  # type: ignore[arg-type]


def test_bridged_seconds_need_a_bridged_gap() -> None:
    with pytest.raises(InvalidRecord, match="no bridged gap"):
        dataclasses.replace(SUMMARY, bridged_gap_count=0)  # type: ignore[type-var]


def test_signed_record_checks_path_note_and_signature_shapes() -> None:
    gap, change, _, site_summary = SIGNED
    with pytest.raises(InvalidMeterPath):
        dataclasses.replace(gap, path=SITE_PATH)  # a gap names a meter
    with pytest.raises(InvalidMeterPath):
        dataclasses.replace(site_summary, path=gap.path)  # a site summary names a site
    with pytest.raises(InvalidRecord, match="note text"):
        dataclasses.replace(change, note=None)
    with pytest.raises(InvalidRecord, match="carries no note"):
        dataclasses.replace(gap, note="")
    with pytest.raises(InvalidRecord, match="65 bytes"):
        dataclasses.replace(gap, signature=gap.signature[:64])
    with pytest.raises(InvalidRecord, match="UTF-8 bytes"):
        note_hash("x" * 4097)
    with pytest.raises(InvalidRecord, match="surrogates"):
        note_hash("\ud800")
    assert site_id(SITE_PATH) == keccak(text=SITE_PATH)
    assert note_hash("换表") == keccak("换表".encode())


# -- wire codec -----------------------------------------------------------------------------------


@given(record=records(device=TEST_KEY.address), note=st.text(max_size=40))
def test_wire_round_trip(record: Record, note: str) -> None:
    if isinstance(record, MeterChange):
        record = dataclasses.replace(record, note=note_hash(note))
    site = isinstance(record, EmissionSummary) and record.scope_kind == 2
    path = SITE_PATH if site else "demo-co/wuxi-plant/assembly/line-1/main-incomer"
    signed = SignedRecord(record, b"\x01" * 65, path,
                          note if isinstance(record, MeterChange) else None)
    encoded = encode_signed_record(signed)
    assert all(isinstance(value, str) for value in encoded.values())
    assert decode_signed_record(copy.deepcopy(encoded), "$.r") == signed


WIRE_MUTATIONS = [
    (0, "type", "Reading", "$.r.type"),
    (0, "type", ["Gap"], "$.r.type"),
    (0, "type", None, "$.r.type"),
    (0, "extra", "1", "unknown field"),
    (0, "failedPolls", 3, "$.r.failedPolls"),
    (0, "failedPolls", "03", "$.r.failedPolls"),
    (0, "failedPolls", "0", "$.r: "),
    (0, "nextSeq", str(2**64), "$.r.nextSeq"),
    (0, "meter", "0x12", "$.r.meter"),
    (0, "device", "0x7e5f4552091a69125d5dfcb7b8c2659029395BDF", "$.r.device"),
    (0, "errorClass", 5, "$.r.errorClass"),
    (0, "signature", "0x00", "$.r.signature"),
    (0, "path", "demo-co/wuxi-plant", "$.r.path"),
    (1, "noteText", None, "$.r.noteText"),
    (1, "oldFinal", "-1", "negative"),
    (2, "scopeKind", "3", "$.r: "),
    (2, "periodEnd", "-1", "$.r.periodEnd"),
]


@pytest.mark.parametrize(("index", "key", "value", "where"), WIRE_MUTATIONS)
def test_wire_decoder_names_the_bad_field(index: int, key: str, value: Any, where: str) -> None:
    doc: dict[str, Any] = encode_signed_record(SIGNED[index])
    doc[key] = value
    with pytest.raises(FormatError) as excinfo:
        decode_signed_record(doc, "$.r")
    assert where in str(excinfo.value)


def test_wire_decoder_refuses_missing_fields_and_notes_on_other_kinds() -> None:
    doc: dict[str, Any] = encode_signed_record(SIGNED[1])
    del doc["noteText"]
    with pytest.raises(FormatError, match="missing field"):
        decode_signed_record(doc, "$.r")
    gap: dict[str, Any] = encode_signed_record(SIGNED[0])
    gap["noteText"] = ""
    with pytest.raises(FormatError, match="unknown field"):
        decode_signed_record(gap, "$.r")
    with pytest.raises(FormatError, match=r"\$\.r\.type"):
        decode_signed_record([], "$.r")


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)


@given(index=st.integers(0, 3), data=st.data(), value=JSON)
def test_any_json_in_any_field_decodes_or_is_a_format_error(index: int, data: st.DataObject,
                                                            value: Any) -> None:
    doc: dict[str, Any] = encode_signed_record(SIGNED[index])
    key = data.draw(st.sampled_from([*doc, "extra"]))
    doc[key] = value
    try:
        decoded = decode_signed_record(doc, "$.r")
    except FormatError as exc:
        assert exc.where.startswith("$.r")
    else:
        assert encode_signed_record(decoded) == doc
