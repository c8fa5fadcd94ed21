"""Wallet-ready typed data: a real node (anvil) signs our EIP-712 documents as written, for
extreme values, and the product verifies what it signed.

anvil's ``eth_signTypedData_v4`` refuses a JSON number for a large or negative ``int256``, and a
JavaScript wallet would round any number above 2^53; the documents carry integers as decimal
strings, which every EIP-712 implementation accepts.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from web3 import HTTPProvider, Web3

from mrv_core import (
    BatchHeader,
    Domain,
    Reading,
    SignedReading,
    batch_digest,
    batch_typed_data,
    build_batch,
    bundle_for_readings,
    leaf_hash,
    meter_id,
    reading_digest,
    recover_address,
    typed_data,
    verify_bundle,
)
from mrv_core.codec import INT256_MAX, INT256_MIN, UINT64_MAX, UINT256_MAX, parse_address
from mrv_core.verify import verify_signed_reading

PATH = "demo-co/wuxi-plant/assembly/line-1/pv-inverter"
DOMAINS = {
    "anvil": Domain(31337, bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3")),
    "large chainId": Domain(2**64 + 7, b"\xab" * 20),
    "uint256 max chainId": Domain(UINT256_MAX, b"\xff" * 20),
}
EXTREMES = [
    ("int256 min", INT256_MIN, 0, 0),
    ("int256 max", INT256_MAX, UINT64_MAX, UINT64_MAX),
    ("just above 2^53", 2**53 + 1, 2**53 + 1, 2**53 + 1),
    ("minus one", -1, 1, 1_735_689_600),
]


@pytest.fixture(scope="module")
def node(anvil_url: str) -> tuple[Web3, bytes]:
    """The node and its first dev account, which plays the device."""
    w3 = Web3(HTTPProvider(anvil_url))
    return w3, parse_address(w3.eth.accounts[0])


def _node_signs(w3: Web3, device: bytes, document: dict[str, object]) -> bytes:
    """``eth_signTypedData_v4`` with the document exactly as the product writes it (through JSON
    text, as a wallet receives it)."""
    account = Web3.to_checksum_address(device)
    response = w3.provider.make_request("eth_signTypedData_v4",  # type: ignore[arg-type]
                                        [account, json.dumps(document)])
    assert "error" not in response, response.get("error")
    return bytes.fromhex(str(response["result"]).removeprefix("0x"))


@pytest.mark.parametrize("domain_name", list(DOMAINS))
@pytest.mark.parametrize("name,value,seq,timestamp", EXTREMES, ids=[e[0] for e in EXTREMES])
def test_a_node_signs_the_reading_document_and_the_product_verifies_it(
        node: tuple[Web3, bytes], domain_name: str, name: str, value: int, seq: int,
        timestamp: int) -> None:
    w3, device = node
    domain = DOMAINS[domain_name]
    reading = Reading(device=device, meter=meter_id(PATH), seq=seq, timestamp=timestamp,
                      quantity="power.active:W", value=value, salt=b"\x5a" * 32)
    signature = _node_signs(w3, device, typed_data(reading, domain))
    assert recover_address(reading_digest(reading, domain), signature) == device
    assert verify_signed_reading(SignedReading(reading, signature, PATH), domain) == \
        leaf_hash(reading)


@pytest.mark.parametrize("domain_name", list(DOMAINS))
def test_a_node_signs_the_batch_header_and_the_bundle_verifies(node: tuple[Web3, bytes],
                                                               domain_name: str) -> None:
    """Readings and header signed by the node's account: a complete version 2 bundle."""
    w3, device = node
    domain = DOMAINS[domain_name]
    readings = []
    for seq, (_, value, _, timestamp) in enumerate(EXTREMES):
        reading = Reading(device=device, meter=meter_id(PATH), seq=seq, timestamp=timestamp,
                          quantity="power.active:W", value=value, salt=bytes([seq]) * 32)
        readings.append(SignedReading(reading, _node_signs(w3, device, typed_data(reading, domain)),
                                      PATH))
    batch = build_batch(device, UINT64_MAX, readings)
    header_signature = _node_signs(w3, device, batch_typed_data(batch.header, domain))
    assert recover_address(batch_digest(batch.header, domain), header_signature) == device
    signed = dataclasses.replace(batch, header_signature=header_signature)
    verified = verify_bundle(bundle_for_readings(signed, domain, [0, 1, 2, 3]))
    assert verified.header_signed


def test_a_node_signs_a_header_at_the_uint32_and_uint64_limits(node: tuple[Web3, bytes]) -> None:
    w3, device = node
    header = BatchHeader(device=device, batch_seq=UINT64_MAX, root=b"\xff" * 32,
                         leaf_count=2**32 - 1, from_timestamp=0, to_timestamp=UINT64_MAX)
    domain = DOMAINS["uint256 max chainId"]
    signature = _node_signs(w3, device, batch_typed_data(header, domain))
    assert recover_address(batch_digest(header, domain), signature) == device
