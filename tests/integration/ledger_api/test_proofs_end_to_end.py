"""From a meter reading to a proof a verifier accepts, through the ledger: the edge node signs,
batches and anchors on a real (embedded) chain and delivers over HTTP to the served API; the
API's chain watcher sees the anchors; the API builds a reading's proof bundle from its stored
data, and that bundle passes every step of ``mrv bundle verify``'s verifier, chain steps
included. A reading changed in the ledger's database is named by its failed step."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from integration.chain.support import Actors
from integration.edge_node.conftest import fill
from integration.ledger_api.conftest import LedgerServer, free_port
from ledger_support import bearer, new_principal
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from web3 import HTTPProvider

from edge_node.anchoring import FINAL, Anchorer, ChainView, Outbox, OwnAccount
from edge_node.store import Store, StoreUplink
from edge_node.uplink import UplinkClient, UplinkSettings
from ledger_api.access import Role
from ledger_api.chain.watcher import ChainWatcher
from ledger_api.db.models import BatchRow, ReadingRow
from ledger_api.proofs import TreeCache, anchor_of, proof_bundle
from ledger_api.verification import bundle_verdict
from mrv_core.codec import format_address, format_hex, parse_address


def test_a_reading_s_bundle_from_the_ledger_verifies_on_chain(
        ledger_actors: Actors, ledger_server: LedgerServer, tmp_path: Path) -> None:
    actors, services = ledger_actors, ledger_server.services
    store = Store(tmp_path / "edge.sqlite", actors.device.address, actors.system.domain)
    try:
        registered = int(actors.chain.w3.eth.get_block("latest")["timestamp"])
        fill(store, 3, batch_size=4, key=actors.device, t0=registered + 10)
        anchorer = Anchorer(Outbox(store), ChainView(actors.system, actors.device.address),
                            OwnAccount(actors.system, actors.device_tx))
        for _ in range(20):
            anchorer.run_once(now=registered + 400)
            if all(e.state == FINAL for e in anchorer.outbox.entries()):
                break
        assert all(e.state == FINAL for e in anchorer.outbox.entries())

        async def push() -> int:
            async with UplinkClient(UplinkSettings(url=ledger_server.url), StoreUplink(store),
                                    actors.device.address, actors.system.domain) as uplink:
                return await uplink.drain()

        assert asyncio.run(push()) == 9 + 3
    finally:
        store.close()
    watcher = ChainWatcher(actors.system, services.engine, confirmations=0)
    watcher.poll()
    with Session(services.engine) as session:
        assert set(session.scalars(select(BatchRow.anchor_state))) == {"final"}
        reading = session.scalars(select(ReadingRow).where(ReadingRow.seq == 1)).first()
        assert reading is not None
        key = (reading.meter, reading.seq)
        batch = session.scalars(select(BatchRow).where(
            BatchRow.first_position <= reading.position)
            .order_by(BatchRow.batch_seq.desc())).first()
        assert batch is not None
        anchor = anchor_of(session, batch.header(), actors.system)
        assert anchor is not None
        bundle = proof_bundle(session, actors.device.address, [key], actors.system.domain,
                              anchor, TreeCache())
    verdict = bundle_verdict(bundle.dumps(), actors.system)
    assert verdict.valid, [s for s in verdict.steps if s.status != "passed"]

    # The same over HTTP, as the enterprise's reader and as another enterprise's admin.
    engine, url = services.engine, ledger_server.url
    _, reader = new_principal(engine, Role.ENTERPRISE_READER,
                              parse_address(actors.enterprise.address))
    _, stranger = new_principal(engine, Role.ENTERPRISE_ADMIN, b"\x99" * 20)
    device = format_address(actors.device.address)
    proof_url = f"{url}/v1/proofs/{device}/{format_hex(key[0])}/{key[1]}"
    served = httpx.get(proof_url, headers=bearer(reader))
    assert served.status_code == 200 and served.content == bundle.dumps()
    assert httpx.get(proof_url, headers=bearer(stranger)).status_code == 404
    verdict_doc = httpx.post(f"{url}/v1/bundles/verify", content=served.content,
                             headers=bearer(stranger)).json()
    assert verdict_doc["valid"] is True and {s["status"] for s in verdict_doc["steps"]} == {
        "passed"}
    page = httpx.get(f"{url}/v1/readings", params={"device": device, "limit": 4},
                     headers=bearer(reader)).json()
    assert len(page["readings"]) == 4 and page["next"]
    batches = httpx.get(f"{url}/v1/batches", params={"device": device},
                        headers=bearer(reader)).json()["batches"]
    assert [(b["batchSeq"], b["anchorState"]) for b in batches] == [
        (0, "final"), (1, "final"), (2, "final")]
    summary = httpx.get(f"{url}/v1/quality", params={
        "path": "demo-co/wuxi-plant", "from": registered, "to": registered + 3600},
        headers=bearer(reader)).json()
    assert [(m["received"], m["missing"], m["unanchored"], m["unbatched"])
            for m in summary["meters"]] == [(3, 0, 0, 0)] * 2  # the third meter is elsewhere

    # The chain goes away: a verdict cannot be given, the answer says so (503), not a 500.
    provider = actors.chain.w3.provider
    actors.chain.w3.provider = HTTPProvider(f"http://127.0.0.1:{free_port()}")
    try:
        unavailable = httpx.post(f"{url}/v1/bundles/verify", content=served.content,
                                 headers=bearer(stranger), timeout=60)
    finally:
        actors.chain.w3.provider = provider
    assert unavailable.status_code == 503
    assert unavailable.json()["check"] == "unavailable"

    with Session(services.engine) as session, session.begin():  # someone edits the database
        session.execute(update(ReadingRow).where(ReadingRow.position == reading.position)
                        .values(value=reading.value + 1))
    with Session(services.engine) as session:
        tampered = proof_bundle(session, actors.device.address, [key], actors.system.domain,
                                anchor, TreeCache())
    failed = [s for s in bundle_verdict(tampered.dumps(), actors.system).steps
              if s.status == "failed"]
    assert [s.step for s in failed] == ["signature"]
