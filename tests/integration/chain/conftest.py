"""Fixtures for the chain client tests: both backends, a fresh deployment, actors."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from factories import signed_readings
from mrv_core import Batch
from mrv_core.chain import (
    Chain,
    ChainSettings,
    KeySigner,
    NodeSigner,
    System,
    Transactor,
    connect,
    deploy_system,
    load_artifacts,
)
from mrv_core.codec import format_address
from mrv_core.keys import DeviceKey

BACKENDS = ("embedded", "anvil")
SITE = b"\x51" * 32
METADATA = b"\x4d" * 32


def open_chain(kind: str, request: pytest.FixtureRequest, **settings: object) -> Chain:
    url = None if kind == "embedded" else request.getfixturevalue("anvil_url")
    return connect(url, evm_version=load_artifacts().evm_version(),
                   settings=ChainSettings(**settings))  # type: ignore[arg-type]


@pytest.fixture(params=BACKENDS)
def chain(request: pytest.FixtureRequest) -> Chain:
    return open_chain(request.param, request)


@dataclass
class Actors:
    """A freshly deployed system and the accounts that act on it."""

    chain: Chain
    system: System
    admin: Transactor
    enterprise: Transactor
    device: DeviceKey
    device_tx: Transactor

    def batch(self, count: int, batch_seq: int = 0, *, seed: int = 0) -> Batch:
        """A batch of this device's readings, signed (readings and header) for this
        deployment, measured in the hour before the latest block."""
        now = int(self.chain.w3.eth.get_block("latest")["timestamp"])
        readings = [
            self.device.sign_reading(dataclasses.replace(r.reading, timestamp=now - 3600 + i),
                                     self.system.domain, r.meter_path)
            for i, r in enumerate(signed_readings(count, seed=seed, key=self.device))]
        return self.device.close_batch(batch_seq, readings, self.system.domain)


def deploy_actors(chain: Chain) -> Actors:
    accounts = chain.unlocked_accounts()
    admin = Transactor(chain, NodeSigner(accounts[0]))
    system = System(chain, deploy_system(admin))
    enterprise = Transactor(chain, NodeSigner(accounts[1]))
    system.grant_role(admin, "ENTERPRISE_ROLE", enterprise.address)
    device = DeviceKey.generate()
    admin.transfer(format_address(device.address), 10**20)
    system.register_device(enterprise, device, SITE, METADATA)
    return Actors(chain, system, admin, enterprise, device,
                  Transactor(chain, KeySigner(device)))


@pytest.fixture
def actors(chain: Chain) -> Actors:
    return deploy_actors(chain)


@pytest.fixture
def make_actors() -> Callable[[Chain], Actors]:
    return deploy_actors
