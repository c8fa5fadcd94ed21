"""The edge node's uplink client against the real ledger API: a real edge store filled by the
real signer and batcher, uvicorn on 127.0.0.1, devices checked on a real (embedded) chain.

Asserted: every leaf and batch header of the store is stored once by the API (its leaves are
the store's, each batch's root rebuilt from them), the store's cursors end at the last item,
a replay is answered ``duplicate`` and stores nothing, an API outage mid-run loses nothing, and
the device is listed (``GET /v1/devices``) to its enterprise as the chain registered it, and to
no one else.
"""

from __future__ import annotations

import asyncio

import httpx
from integration.chain.support import Actors
from integration.edge_node.conftest import fill
from integration.ledger_api.conftest import LedgerServer
from ledger_support import bearer, new_principal
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edge_node.batching import Batcher
from edge_node.signing.records import new_record
from edge_node.store import Store, StoreUplink
from edge_node.uplink import UplinkClient, UplinkSettings
from factories import METER_PATHS
from ledger_api.access import Role
from ledger_api.db.models import BatchRow, LeafRow
from mrv_core.codec import format_address, parse_address
from mrv_core.reading import meter_id
from mrv_core.records import Gap
from mrv_core.uplink import UPLINK_PATH, UplinkRequest, decode_ack, encode_request

FAST = {"backoff_initial_ms": 5, "backoff_max_ms": 40, "idle_poll_ms": 20,
        "refusal_holdoff_ms": 50, "timeout_ms": 5_000}


def filled_store(actors: Actors, path: object, cycles: int) -> Store:
    store = Store(path, actors.device.address, actors.system.domain)  # type: ignore[arg-type]
    registered = int(actors.chain.w3.eth.get_block("latest")["timestamp"])
    fill(store, cycles, batch_size=9, key=actors.device, t0=registered + 60)
    return store


def held(server: LedgerServer) -> tuple[set[bytes], dict[int, bytes]]:
    with Session(server.services.engine) as session:
        leaves = set(session.scalars(select(LeafRow.leaf)))
        roots = {b.batch_seq: b.root for b in session.scalars(select(BatchRow))}
    return leaves, roots


def assert_all_held(store: Store, server: LedgerServer) -> None:
    source = StoreUplink(store)
    leaves = source.items_after("leaves", -1, 1_000_000)
    batches = source.items_after("batches", -1, 1_000_000)
    held_leaves, roots = held(server)
    assert held_leaves == {leaf.leaf for leaf in leaves}  # type: ignore[union-attr]
    assert roots == {b.header.batch_seq: b.header.root for b in batches}  # type: ignore[union-attr]
    assert source.items_after("leaves", source.acknowledged_through("leaves"), 10) == []
    assert source.items_after("batches", source.acknowledged_through("batches"), 10) == []


def client(store: Store, actors: Actors, url: str, chunk_size: int) -> UplinkClient:
    return UplinkClient(UplinkSettings(url=url, chunk_size=chunk_size, **FAST),
                        StoreUplink(store), actors.device.address, actors.system.domain)


def test_the_edge_store_reaches_the_api_once_and_a_replay_is_all_duplicate(
        ledger_actors: Actors, ledger_server: LedgerServer, tmp_path: object) -> None:
    store = filled_store(ledger_actors, tmp_path / "edge.sqlite", 12)  # type: ignore[operator]
    try:
        async def push() -> int:
            async with client(store, ledger_actors, ledger_server.url, 10) as uplink:
                return await uplink.drain()

        assert asyncio.run(push()) == 36 + 4  # 36 readings, 4 headers
        assert_all_held(store, ledger_server)
        source = StoreUplink(store)
        items = [i.signed for i in source.items_after("leaves", -1, 100)]  # type: ignore[union-attr]
        request = UplinkRequest.of(ledger_actors.device.address, ledger_actors.system.domain,
                                   items)
        with Session(ledger_server.services.engine) as session:
            before = session.scalar(select(func.count()).select_from(LeafRow))
        answer = httpx.post(ledger_server.url + UPLINK_PATH, content=encode_request(request),
                            headers={"Content-Type": "application/json",
                                     "Content-Encoding": "gzip"})
        assert answer.status_code == 200
        ack = decode_ack(answer.content, answer.headers.get("content-encoding"), request)
        assert {v.status.value for v in ack.verdicts} == {"duplicate"}
        with Session(ledger_server.services.engine) as session:
            assert session.scalar(select(func.count()).select_from(LeafRow)) == before
    finally:
        store.close()


def test_an_api_outage_mid_run_loses_nothing(ledger_actors: Actors,
                                             ledger_server: LedgerServer,
                                             tmp_path: object) -> None:
    store = filled_store(ledger_actors, tmp_path / "edge.sqlite", 15)  # type: ignore[operator]
    try:
        async def push() -> None:
            async with client(store, ledger_actors, ledger_server.url, 5) as uplink:
                await uplink.push_once()
                await asyncio.to_thread(ledger_server.down)
                running = asyncio.create_task(uplink.drain())
                await asyncio.sleep(0.3)  # the client meets refused connections meanwhile
                await asyncio.to_thread(ledger_server.up)
                await running

        asyncio.run(push())
        assert_all_held(store, ledger_server)
    finally:
        store.close()


def test_the_device_is_listed_to_its_enterprise_as_the_chain_registered_it(
        ledger_actors: Actors, ledger_server: LedgerServer, tmp_path: object) -> None:
    """Ingest records the enterprise the DeviceRegistry names; over HTTP, a principal of that
    enterprise sees the device, one of another enterprise and an ungranted regulator do not."""
    store = filled_store(ledger_actors, tmp_path / "edge.sqlite", 3)  # type: ignore[operator]
    try:
        async def push() -> int:
            async with client(store, ledger_actors, ledger_server.url, 10) as uplink:
                return await uplink.drain()

        assert asyncio.run(push()) == 9 + 1
    finally:
        store.close()
    engine = ledger_server.services.engine
    enterprise = parse_address(ledger_actors.enterprise.address)
    _, own = new_principal(engine, Role.ENTERPRISE_READER, enterprise)
    _, other = new_principal(engine, Role.ENTERPRISE_READER, b"\x01" * 20)
    _, regulator = new_principal(engine, Role.REGULATOR)

    def devices(key: str) -> list[dict[str, object]]:
        answer = httpx.get(ledger_server.url + "/v1/devices", headers=bearer(key))
        assert answer.status_code == 200, answer.text
        return answer.json()["devices"]  # type: ignore[no-any-return]

    listed = devices(own)
    assert [(d["device"], d["enterprise"], d["leaves"], d["batches"]) for d in listed] == [
        (format_address(ledger_actors.device.address), format_address(enterprise), 9, 1)]
    assert devices(other) == devices(regulator) == []
    assert httpx.get(ledger_server.url + "/v1/devices").status_code == 401


def test_records_between_batches_keep_commit_order_and_every_batch_is_accepted(
        ledger_actors: Actors, ledger_server: LedgerServer, tmp_path: object) -> None:
    """A batch that ends with a record, then the next batch's readings: the ledger numbers
    leaves in the order it receives them and the document groups items by kind, so the client
    ends a request before a reading that follows a record (a chunk spanning both used to give
    batch 0 the wrong leaves, refused for good)."""
    store = Store(tmp_path / "edge.sqlite",  # type: ignore[operator]
                  ledger_actors.device.address, ledger_actors.system.domain)
    registered = int(ledger_actors.chain.w3.eth.get_block("latest")["timestamp"])
    try:
        for cycle in range(3):  # each batch: three readings, then a gap record
            fill(store, 1, start=cycle, batch_size=100, key=ledger_actors.device,
                 t0=registered + 60, close=False)
            gap = Gap(device=ledger_actors.device.address, meter=meter_id(METER_PATHS[0]),
                      quantity="energy.active.import:Wh", next_seq=cycle + 1,
                      from_timestamp=registered + 70 + 60 * cycle,
                      to_timestamp=registered + 80 + 60 * cycle, failed_polls=1,
                      error_class="timeout", salt=bytes([cycle]) * 32)
            with store.write() as session:
                store.add_records(session, [new_record(ledger_actors.device.sign_record(
                    gap, ledger_actors.system.domain, METER_PATHS[0]))])
            Batcher(store, ledger_actors.device).close_due(now=registered, force=True)

        async def push() -> int:
            async with client(store, ledger_actors, ledger_server.url, 100) as uplink:
                return await uplink.drain()

        asyncio.run(push())
        assert_all_held(store, ledger_server)
    finally:
        store.close()
