"""Report bundles from stored data (ledger_api.reports.bundle_export): byte for byte the bundle
built from the device's own batches, with the anchors the chain watcher stored and the devices'
summaries of the period; typed refusals. Runs on SQLite and PostgreSQL (``ledger_engine``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from ledger_support import StaticDevices
from report_bundle_support import (
    CHANGED_METER,
    PERIOD_END,
    PERIOD_START,
    MeterHistory,
    offline_scenario,
)
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from accounting_rules.reports.bundle import ReportBundle
from accounting_rules.reports.verify import verify_report_bundle
from factories import TEST_KEY
from ledger_api.db.models import AnchorRow
from ledger_api.errors import ProofUnavailable
from ledger_api.ingest.service import ingest
from ledger_api.proofs import TreeCache
from ledger_api.reports.bundle_export import export_report_bundle
from mrv_core.batch import Batch, SignedBatchHeader
from mrv_core.bundle import AnchorRef
from mrv_core.chain import Deployment
from mrv_core.eip712 import Domain, leaf_hash
from mrv_core.hashing import keccak256
from mrv_core.reading import meter_id
from mrv_core.records import SCOPE_METER, EmissionSummary, record_leaf
from mrv_core.uplink import UplinkRequest

Scenario = tuple[ReportBundle, list[MeterHistory], list[Batch]]


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return offline_scenario(TEST_KEY)


def _deployment(bundle: ReportBundle) -> Deployment:
    chain = bundle.report.chain
    contracts = {"Consortium": b"\x01" * 20, "AnchorRegistry": chain.anchor_registry,
                 "DeviceRegistry": b"\x02" * 20, "MethodologyRegistry": chain.methodology_registry,
                 "ReportRegistry": chain.report_registry}
    return Deployment(chain_id=chain.chain_id, evm_version="paris", deploy_block=1,
                      deployer=b"\x03" * 20, contracts=contracts,
                      artifact_hashes={name: bytes(32) for name in contracts},
                      admin_transfer_delay=0, max_clock_skew=300)


def _store(engine: Engine, domain: Domain, batches: list[Batch]) -> None:
    """Ingest each batch as the edge node sends it: its readings, records, then its header."""
    for batch in batches:
        assert batch.header_signature is not None
        items = [*batch.readings, *batch.records,
                 SignedBatchHeader(batch.header, batch.header_signature)]
        with Session(engine) as session, session.begin():
            ingest(session, UplinkRequest.of(TEST_KEY.address, domain, items),
                   StaticDevices({TEST_KEY.address}), domain, now=datetime.now(UTC))


def _positions(bundle: ReportBundle, batches: list[Batch]) -> list[tuple[bytes, int]]:
    """The (device, position) of every leaf ``bundle`` proves, as the ledger numbered them."""
    proven = {leaf_hash(r.reading) for b in bundle.batches for r in b.readings}
    proven |= {record_leaf(r.record) for b in bundle.batches for r in b.records}
    found, first = [], 0
    for batch in batches:
        found += [(TEST_KEY.address, first + i) for i, leaf in enumerate(batch.tree.leaves)
                  if leaf in proven]
        first += batch.header.leaf_count
    return found


def _anchor(engine: Engine, batch: Batch, *, orphaned: bool = False) -> None:
    header = batch.header
    with Session(engine) as session, session.begin():
        session.add(AnchorRow(device=header.device, batch_seq=header.batch_seq,
                              root=header.root, leaf_count=header.leaf_count,
                              from_timestamp=header.from_timestamp,
                              to_timestamp=header.to_timestamp,
                              tx_hash=keccak256(b"tx%d" % orphaned), block_number=40 + orphaned,
                              block_hash=keccak256(b"block%d" % orphaned),
                              block_timestamp=header.to_timestamp, log_index=0,
                              seen_at=datetime.now(UTC),
                              orphaned_at=datetime.now(UTC) if orphaned else None))


def test_a_stored_report_bundle_is_byte_for_byte_the_devices(ledger_engine: Engine,
                                                             scenario: Scenario) -> None:
    bundle, _, batches = scenario
    _store(ledger_engine, bundle.domain, batches)
    first = bundle.batches[0].header
    stored_first = next(b for b in batches if b.header == first)
    _anchor(ledger_engine, stored_first, orphaned=True)
    _anchor(ledger_engine, stored_first)
    deployment = _deployment(bundle)
    with Session(ledger_engine) as session:
        exported = export_report_bundle(session, bundle.report, _positions(bundle, batches)[::-1],
                                        deployment, TreeCache())
    anchor = AnchorRef(deployment.chain_id, deployment.contracts["AnchorRegistry"],
                       deployment.contracts["DeviceRegistry"], keccak256(b"tx0"), 40)
    expected = replace(bundle, batches=(replace(bundle.batches[0], anchor=anchor),
                                        *bundle.batches[1:]))
    assert exported.dumps() == expected.dumps()
    verify_report_bundle(exported)


def test_the_devices_summaries_of_the_period_are_proven_beside_once_their_batch_is_anchored(
        ledger_engine: Engine, scenario: Scenario) -> None:
    bundle, _, batches = scenario
    amount = next(line.amount for line in bundle.report.measured
                  if line.meter_path == CHANGED_METER)  # the device's figure agrees (summaries)
    summary = TEST_KEY.sign_record(EmissionSummary(
        device=TEST_KEY.address, scope_kind=SCOPE_METER, scope_id=meter_id(CHANGED_METER),
        source="electricity.grid", quantity="energy.active.import:Wh",
        methodology="cn.machinery", methodology_version=1, period_start=PERIOD_START,
        period_end=PERIOD_END, activity=amount, emissions=1, reading_count=2, gap_count=0,
        bridged_gap_count=0, bridged_seconds=0, unexplained_decreases=0,
        salt=keccak256(b"summary")), bundle.domain, CHANGED_METER)
    late = TEST_KEY.close_batch(len(batches), [], bundle.domain, [summary])
    _store(ledger_engine, bundle.domain, [*batches, late])
    # Not anchored yet, a batch of summaries only is left out: they are optional, and it would
    # fail the chain's anchor step of a bundle whose evidence is anchored.
    with Session(ledger_engine) as session:
        early = export_report_bundle(session, bundle.report, _positions(bundle, batches),
                                     _deployment(bundle), TreeCache())
    assert early.summaries == ()
    assert late.header.batch_seq not in {b.header.batch_seq for b in early.batches}
    _anchor(ledger_engine, late)
    with Session(ledger_engine) as session:
        exported = export_report_bundle(session, bundle.report, _positions(bundle, batches),
                                        _deployment(bundle), TreeCache())
    assert exported.summaries == (summary,)
    assert exported.batches[-1].records == (summary,)
    verify_report_bundle(exported)


def test_refusals_name_what_is_missing(ledger_engine: Engine, scenario: Scenario) -> None:
    bundle, _, batches = scenario
    _store(ledger_engine, bundle.domain, batches[:1])
    with Session(ledger_engine) as session, session.begin():  # the next batch's header is late
        ingest(session, UplinkRequest.of(TEST_KEY.address, bundle.domain,
                                         list(batches[1].readings)),
               StaticDevices({TEST_KEY.address}), bundle.domain, now=datetime.now(UTC))
    positions = _positions(bundle, batches)
    unbatched = batches[0].header.leaf_count
    with Session(ledger_engine) as session:
        def refused(leaves: list[tuple[bytes, int]]) -> tuple[int, str]:
            with pytest.raises(ProofUnavailable) as caught:
                export_report_bundle(session, bundle.report, leaves, _deployment(bundle),
                                     TreeCache())
            return caught.value.status, caught.value.check

        assert export_report_bundle(session, bundle.report, [], _deployment(bundle),
                                    TreeCache()).batches == ()
        assert refused([(TEST_KEY.address, unbatched)]) == (409, "batch")
        held = unbatched + len(batches[1].readings)
        assert refused([p for p in positions if p[1] >= held]) == (404, "reading")
