"""Fixtures of the edge node's unit tests: a store in a temporary directory, bound to the test
key and domain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_node.store import Store
from factories import TEST_DOMAIN, TEST_KEY


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "edge.sqlite", TEST_KEY.address, TEST_DOMAIN) as opened:
        yield opened
