"""Fixtures for the accounting integration tests: every shipped methodology version, published
once per session on each backend: the embedded chain (``mrv_core.chain.connect(None)``, py-evm),
anvil at the contracts' hardfork (paris) and anvil at its newest default hardfork with EIP-7825's
per-transaction gas cap (``tests/integration/conftest.py``)."""

from __future__ import annotations

import pytest
from integration.accounting.support import Deployed, publish_all, shallow

from mrv_core.chain import connect, load_artifacts

#: The backends, by the name a test id carries.
BACKENDS = ("embedded", "anvil-paris", "anvil-latest")


@pytest.fixture(scope="session")
def embedded() -> Deployed:
    """The embedded chain with a system deployed and every shipped version published (~15 s)."""
    return shallow(lambda: publish_all(connect(None, evm_version=load_artifacts().evm_version())))


@pytest.fixture(scope="session")
def anvil_paris(anvil_url: str) -> Deployed:
    """anvil at paris with a system deployed and every shipped version published (~5 s)."""
    return publish_all(connect(anvil_url, evm_version=load_artifacts().evm_version()),
                       "anvil-paris")


@pytest.fixture(scope="session")
def anvil_latest(anvil_latest_url: str) -> Deployed:
    """anvil at its newest hardfork, transactions capped at 2**24 gas, with a system deployed and
    every shipped version published."""
    return publish_all(connect(anvil_latest_url, evm_version=load_artifacts().evm_version()),
                       "anvil-latest")


@pytest.fixture(params=BACKENDS)
def deployed(request: pytest.FixtureRequest) -> Deployed:
    """Each backend in turn, every shipped version published on it."""
    return request.getfixturevalue(request.param.replace("-", "_"))
