"""Real servers for the integration tests: anvil JSON-RPC nodes on 127.0.0.1, one per session and
hardfork: the contracts' own (paris, a consortium-like chain) and anvil's newest default, with
EIP-7825's per-transaction gas cap enforced (the chains users run).

anvil comes from npm (``@foundry-rs/anvil``, pinned in package.json, installed by `make setup`),
started by :mod:`local_servers.anvil` (shared with the benchmarks).
A missing binary fails the run instead of skipping it: the README's test command installs it,
and an integration suite that silently skips proves nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
from integration.accounting.support import shallow
from report_chain import ReportChain, deploy_report_chain

from local_servers import free_port
from local_servers.anvil import AnvilUnavailable, start_anvil, stop_anvil
from mrv_core.chain import load_artifacts

__all__ = ["SIMULATED_GENESIS", "SIMULATED_START", "free_port"]  # free_port: for the tests


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """URL of a real anvil node on 127.0.0.1 for the whole session (stopped afterwards), at the
    hardfork the contracts are compiled for, with 10 funded, unlocked dev accounts."""
    yield from _anvil("--hardfork", load_artifacts().evm_version())


@pytest.fixture(scope="session")
def anvil_latest_url() -> Iterator[str]:
    """Like :func:`anvil_url`, at anvil's own default hardfork (its newest: EIP-3860's initcode
    cap, EIP-7825's cap of 2**24 gas per transaction with ``--enable-tx-gas-limit``)."""
    yield from _anvil("--enable-tx-gas-limit")


#: Genesis time of :func:`anvil_simulated_url`'s chain: 2026-09-30T00:00:00+08:00, a day before
#: :data:`SIMULATED_START`, the simulated start of the tests that drive a chain's clock.
SIMULATED_GENESIS = 1_790_697_600
SIMULATED_START = 1_790_784_000  # 2026-10-01T00:00:00+08:00


@pytest.fixture
def anvil_simulated_url() -> Iterator[str]:
    """A fresh anvil for one test whose chain clock simulated time drives (``ChainClock``), at
    the contracts' hardfork, genesis at :data:`SIMULATED_GENESIS`. Never the session's anvil:
    block time only goes forward, and a chain moved to a simulated instant would stay there for
    every later test."""
    yield from _anvil("--hardfork", load_artifacts().evm_version(),
                      "--timestamp", str(SIMULATED_GENESIS))


def _anvil(*options: str) -> Iterator[str]:
    """Run anvil with ``options`` until the generator is closed; yield its URL."""
    with tempfile.TemporaryFile() as log:
        try:
            url, proc = start_anvil(*options, log=log)
        except AnvilUnavailable as exc:
            log.seek(0)
            pytest.fail(f"{exc}:\n{log.read().decode(errors='replace')[-2000:]}",
                        pytrace=False)
        try:
            yield url
        finally:
            stop_anvil(proc)


@pytest.fixture(scope="session")
def report_chain() -> ReportChain:
    """The embedded chain of the report tests (``tests/report_chain.py``), deployed once per
    session on a shallow worker thread (``integration.accounting.support.shallow``)."""
    return shallow(deploy_report_chain)
