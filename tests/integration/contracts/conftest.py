"""Chain fixtures for the contract tests: two backends, everything deployed from contracts/build.

Every contract test runs twice, on the embedded chain (web3 ``EthereumTesterProvider``, py-evm)
and on a real ``anvil`` node (one per session, 127.0.0.1, random port, ``--silent``, hardfork =
the artifacts' evmVersion). The whole system is deployed once per backend; each test runs
between an ``evm_snapshot`` and an ``evm_revert``, so tests never see each other's state.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
from eth_tester import EthereumTester, PyEVMBackend
from eth_utils import keccak
from integration.contracts.support import (
    ADMIN_DELAY,
    ANVIL,
    BACKENDS,
    BUILD_DIR,
    GAS_FIGURES,
    MAX_CLOCK_SKEW,
    METHODOLOGY_ID,
    PLACEHOLDER_GRID_FACTORS,
    SITE,
    SITE_B,
    SPEC_HASH,
    V1_EFFECTIVE_FROM,
    Artifacts,
    Chain,
    Device,
    System,
    account,
)
from web3 import EthereumTesterProvider, HTTPProvider, Web3


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def artifacts() -> Artifacts:
    return Artifacts(BUILD_DIR)


@pytest.fixture(scope="session")
def anvil_w3(artifacts: Artifacts) -> Iterator[Web3]:
    """A real anvil node on 127.0.0.1 for the whole session, stopped afterwards."""
    if not ANVIL.exists():
        pytest.fail(f"anvil not found at {ANVIL}: run `make setup` "
                    "(npm install; package @foundry-rs/anvil)")
    hardfork = artifacts["AnchorRegistry"]["settings"]["evmVersion"]
    with tempfile.TemporaryFile() as log:
        for _attempt in range(3):  # a free port can be taken between probing and binding
            port = _free_port()
            proc = subprocess.Popen(
                [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--silent",
                 "--hardfork", hardfork, "--accounts", "2", "--balance", "1000000"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
            w3 = Web3(HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 30}))
            try:
                if _wait_until_connected(w3, proc, timeout=30):
                    yield w3
                    return
            finally:
                _stop(proc)
        log.seek(0)
        pytest.fail(f"anvil did not start on 127.0.0.1 (exit {proc.poll()}):\n"
                    f"{log.read().decode(errors='replace')[-2000:]}")


def _wait_until_connected(w3: Web3, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _connected(w3):
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _connected(w3: Web3) -> bool:
    try:
        return w3.is_connected()
    except Exception:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the anvil we started: its node wrapper and the native child (one process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session", params=BACKENDS)
def chain(request: pytest.FixtureRequest, artifacts: Artifacts) -> Chain:
    if request.param == "anvil":
        w3 = request.getfixturevalue("anvil_w3")
    else:
        evm_version = artifacts["AnchorRegistry"]["settings"]["evmVersion"]
        backend = PyEVMBackend(vm_configuration=((0, _py_evm_fork(evm_version)),))
        w3 = Web3(EthereumTesterProvider(EthereumTester(backend)))
    return Chain(request.param, w3, artifacts)


def _py_evm_fork(evm_version: str) -> type:
    """The py-evm VM of the artifacts' evmVersion, so both backends run the same fork."""
    from eth.vm import forks

    names = {"london": "LondonVM", "paris": "ParisVM", "shanghai": "ShanghaiVM",
             "cancun": "CancunVM", "prague": "PragueVM"}
    if evm_version not in names:
        pytest.fail(f"no py-evm fork configured for evmVersion {evm_version!r}")
    return getattr(forks, names[evm_version])  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def deployment(chain: Chain) -> System:
    """Deploy and configure everything once per backend."""
    labels = ("admin", "association", "association2", "enterprise", "enterprise2", "regulator",
              "outsider")
    people = {label: account(label) for label in labels}
    device, device2 = Device.from_label("one"), Device.from_label("two")
    spares = tuple(Device.from_label(f"spare-{i}") for i in range(4))
    for address in [a.address for a in people.values()] + [
            d.address for d in (device, device2, *spares)]:
        chain.fund(address)
    admin = people["admin"]

    consortium = chain.deploy("Consortium", ADMIN_DELAY, admin.address, sender=admin)
    anchors = chain.deploy("AnchorRegistry", consortium.address, MAX_CLOCK_SKEW, sender=admin)
    devices = chain.at("DeviceRegistry", anchors.functions.deviceRegistry().call())
    methodologies = chain.deploy("MethodologyRegistry", consortium.address, sender=admin)
    reports = chain.deploy("ReportRegistry", consortium.address, methodologies.address,
                           sender=admin)
    roles = consortium.functions
    for label, role in (("association", roles.ASSOCIATION_ROLE()),
                        ("association2", roles.ASSOCIATION_ROLE()),
                        ("enterprise", roles.ENTERPRISE_ROLE()),
                        ("enterprise2", roles.ENTERPRISE_ROLE()),
                        ("regulator", roles.REGULATOR_ROLE())):
        chain.send(roles.grantRole(role.call(), people[label].address), admin)

    association = people["association"]
    electricity = chain.deploy("LocationBasedElectricity", METHODOLOGY_ID, 1, SPEC_HASH,
                               PLACEHOLDER_GRID_FACTORS, sender=association)
    chain.send(methodologies.functions.publish(METHODOLOGY_ID, electricity.address,
                                               V1_EFFECTIVE_FROM), association)
    chain.send(devices.functions.registerDevice(device.address, SITE, keccak(text="meta-1")),
               people["enterprise"])
    chain.send(devices.functions.registerDevice(device2.address, SITE_B, keccak(text="meta-2")),
               people["enterprise2"])
    return System(chain=chain, device=device, device2=device2, spares=spares,
                  consortium=consortium, anchors=anchors, devices=devices,
                  methodologies=methodologies, reports=reports, electricity=electricity,
                  **people)


@pytest.fixture
def system(deployment: System) -> Iterator[System]:
    """The deployed system, rolled back to its deployed state after the test."""
    snapshot = deployment.chain.snapshot()
    try:
        yield deployment
    finally:
        deployment.chain.revert(snapshot)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not GAS_FIGURES:
        return
    terminalreporter.section("TrustMRV contract gas (paris, optimizer 200 runs)")
    for what, by_backend in GAS_FIGURES.items():
        figures = ", ".join(f"{backend} {gas:,}" for backend, gas in sorted(by_backend.items()))
        terminalreporter.write_line(f"{what:<58} {figures}")
