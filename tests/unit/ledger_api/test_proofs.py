"""Proof bundles from stored data (ledger_api.proofs): byte for byte what mrv_core builds from
the batch itself, single and multi, and typed refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ledger_support import StaticDevices
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from factories import TEST_DOMAIN, TEST_KEY, signed_records
from ledger_api.errors import ProofUnavailable
from ledger_api.ingest.service import ingest
from ledger_api.proofs import TreeCache, proof_bundle
from mrv_core.batch import Batch, SignedBatchHeader
from mrv_core.bundle import AnchorRef, bundle_for_readings
from mrv_core.reading import Reading, SignedReading, meter_id
from mrv_core.uplink import UplinkRequest
from mrv_core.verify import verify_bundle

ANCHOR = AnchorRef(chain_id=TEST_DOMAIN.chain_id,
                   anchor_registry=TEST_DOMAIN.verifying_contract,
                   device_registry=b"\x22" * 20, transaction_hash=b"\x33" * 32, block_number=7)
PATHS = ("demo-co/wuxi-plant/a/l1/m1", "demo-co/wuxi-plant/a/l1/m2", "demo-co/wuxi-plant/a/l2/m3")


def stored_batch(engine: Engine, batch_seq: int = 0, first_seq: int = 0) -> Batch:
    """A batch of 3 meters x 7 readings and 4 records, ingested; returned as the device made
    it."""
    readings = [TEST_KEY.sign_reading(Reading(TEST_KEY.address, meter_id(p), seq, 1_780_000_000
                                              + seq, "energy.active.import:Wh", 10 * seq,
                                              bytes([seq % 256, m]) * 16), TEST_DOMAIN, p)
                for seq in range(first_seq, first_seq + 7) for m, p in enumerate(PATHS)]
    records = signed_records(4, seed=batch_seq, domain=TEST_DOMAIN) if batch_seq == 0 else []
    batch = TEST_KEY.close_batch(batch_seq, readings, TEST_DOMAIN, records)
    assert batch.header_signature is not None
    items = [*readings, *records, SignedBatchHeader(batch.header, batch.header_signature)]
    with Session(engine) as session, session.begin():
        ingest(session, UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN, items),
               StaticDevices({TEST_KEY.address}), TEST_DOMAIN, now=datetime.now(UTC))
    return batch


def key(signed: SignedReading) -> tuple[bytes, int]:
    return signed.reading.meter, signed.reading.seq


@pytest.mark.parametrize("picks", [[5], [0, 20], [3, 1, 19, 7, 11], list(range(21))])
def test_a_bundle_from_stored_data_is_byte_for_byte_mrv_core_s(ledger_engine: Engine,
                                                                picks: list[int]) -> None:
    stored_batch(ledger_engine)
    batch = stored_batch(ledger_engine, batch_seq=1, first_seq=7)
    with Session(ledger_engine) as session:
        served = proof_bundle(session, TEST_KEY.address, [key(batch.readings[i]) for i in picks],
                              TEST_DOMAIN, ANCHOR, TreeCache())
    expected = bundle_for_readings(batch, TEST_DOMAIN, picks, ANCHOR)
    assert served.dumps() == expected.dumps()
    verify_bundle(served)  # every offline step passes


def test_refusals_name_what_is_missing(ledger_engine: Engine) -> None:
    first = stored_batch(ledger_engine)
    trees = TreeCache()
    with Session(ledger_engine) as session:
        def refused(keys: list[tuple[bytes, int]]) -> tuple[int, str]:
            with pytest.raises(ProofUnavailable) as caught:
                proof_bundle(session, TEST_KEY.address, keys, TEST_DOMAIN, None, trees)
            return caught.value.status, caught.value.check

        assert refused([]) == (400, "readings")
        assert refused([key(first.readings[0])] * 2) == (400, "readings")
        assert refused([(meter_id(PATHS[0]), 99)]) == (404, "reading")


def test_a_reading_whose_header_has_not_arrived_has_no_bundle_yet(ledger_engine: Engine) -> None:
    reading = TEST_KEY.sign_reading(Reading(TEST_KEY.address, meter_id(PATHS[0]), 0,
                                            1_780_000_000, "energy.active.import:Wh", 1,
                                            b"\x01" * 32), TEST_DOMAIN, PATHS[0])
    with Session(ledger_engine) as session, session.begin():
        ingest(session, UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN, [reading]),
               StaticDevices({TEST_KEY.address}), TEST_DOMAIN, now=datetime.now(UTC))
    with Session(ledger_engine) as session, pytest.raises(ProofUnavailable) as caught:
        proof_bundle(session, TEST_KEY.address, [key(reading)], TEST_DOMAIN, None, TreeCache())
    assert (caught.value.status, caught.value.check) == (409, "batch")
