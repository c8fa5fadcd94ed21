"""Fixtures of the ledger's chain tests: both backends (the embedded chain and anvil) and a
fresh deployment with its actors (:class:`~integration.ledger_api.chain.support.Registry`)."""

from __future__ import annotations

import pytest
from integration.chain.support import deploy_actors
from integration.ledger_api.chain.support import Registry

from mrv_core.chain import Chain, NodeSigner, Transactor, connect, load_artifacts


@pytest.fixture(params=("embedded", "anvil"))
def chain(request: pytest.FixtureRequest) -> Chain:
    url = None if request.param == "embedded" else request.getfixturevalue("anvil_url")
    return connect(url, evm_version=load_artifacts().evm_version())


@pytest.fixture
def registry(chain: Chain) -> Registry:
    actors = deploy_actors(chain)
    regulator = Transactor(chain, NodeSigner(chain.unlocked_accounts()[2]))
    actors.system.grant_role(actors.admin, "REGULATOR_ROLE", regulator.address)
    return Registry(actors, regulator)
