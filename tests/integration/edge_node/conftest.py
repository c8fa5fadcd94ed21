"""Fixtures of the edge node's integration tests: a real edge store on disk filled by the real
signer and batcher, and the recording receiver (receiver.py) that stands in for the ledger API
until that issue builds it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from integration.edge_node.receiver import Receiver

from edge_node.batching import Batcher, BatchingSettings
from edge_node.signing import ReadingSigner, Sample
from edge_node.signing.records import new_record
from edge_node.store import Store
from factories import METER_PATHS, TEST_DOMAIN, TEST_KEY, signed_records

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "edge.sqlite", TEST_KEY.address, TEST_DOMAIN) as opened:
        yield opened


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().up()
    try:
        yield started
    finally:
        started.down()


def fill(store: Store, cycles: int, *, start: int = 0, records: int = 0,
         batch_size: int = 10) -> None:
    """Sign ``cycles`` poll cycles of three energy meters (from cycle ``start``), add ``records``
    signed records, and close every batch of ``batch_size`` leaves (and a last partial one)."""
    signer = ReadingSigner(store, TEST_KEY)
    for cycle in range(start, start + cycles):
        t = T0 + 60 * cycle
        signer.sign_cycle([Sample(meter_path=path, point="import_energy",
                                  quantity="energy.active.import:Wh", timestamp=t,
                                  value=1000 * cycle + i, raw_registers=(0, 1000 * cycle + i))
                           for i, path in enumerate(METER_PATHS)], now=t)
    if records:
        with store.write() as session:
            store.add_records(session, [new_record(r) for r in
                                        signed_records(records, seed=start)])
    Batcher(store, TEST_KEY, settings=BatchingSettings(max_leaves=batch_size)).close_due(
        now=T0 + 60 * (start + cycles), force=True)
