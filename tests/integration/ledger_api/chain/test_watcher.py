"""The chain watcher on real chains (the embedded one, and anvil where a reorganisation or an
outage is needed): batches the ledger holds go ``anchored`` then ``final`` as their anchors are
mined and confirmed, an anchor of another root is flagged, the two "never" flags, a restart
that resumes from the persisted cursor, an RPC outage survived by the background loop, and a
reorganisation that unanchors a batch until its anchor is mined again."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from integration.chain.support import METADATA, SITE, Actors, deploy_actors
from integration.conftest import free_port
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from factories import signed_readings
from ledger_api.app import ApiMetrics, Services, create_app
from ledger_api.chain import DeviceDirectory
from ledger_api.chain.anchor_store import (
    anchor_mismatches,
    anchors_without_data,
    batches_without_anchor,
)
from ledger_api.chain.device_store import load_directory
from ledger_api.chain.watcher import ChainWatcher
from ledger_api.db.engine import make_engine, make_sessions
from ledger_api.db.migrate import upgrade
from ledger_api.db.models import AnchorRow, BatchRow, ChainEventRow
from ledger_api.errors import ApiConfigError
from ledger_api.ingest.service import ingest
from ledger_api.server import build_services
from ledger_api.settings import get_settings
from mrv_core.batch import Batch, SignedBatchHeader
from mrv_core.chain import Chain, ChainSettings, System, connect, load_artifacts
from mrv_core.errors import ConfigError
from mrv_core.keys import DeviceKey
from mrv_core.uplink import UplinkRequest


@pytest.fixture
def engine(sqlite_ledger_engine: Engine) -> Engine:
    return sqlite_ledger_engine


@pytest.fixture
def both_engines(database_url: str) -> Iterator[Engine]:
    """A migrated ledger database, once on SQLite and once on a real PostgreSQL."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def embedded() -> Actors:
    return deploy_actors(connect(None))


@pytest.fixture(scope="module")
def read_only() -> Actors:
    """One deployment for the tests that only read the chain."""
    return deploy_actors(connect(None))


@pytest.fixture
def on_anvil(anvil_url: str) -> Actors:
    chain = connect(anvil_url, evm_version=load_artifacts().evm_version(),
                    settings=ChainSettings(rpc_retries=0, retry_backoff_s=0.01))
    return deploy_actors(chain)


def batch(actors: Actors, batch_seq: int, count: int = 3, seed: int = 0) -> Batch:
    """A signed batch of ``count`` readings (seqs after the previous batches') timed from the
    latest block on (the device is registered then; the AnchorRegistry takes up to
    ``maxClockSkew`` ahead)."""
    now = actors.chain.latest_timestamp()
    readings = [actors.device.sign_reading(
        dataclasses.replace(r.reading, timestamp=now + i, seq=batch_seq * count + i),
        actors.system.domain, r.meter_path)
                for i, r in enumerate(signed_readings(count, seed=seed + 100 * batch_seq,
                                                      key=actors.device))]
    return actors.device.close_batch(batch_seq, readings, actors.system.domain)


def deliver(engine: Engine, actors: Actors, made: Batch) -> None:
    """Ingest ``made`` (readings then header) as the edge node's uplink would."""
    assert made.header_signature is not None
    request = UplinkRequest.of(actors.device.address, actors.system.domain,
                               [*made.readings,
                                SignedBatchHeader(made.header, made.header_signature)])
    directory = DeviceDirectory(actors.system)
    directory.refresh()
    with Session(engine) as session, session.begin():
        result = ingest(session, request, directory, actors.system.domain,
                        now=datetime.now(UTC))
    assert {v.status.value for v in result.verdicts} == {"accepted"}


def state(engine: Engine, batch_seq: int) -> str:
    with Session(engine) as session:
        found = session.scalar(select(BatchRow.anchor_state)
                               .where(BatchRow.batch_seq == batch_seq))
    assert found is not None
    return found


def anchor_rows(engine: Engine) -> list[AnchorRow]:
    with Session(engine) as session:
        return list(session.scalars(select(AnchorRow).order_by(AnchorRow.id)))


def mine(actors: Actors, blocks: int = 1) -> None:
    for _ in range(blocks):
        actors.admin.transfer(actors.enterprise.address, 1)


def test_a_batch_goes_anchored_then_final_and_its_anchor_is_recorded_as_mined(
        embedded: Actors, both_engines: Engine) -> None:
    actors, engine = embedded, both_engines
    metrics = ApiMetrics()
    watcher = ChainWatcher(actors.system, engine, confirmations=2, metrics=metrics)
    made = batch(actors, 0)
    deliver(engine, actors, made)
    watcher.poll()
    assert state(engine, 0) == "unanchored"

    ref = actors.system.anchor(actors.device_tx, made.header)
    polled = watcher.poll()
    assert polled.anchors == 1 and polled.reconciled.anchored == ((actors.device.address, 0),)
    assert state(engine, 0) == "anchored"
    [row] = anchor_rows(engine)
    block = actors.chain.w3.eth.get_block(ref.block_number)
    assert (row.device, row.batch_seq, row.root, row.leaf_count) == (
        actors.device.address, 0, made.header.root, 3)
    assert (row.tx_hash, row.block_number, row.block_hash, row.block_timestamp) == (
        ref.transaction_hash, ref.block_number, bytes(block["hash"]), int(block["timestamp"]))
    assert row.orphaned_at is None

    mine(actors)  # one block on top: still short of 2 confirmations
    watcher.poll()
    assert state(engine, 0) == "anchored"
    mine(actors)
    assert watcher.poll().reconciled.final == ((actors.device.address, 0),)
    assert state(engine, 0) == "final"
    head = actors.chain.block_number()
    assert metrics.registry.get_sample_value("mrv_api_watcher_anchors_total") == 1
    assert metrics.registry.get_sample_value("mrv_api_watcher_cursor_block") == head
    assert metrics.registry.get_sample_value("mrv_api_watcher_lag_blocks") == 0


def test_the_other_registries_events_are_kept_with_their_arguments(
        read_only: Actors, engine: Engine) -> None:
    actors = read_only
    ChainWatcher(actors.system, engine).poll()
    with Session(engine) as session:
        granted = list(session.scalars(select(ChainEventRow)
                                       .where(ChainEventRow.event == "RoleGranted")))
    enterprise_role = actors.system.role("ENTERPRISE_ROLE")
    assert any(row.contract == "Consortium"
               and f'"account":"{actors.enterprise.address}"' in row.args
               and f'"role":"0x{enterprise_role.hex()}"' in row.args for row in granted)


def test_an_anchor_of_another_root_is_flagged_and_neither_root_is_overwritten(
        embedded: Actors, engine: Engine) -> None:
    actors = embedded
    held, other = batch(actors, 0, seed=1), batch(actors, 0, seed=2)
    assert held.header.root != other.header.root
    deliver(engine, actors, held)
    actors.system.anchor(actors.device_tx, other.header)
    watcher = ChainWatcher(actors.system, engine)
    assert watcher.poll().reconciled.mismatch == ((actors.device.address, 0),)
    mine(actors, 2)
    watcher.poll()
    assert state(engine, 0) == "mismatch"  # never final
    with Session(engine) as session:
        [(row, anchor)] = anchor_mismatches(session)
        assert (row.root, anchor.root) == (held.header.root, other.header.root)


def test_data_never_anchored_and_anchors_whose_data_never_came_are_flagged_after_the_deadline(
        embedded: Actors, engine: Engine) -> None:
    actors = embedded
    watcher = ChainWatcher(actors.system, engine)
    first = batch(actors, 0)
    ref = actors.system.anchor(actors.device_tx, first.header)  # anchored, not delivered
    watcher.poll()
    mined = actors.chain.w3.eth.get_block(ref.block_number)["timestamp"]
    at = datetime.fromtimestamp(mined, UTC)
    with Session(engine) as session:
        assert anchors_without_data(session, now=at + timedelta(seconds=600),
                                    deadline_s=600) == []
        [late] = anchors_without_data(session, now=at + timedelta(seconds=601), deadline_s=600)
        assert (late.device, late.batch_seq) == (actors.device.address, 0)

    deliver(engine, actors, first)
    second = batch(actors, 1)
    deliver(engine, actors, second)  # delivered, never anchored
    watcher.poll()
    assert (state(engine, 0), state(engine, 1)) == ("anchored", "unanchored")
    with Session(engine) as session:
        received = session.scalars(select(BatchRow.received_at)
                                   .where(BatchRow.batch_seq == 1)).one()
        now = received.replace(tzinfo=UTC) if received.tzinfo is None else received
        assert anchors_without_data(session, now=now + timedelta(days=1), deadline_s=600) == []
        assert batches_without_anchor(session, now=now + timedelta(seconds=599),
                                      deadline_s=600) == []
        [missing] = batches_without_anchor(session, now=now + timedelta(seconds=601),
                                           deadline_s=600)
        assert missing.batch_seq == 1


def test_a_long_history_is_read_in_bounded_polls_each_persisting_its_progress(
        embedded: Actors, engine: Engine) -> None:
    actors = embedded
    made = batch(actors, 0)
    actors.system.anchor(actors.device_tx, made.header)
    deploy, head = actors.system.deployment.deploy_block, actors.chain.block_number()
    cursors = []
    while True:  # a new watcher each time: only the database carries the progress
        polled = ChainWatcher(actors.system, engine, max_blocks_per_poll=3,
                              max_block_range=2).poll()
        assert polled.cursor is not None
        cursors.append(polled.cursor.number)
        if polled.behind == 0:
            break
    assert cursors == [min(deploy + 3 * i + 2, head) for i in range(len(cursors))]
    assert cursors[-1] == head and len(cursors) == -(-(head - deploy + 1) // 3)
    assert [(a.batch_seq, a.root) for a in anchor_rows(engine)] == [(0, made.header.root)]


UNUSABLE = [
    ({"confirmations": -1}, "confirmations must be at least 0, got -1"),
    ({"max_block_range": 0}, "max_block_range must be at least 1, got 0"),
    ({"max_blocks_per_poll": 0}, "max_blocks_per_poll must be at least 1, got 0"),
    ({"poll_interval_s": 0}, "got 0, 0, 30.0"),
    ({"retry_backoff_s": 5, "retry_backoff_max_s": 1}, "got 2.0, 5, 1"),
]


def test_unusable_watcher_settings_are_refused_naming_the_values(
        read_only: Actors, engine: Engine) -> None:
    for setting, message in UNUSABLE:
        with pytest.raises(ConfigError, match=re.escape(message)):
            ChainWatcher(read_only.system, engine, **setting)  # type: ignore[arg-type]
    # a poll interval longer than the 30 s backoff cap raises the cap with it
    assert ChainWatcher(read_only.system, engine, poll_interval_s=600).poll_interval_s == 600


def test_a_poll_brings_the_device_directory_up_to_date(embedded: Actors, engine: Engine) -> None:
    actors = embedded
    directory = DeviceDirectory(actors.system)
    watcher = ChainWatcher(actors.system, engine, directory=directory)
    watcher.poll()
    late = DeviceKey.generate()
    actors.system.register_device(actors.enterprise, late, SITE, METADATA)
    assert late.address not in directory.book.devices
    watcher.poll()
    assert directory.standing(late.address, 2**40).active
    assert directory.cursor is not None
    assert directory.cursor.block_number == actors.chain.block_number()


class RecordingCalls:
    """What ``chain`` is asked (every request goes through ``Chain.retrying``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, chain: Chain) -> None:
        self.whats: list[str] = []
        retrying = chain.retrying

        def recorded(what: str, request: Callable[[], Any]) -> Any:
            self.whats.append(what)
            return retrying(what, request)

        monkeypatch.setattr(chain, "retrying", recorded)


def test_a_restarted_watcher_resumes_after_the_persisted_cursor(
        embedded: Actors, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    actors = embedded
    deploy = actors.system.deployment.deploy_block
    ChainWatcher(actors.system, engine).poll()
    cursor = actors.chain.block_number()
    made = batch(actors, 0)
    deliver(engine, actors, made)
    actors.system.anchor(actors.device_tx, made.header)

    calls = RecordingCalls(monkeypatch, actors.chain)
    restarted = ChainWatcher(actors.system, engine)  # a new process: only the database
    polled = restarted.poll()
    assert polled.anchors == 1 and state(engine, 0) == "anchored"
    logs = [w for w in calls.whats if w.startswith("eth_getLogs")]
    assert logs and all(f"blocks {cursor + 1}-" in w for w in logs), logs
    assert not any(f"blocks {deploy}-" in w for w in logs)
    assert len(anchor_rows(engine)) == 1


def test_of_two_watchers_on_one_database_the_second_to_write_stores_nothing(
        embedded: Actors, both_engines: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two API workers each run a watcher on the shared database."""
    actors, engine = embedded, both_engines
    first, second = ChainWatcher(actors.system, engine), ChainWatcher(actors.system, engine)
    made = batch(actors, 0)
    deliver(engine, actors, made)
    actors.system.anchor(actors.device_tx, made.header)
    read = first._read_consistently

    def interleaved(start: int, target: int) -> Any:
        result = read(start, target)
        assert second.poll().anchors == 1  # the other worker writes between read and write
        return result

    monkeypatch.setattr(first, "_read_consistently", interleaved)
    assert first.poll().raced
    assert len(anchor_rows(engine)) == 1 and state(engine, 0) == "anchored"
    assert first.status().last_success_age_s is not None
    monkeypatch.undo()
    polled = first.poll()
    assert not polled.raced and polled.anchors == 0 and len(anchor_rows(engine)) == 1


def test_build_services_runs_the_watcher_until_the_application_stops(
        on_anvil: Actors, tmp_path: Path, anvil_url: str) -> None:
    actors = on_anvil
    deployment = tmp_path / "deployment.json"
    actors.system.deployment.write(deployment)
    database = f"sqlite:///{tmp_path / 'served.sqlite'}"
    migrated = make_engine(database)
    upgrade(migrated)
    migrated.dispose()
    services = build_services(get_settings(database_url=database, rpc_url=anvil_url,
                                           deployment=deployment, watcher_poll_interval_s=0.05,
                                           watcher_confirmations=0, public_metrics=True))
    watcher = services.watcher
    assert watcher is not None
    try:
        with TestClient(create_app(services)) as client:
            wait_for(lambda: client.get("/readyz").json().get("watcher") == "ok")
            ready = client.get("/readyz").json()
            assert 0 <= ready["watcher_last_poll_age_ms"] < 10_000
            actors.system.anchor(actors.device_tx, actors.batch(2).header)
            wait_for(lambda: len(anchor_rows(services.engine)) == 1)
            metrics = client.get("/metrics").text
            assert "mrv_api_watcher_anchors_total 1.0" in metrics
            assert "mrv_api_watcher_cursor_block" in metrics
            assert watcher.status().running
        assert not watcher.status().running  # the application's shutdown stopped it
    finally:
        services.close()

    # a restart resumes the device directory after the cursor the watcher saved
    with Session(services.engine) as session:
        events, saved = load_directory(session, actors.system.deployment.contracts[
            "AnchorRegistry"])
    assert saved is not None and len(events) == 1
    late = DeviceKey.generate()
    actors.system.register_device(actors.enterprise, late, SITE, METADATA)
    whats: list[str] = []
    retrying = Chain.retrying

    def recorded(chain: Chain, what: str, request: Callable[[], Any]) -> Any:
        whats.append(what)
        return retrying(chain, what, request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Chain, "retrying", recorded)
        again = build_services(get_settings(database_url=database, rpc_url=anvil_url,
                                            deployment=deployment))
    try:
        logs = [w for w in whats if w.startswith("eth_getLogs DeviceRegistry")]
        assert logs and all(f"blocks {saved.block_number + 1}-" in w for w in logs), logs
        assert again.devices is not None
        assert again.devices.standing(actors.device.address, 2**40).active
        assert again.devices.standing(late.address, 2**40).active
    finally:
        again.close()


def test_a_database_following_another_deployment_is_refused_at_start(
        on_anvil: Actors, tmp_path: Path, anvil_url: str) -> None:
    database = f"sqlite:///{tmp_path / 'other.sqlite'}"
    engine = make_engine(database)
    upgrade(engine)
    ChainWatcher(deploy_actors(on_anvil.chain).system, engine).poll()  # another deployment's
    engine.dispose()
    deployment = tmp_path / "deployment.json"
    on_anvil.system.deployment.write(deployment)
    with pytest.raises(ApiConfigError, match="follows AnchorRegistry"):
        build_services(get_settings(database_url=database, rpc_url=anvil_url,
                                    deployment=deployment))


def test_the_loop_survives_an_rpc_outage_and_catches_up_after_it(
        on_anvil: Actors, engine: Engine, anvil_url: str) -> None:
    actors = on_anvil
    metrics = ApiMetrics()
    later = [0.0]  # seconds added to the watcher's clock, to age its last success
    own = connect(anvil_url, evm_version=load_artifacts().evm_version(),
                  settings=ChainSettings(rpc_retries=0, retry_backoff_s=0.01))
    watcher = ChainWatcher(System(own, actors.system.deployment), engine, poll_interval_s=0.05,
                           retry_backoff_s=0.05, retry_backoff_max_s=0.2, metrics=metrics,
                           clock=lambda: time.monotonic() + later[0])
    client = TestClient(create_app(Services(engine, make_sessions(engine), watcher=watcher,
                                            watcher_stale_after_s=60)))
    made = batch(actors, 0)
    deliver(engine, actors, made)
    provider: Any = own.w3.provider
    url = provider.endpoint_uri
    watcher.start()
    try:
        wait_for(lambda: watcher.status().last_success_age_s is not None)
        provider.endpoint_uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        actors.system.anchor(actors.device_tx, made.header)  # mined during the outage
        wait_for(lambda: (metrics.registry.get_sample_value(
            "mrv_api_watcher_poll_errors_total", {"error": "ChainReadUnavailable"}) or 0) >= 2)
        status = watcher.status()
        assert status.running and status.last_error is not None
        assert "ChainReadUnavailable" in status.last_error
        later[0] = 120.0
        stale = client.get("/readyz")
        assert stale.status_code == 503
        assert "last successful poll 12" in stale.json()["detail"]
        assert "ChainReadUnavailable" in stale.json()["detail"]
        assert state(engine, 0) == "unanchored"

        provider.endpoint_uri = url
        wait_for(lambda: state(engine, 0) == "anchored")
        assert watcher.status().last_error is None
        assert client.get("/readyz").json()["watcher"] == "ok"
    finally:
        provider.endpoint_uri = url
        watcher.stop()
    assert not watcher.status().running
    assert client.get("/readyz").status_code == 503  # a stopped watcher: not ready


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the condition did not hold in time", pytrace=False)
        time.sleep(0.02)


def test_a_reorganisation_unanchors_a_batch_until_its_anchor_is_mined_again(
        on_anvil: Actors, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    actors = on_anvil
    provider: Any = actors.chain.w3.provider
    watcher = ChainWatcher(actors.system, engine, confirmations=1)
    made = batch(actors, 0)
    deliver(engine, actors, made)
    mine(actors)  # a block without any event recorded: the fork point is the cursor saved here
    watcher.poll()
    shared = actors.chain.block_number()
    snapshot = provider.make_request("evm_snapshot", [])["result"]
    actors.system.anchor(actors.device_tx, made.header)
    mine(actors)
    watcher.poll()
    assert state(engine, 0) == "final"
    [gone] = anchor_rows(engine)

    provider.make_request("evm_revert", [snapshot])  # the anchor's block leaves the chain
    mine(actors, 3)  # the chain grows again on another branch, longer than before
    calls = RecordingCalls(monkeypatch, actors.chain)
    polled = watcher.poll()
    logs = [w for w in calls.whats if w.startswith("eth_getLogs")]
    assert logs and all(f"blocks {shared + 1}-" in w for w in logs), logs
    assert polled.orphaned == 1 and state(engine, 0) == "unanchored"
    [orphaned] = anchor_rows(engine)
    assert orphaned.orphaned_at is not None

    ref = actors.system.anchor(actors.device_tx, made.header)  # mined again, in another block
    watcher.poll()
    assert state(engine, 0) == "anchored"
    kept, again = anchor_rows(engine)
    assert kept.block_hash == gone.block_hash and kept.orphaned_at is not None
    assert again.block_number == ref.block_number and again.block_hash != gone.block_hash
    assert again.orphaned_at is None
