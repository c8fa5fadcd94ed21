"""Fixtures for the chain client tests: both backends, a fresh deployment, actors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from integration.chain.support import METADATA, SITE, Actors, deploy_actors

from mrv_core.chain import Chain, ChainSettings, connect, load_artifacts

BACKENDS = ("embedded", "anvil")
__all__ = ["BACKENDS", "METADATA", "SITE", "Actors", "deploy_actors", "open_chain"]


def open_chain(kind: str, request: pytest.FixtureRequest, **settings: object) -> Chain:
    url = None if kind == "embedded" else request.getfixturevalue("anvil_url")
    return connect(url, evm_version=load_artifacts().evm_version(),
                   settings=ChainSettings(**settings))  # type: ignore[arg-type]


@pytest.fixture(params=BACKENDS)
def chain(request: pytest.FixtureRequest) -> Chain:
    return open_chain(request.param, request)


@pytest.fixture
def actors(chain: Chain) -> Actors:
    return deploy_actors(chain)


@pytest.fixture
def make_actors() -> Callable[[Chain], Actors]:
    return deploy_actors
