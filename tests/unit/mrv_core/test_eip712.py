"""The hand-packed EIP-712 fast path against independent oracles (eth-account, eth-abi)."""

import dataclasses
import json

import pytest
from eth_abi import encode as abi_encode
from eth_account.messages import _hash_eip191_message, encode_typed_data
from hypothesis import example, given, settings
from hypothesis import strategies as st

from factories import LEAF_ENCODING, TEST_DOMAIN, addresses, leaf_values, readings, uint64s
from mrv_core import SAMPLE_DOMAIN, Domain, Reading
from mrv_core.eip712 import (
    READING_TYPEHASH,
    encode_reading_fields,
    encode_struct,
    leaf_hash,
    reading_digest,
    struct_hash,
    typed_data,
)
from mrv_core.hashing import keccak256

domains = st.builds(Domain, chain_id=st.one_of(st.just(1), uint64s), verifying_contract=addresses)


def test_type_hash_known_answer() -> None:
    assert READING_TYPEHASH == keccak256(
        b"Reading(address device,bytes32 meter,uint64 seq,uint64 timestamp,bytes32 quantity,"
        b"int256 value,bytes32 salt)")


@settings(max_examples=300)
@given(reading=readings(), domain=domains)
@example(reading=Reading(bytes(20), bytes(32), 0, 0, "power.active:W", -(2**255), bytes(32)),
         domain=SAMPLE_DOMAIN)
def test_digest_matches_eth_account(reading: Reading, domain: Domain) -> None:
    signable = encode_typed_data(full_message=typed_data(reading, domain))
    assert signable.header == domain.separator
    assert signable.body == struct_hash(reading)
    assert _hash_eip191_message(signable) == reading_digest(reading, domain)


@settings(max_examples=300)
@given(readings())
def test_leaf_matches_openzeppelin_standard_leaf(reading: Reading) -> None:
    # StandardMerkleTree leaf: keccak256(keccak256(abi.encode(values))).
    encoded = abi_encode(LEAF_ENCODING, leaf_values(reading))
    assert encoded == encode_struct(reading)
    assert leaf_hash(reading) == keccak256(keccak256(encoded))


@given(readings())
def test_encoding_from_fields_is_the_abi_encoding_of_the_leaf_values(reading: Reading) -> None:
    fields = (reading.device, reading.meter, reading.seq, reading.timestamp, reading.quantity,
              reading.value, reading.salt)
    assert encode_reading_fields(*fields) == abi_encode(LEAF_ENCODING, leaf_values(reading))


def test_encoding_from_fields_refuses_a_seq_past_its_word_and_an_unknown_quantity() -> None:
    reading = Reading(device=bytes(20), meter=bytes(32), seq=0, timestamp=0,
                      quantity="energy.active.import:Wh", value=0, salt=bytes(32))
    with pytest.raises(OverflowError):
        encode_reading_fields(reading.device, reading.meter, 2**256, 0, reading.quantity, 0,
                              reading.salt)
    with pytest.raises(KeyError):
        encode_reading_fields(reading.device, reading.meter, 0, 0, "no.such:unit", 0,
                              reading.salt)


def test_every_field_changes_the_digest() -> None:
    base = Reading(b"\x01" * 20, b"\x02" * 32, 3, 4, "heat:kJ", 5, b"\x06" * 32)
    digests = {reading_digest(base, TEST_DOMAIN)}
    for change in ({"device": b"\x09" * 20}, {"meter": b"\x09" * 32}, {"seq": 4},
                   {"timestamp": 5}, {"quantity": "mass.fuel:g"}, {"value": 6},
                   {"salt": b"\x09" * 32}):
        digests.add(reading_digest(dataclasses.replace(base, **change), TEST_DOMAIN))
    other_chain = Domain(1, TEST_DOMAIN.verifying_contract)
    other_contract = Domain(TEST_DOMAIN.chain_id, b"\x01" * 20)
    digests.add(reading_digest(base, other_chain))
    digests.add(reading_digest(base, other_contract))
    assert len(digests) == 10


def test_sample_domain_is_no_chains_domain() -> None:
    assert SAMPLE_DOMAIN.chain_id == 0 and SAMPLE_DOMAIN.verifying_contract == bytes(20)
    assert SAMPLE_DOMAIN.is_sample and not TEST_DOMAIN.is_sample


@given(reading=readings(), domain=domains)
@example(reading=Reading(bytes(20), bytes(32), 2**64 - 1, 2**53 + 1, "power.active:W",
                         -(2**255), bytes(32)), domain=Domain(2**64 + 1, bytes(20)))
def test_typed_data_carries_integers_as_strings_a_javascript_reader_keeps(
        reading: Reading, domain: Domain) -> None:
    """JavaScript (and any reader that turns JSON numbers into doubles) rounds above 2^53;
    decimal strings survive it, so the document hashes to the same digest after the trip."""
    document = typed_data(reading, domain)
    message = document["message"]
    assert isinstance(message, dict) and all(isinstance(v, str) for v in message.values())
    as_javascript = json.loads(json.dumps(document), parse_int=float)
    assert _hash_eip191_message(encode_typed_data(full_message=as_javascript)) == \
        reading_digest(reading, domain)
