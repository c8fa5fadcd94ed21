"""Fixtures for the accounting integration tests: every shipped methodology version, published
once per session on the embedded chain (``mrv_core.chain.connect(None)``)."""

from __future__ import annotations

import pytest
from integration.accounting.support import Deployed, publish_all, shallow

from mrv_core.chain import connect, load_artifacts


@pytest.fixture(scope="session")
def embedded() -> Deployed:
    """The embedded chain with a system deployed and all seven versions published (~8 s: the
    cn.machinery contract alone takes ~15.3M gas)."""
    return shallow(lambda: publish_all(connect(None, evm_version=load_artifacts().evm_version())))

