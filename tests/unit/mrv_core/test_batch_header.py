"""The signed batch header (EIP-712 ``Batch``): digest against eth-account, signing, and offline
verification of version 2 documents; version 1 documents still verify, as unsigned-header."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from eth_account.messages import _hash_eip191_message, encode_typed_data
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from factories import OTHER_KEY, TEST_DOMAIN, TEST_KEY, addresses, bytes32, sample_batch, uint64s
from mrv_core import (
    SAMPLE_DOMAIN,
    BatchFile,
    BatchHeader,
    Domain,
    FormatError,
    KeyFileError,
    ProofBundle,
    VerificationError,
    bundle_for_readings,
    recover_address,
    verify_file,
)
from mrv_core.bundle import BATCH_FORMAT, BATCH_FORMAT_V1, BUNDLE_FORMAT, BUNDLE_FORMAT_V1
from mrv_core.codec import UINT64_MAX, UINT256_MAX
from mrv_core.eip712 import BATCH_TYPE, BATCH_TYPEHASH, batch_digest, batch_typed_data
from mrv_core.hashing import keccak256

BATCH = sample_batch(9, batch_seq=5)
HEADER_FIELDS = ("device", "batchSeq", "root", "leafCount", "fromTimestamp", "toTimestamp")

headers = st.builds(
    BatchHeader,
    device=addresses,
    batch_seq=st.one_of(st.sampled_from([0, UINT64_MAX]), uint64s),
    root=bytes32,
    leaf_count=st.integers(min_value=1, max_value=2**32 - 1),
    from_timestamp=st.just(0),
    to_timestamp=st.one_of(st.sampled_from([0, UINT64_MAX]), uint64s),
)
domains = st.builds(Domain, chain_id=st.one_of(st.sampled_from([0, 1, 31337, UINT256_MAX]),
                                               st.integers(0, UINT256_MAX)),
                    verifying_contract=addresses)


def test_batch_type_hash_known_answer() -> None:
    assert BATCH_TYPE == ("Batch(address device,uint64 batchSeq,bytes32 root,uint32 leafCount,"
                          "uint64 fromTimestamp,uint64 toTimestamp)")
    assert BATCH_TYPEHASH == keccak256(BATCH_TYPE.encode("ascii"))


@settings(max_examples=200)
@given(header=headers, domain=domains)
@example(header=BatchHeader(b"\xff" * 20, UINT64_MAX, b"\xff" * 32, 2**32 - 1, UINT64_MAX,
                            UINT64_MAX), domain=Domain(UINT256_MAX, b"\xff" * 20))
def test_batch_digest_matches_eth_account(header: BatchHeader, domain: Domain) -> None:
    signable = encode_typed_data(full_message=batch_typed_data(header, domain))
    assert signable.header == domain.separator
    assert _hash_eip191_message(signable) == batch_digest(header, domain)


def test_typed_data_survives_a_reader_that_turns_numbers_into_doubles() -> None:
    """JavaScript reads every JSON number as a double; the document carries none."""
    header = dataclasses.replace(BATCH.header, batch_seq=2**53 + 1)
    domain = Domain(2**64 + 1, TEST_DOMAIN.verifying_contract)
    text = json.dumps(batch_typed_data(header, domain))
    as_javascript = json.loads(text, parse_int=float)
    digest = _hash_eip191_message(encode_typed_data(full_message=as_javascript))
    assert digest == batch_digest(header, domain)


def test_the_device_signs_its_header_and_no_other() -> None:
    assert BATCH.header_signature is not None
    assert recover_address(batch_digest(BATCH.header, TEST_DOMAIN),
                           BATCH.header_signature) == TEST_KEY.address
    with pytest.raises(KeyFileError, match="batch header names device"):
        OTHER_KEY.sign_batch(BATCH.header, TEST_DOMAIN)


# -- offline verification of the header ------------------------------------------------------------


def _write(tmp: Path, name: str, doc: dict[str, Any]) -> Path:
    path = tmp / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _failing_step(path: Path) -> str:
    with pytest.raises(VerificationError) as excinfo:
        verify_file(path)
    return excinfo.value.step


def _other_value(field: str, original: str, data: st.DataObject) -> str:
    """A valid value for ``field`` other than ``original``, so the document still parses."""
    if field == "device":
        value = "0x" + data.draw(addresses.filter(lambda a: "0x" + a.hex() != original.lower()),
                                 label=field).hex()
    elif field == "root":
        value = "0x" + data.draw(bytes32, label=field).hex()
    elif field == "leafCount":
        value = str(data.draw(st.integers(1, 2**32 - 1), label=field))
    elif field == "fromTimestamp":
        value = str(data.draw(st.integers(0, 1_900_000_000), label=field))
    elif field == "toTimestamp":
        value = str(data.draw(st.integers(1_000_000_000, UINT64_MAX), label=field))
    else:
        value = str(data.draw(uint64s, label=field))
    return value


def _tampered(doc: dict[str, Any], field: str, data: st.DataObject) -> dict[str, Any] | None:
    header = dict(doc["batch"])
    header[field] = _other_value(field, header[field], data)
    if header[field].lower() == doc["batch"][field].lower() or \
            int(header["fromTimestamp"]) > int(header["toTimestamp"]):
        return None  # not a change, or a reversed span that the parser refuses at 'format'
    return {**doc, "batch": header}


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(HEADER_FIELDS), positions=st.sampled_from([[0], [8], [1, 4, 7]]),
       data=st.data())
def test_every_header_field_of_a_v2_bundle_is_covered_offline(
        tmp_path: Path, field: str, positions: list[int], data: st.DataObject) -> None:
    doc = bundle_for_readings(BATCH, TEST_DOMAIN, positions).to_json()
    assert doc["format"] == BUNDLE_FORMAT
    verify_file(_write(tmp_path, "good.json", doc))
    tampered = _tampered(doc, field, data)
    if tampered is not None:
        assert _failing_step(_write(tmp_path, "tampered.json", tampered)) == "header"


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(HEADER_FIELDS), data=st.data())
def test_every_header_field_of_a_v2_batch_file_is_covered_offline(
        tmp_path: Path, field: str, data: st.DataObject) -> None:
    doc = BatchFile.of(BATCH, TEST_DOMAIN).to_json()
    assert doc["format"] == BATCH_FORMAT
    verify_file(_write(tmp_path, "good.json", doc))
    tampered = _tampered(doc, field, data)
    if tampered is not None:
        assert _failing_step(_write(tmp_path, "tampered.json", tampered)) == "header"


def test_a_header_signed_by_another_key_or_under_another_domain_fails(tmp_path: Path) -> None:
    bundle = bundle_for_readings(BATCH, TEST_DOMAIN, [2])
    foreign = dataclasses.replace(bundle, header_signature=OTHER_KEY.sign_digest(
        batch_digest(BATCH.header, TEST_DOMAIN)))
    assert _failing_step(_write(tmp_path, "a.json", foreign.to_json())) == "header"
    elsewhere = dataclasses.replace(bundle, header_signature=TEST_KEY.sign_batch(
        BATCH.header, SAMPLE_DOMAIN))
    assert _failing_step(_write(tmp_path, "b.json", elsewhere.to_json())) == "header"
    high_s = bytearray(bundle.header_signature or b"")
    high_s[32:64] = (0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
                     - int.from_bytes(high_s[32:64], "big")).to_bytes(32, "big")
    high_s[64] ^= 1  # the twin of a valid signature: rejected, never normalised
    twin = dataclasses.replace(bundle, header_signature=bytes(high_s))
    assert _failing_step(_write(tmp_path, "c.json", twin.to_json())) == "header"


def test_version_1_documents_still_verify_as_unsigned_header(tmp_path: Path) -> None:
    bundle = dataclasses.replace(bundle_for_readings(BATCH, TEST_DOMAIN, [3]),
                                 header_signature=None)
    batch_file = dataclasses.replace(BatchFile.of(BATCH, TEST_DOMAIN), header_signature=None)
    bundle_doc, batch_doc = bundle.to_json(), batch_file.to_json()
    assert (bundle_doc["format"], batch_doc["format"]) == (BUNDLE_FORMAT_V1, BATCH_FORMAT_V1)
    assert "signature" not in bundle_doc["batch"] and "signature" not in batch_doc["batch"]
    for name, doc in (("bundle.json", bundle_doc), ("batch.json", batch_doc)):
        verified = verify_file(_write(tmp_path, name, doc))
        assert verified.header_signed is False
    assert verify_file(_write(tmp_path, "v2.json", BatchFile.of(BATCH, TEST_DOMAIN)
                              .to_json())).header_signed is True


def test_the_signature_belongs_to_version_2_only() -> None:
    doc = bundle_for_readings(BATCH, TEST_DOMAIN, [0]).to_json()
    relabelled = {**doc, "format": BUNDLE_FORMAT_V1}
    with pytest.raises(FormatError, match=r"\$\.batch: unknown field\(s\): signature"):
        ProofBundle.from_json(relabelled)
    stripped = {**doc, "batch": {k: v for k, v in doc["batch"].items() if k != "signature"}}
    with pytest.raises(FormatError, match=r"\$\.batch: missing field\(s\): signature"):
        ProofBundle.from_json(stripped)
    bad = {**doc, "batch": {**doc["batch"], "signature": "0x" + "00" * 64}}
    with pytest.raises(FormatError, match=r"\$\.batch\.signature"):
        ProofBundle.from_json(bad)
