"""One node per store: a second node on the same store would poll the same meters, sign every
value twice and race the first one's anchors (hostile review, issue 9)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge_node.node import lock_store
from mrv_core.errors import ConfigError


def test_a_second_node_on_one_store_is_refused_naming_the_first(tmp_path: Path) -> None:
    store = tmp_path / "data" / "edge.sqlite"
    first = lock_store(store)
    try:
        with pytest.raises(ConfigError, match=rf"another edge node \(pid {os.getpid()}\) is "
                                              rf"running on the store {store}"):
            lock_store(store)
    finally:
        first.close()
    lock_store(store).close()  # free again once the first stopped
