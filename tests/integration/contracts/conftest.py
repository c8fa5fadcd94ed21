"""Chain fixtures for the contract tests: two backends, everything deployed from the
committed artifacts (mrv_core/chain/contracts).

Every contract test runs twice, on the embedded chain (``mrv_core.chain.connect(None)``: web3's
eth-tester with py-evm) and on the session's real anvil node (``anvil_url``, from
``tests/integration/conftest.py``), both at the artifacts' evmVersion. The whole system is
deployed once per backend with ``mrv_core.chain.deploy_system``; each test runs between an
``evm_snapshot`` and an ``evm_revert``, so tests never see each other's state.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_utils import keccak
from integration.contracts.support import (
    ADMIN_DELAY,
    BACKENDS,
    ENGINE_FACTORS,
    ENGINE_ID,
    ENGINE_SOURCES,
    ENGINE_SPEC_HASH,
    MAX_CLOCK_SKEW,
    METHODOLOGY_ID,
    PLACEHOLDER_FACTORS,
    PLACEHOLDER_SOURCES,
    SITE,
    SITE_B,
    SPEC_HASH,
    V1_EFFECTIVE_FROM,
    Backend,
    Device,
    System,
    account,
    create_methodology,
)

from mrv_core.chain import Artifacts, connect, deploy_system, load_artifacts
from mrv_core.chain import System as ChainSystem


@pytest.fixture(scope="session")
def artifacts() -> Artifacts:
    return load_artifacts()


@pytest.fixture(scope="session", params=BACKENDS)
def chain(request: pytest.FixtureRequest, artifacts: Artifacts) -> Backend:
    url = request.getfixturevalue("anvil_url") if request.param == "anvil" else None
    return Backend(request.param, connect(url, evm_version=artifacts.evm_version()))


@pytest.fixture(scope="session")
def deployment(chain: Backend) -> System:
    """Deploy and configure everything once per backend."""
    labels = ("admin", "association", "association2", "enterprise", "enterprise2", "regulator",
              "outsider")
    people = {label: account(label) for label in labels}
    device, device2 = Device.from_label("one"), Device.from_label("two")
    spares = tuple(Device.from_label(f"spare-{i}") for i in range(4))
    for address in [a.address for a in people.values()] + [
            d.address for d in (device, device2, *spares)]:
        chain.fund(address)

    admin = chain.transactor(people["admin"])
    core = ChainSystem(chain.client, deploy_system(
        admin, admin=admin.address, admin_transfer_delay=ADMIN_DELAY,
        max_clock_skew=MAX_CLOCK_SKEW))
    for label, role in (("association", "ASSOCIATION_ROLE"),
                        ("association2", "ASSOCIATION_ROLE"),
                        ("enterprise", "ENTERPRISE_ROLE"),
                        ("enterprise2", "ENTERPRISE_ROLE"),
                        ("regulator", "REGULATOR_ROLE")):
        core.grant_role(admin, role, people[label].address)

    association = people["association"]
    chain.send(core.methodologies.functions.assignId(METHODOLOGY_ID, association.address),
               people["admin"])
    electricity = create_methodology(chain, core, METHODOLOGY_ID, 1, SPEC_HASH,
                                     PLACEHOLDER_SOURCES, PLACEHOLDER_FACTORS, sender=association)
    engine, _ = chain.deploy("FactorMethodology", ENGINE_ID, 1, ENGINE_SPEC_HASH, ENGINE_SOURCES,
                             ENGINE_FACTORS, sender=association)
    chain.send(core.methodologies.functions.publish(METHODOLOGY_ID, electricity.address,
                                                    V1_EFFECTIVE_FROM), association)
    core.register_device(chain.transactor(people["enterprise"]), device.key, SITE,
                         keccak(text="meta-1"))
    core.register_device(chain.transactor(people["enterprise2"]), device2.key, SITE_B,
                         keccak(text="meta-2"))
    return System(chain=chain, core=core, device=device, device2=device2, spares=spares,
                  electricity=electricity, engine=engine, **people)


@pytest.fixture
def system(deployment: System) -> Iterator[System]:
    """The deployed system, rolled back to its deployed state after the test."""
    snapshot = deployment.chain.snapshot()
    try:
        yield deployment
    finally:
        deployment.chain.revert(snapshot)
