"""Gas: the anchor budget (<= 60,000 in steady state, whatever the batch size) and a gas report.

Gas is deterministic for a given EVM version and input, so the figures are exact; both backends
must agree. They are printed in the terminal summary (section "TrustMRV contract gas").
"""

from __future__ import annotations

import random

import pytest
from eth_utils import keccak
from integration.contracts.support import (
    GRID,
    METHODOLOGY_ID,
    PLACEHOLDER_GRID_FACTORS,
    SITE,
    SPEC_HASH,
    System,
    bytes32,
    make_report,
    record_gas,
    year_start,
)

from mrv_core import MerkleTree, process_proof
from mrv_core.chain import Sent, deploy_system

ANCHOR_BUDGET = 60_000
FROM_TIMESTAMP = 0x6511_2233
TO_TIMESTAMP = 0x6511_2244


def _root(i: int) -> bytes:
    root = keccak(text=f"root-{i}")
    assert 0 not in root  # keeps the calldata cost of every root equal
    return root


@pytest.mark.parametrize("leaf_count", [1, 1_000, 2**32 - 1])
def test_steady_state_anchor_within_budget(system: System, leaf_count: int) -> None:
    device = system.device
    # Fixed timestamps (all bytes non-zero): calldata, hence gas, is the same in every run.
    window = (FROM_TIMESTAMP, TO_TIMESTAMP)
    first = system.anchor(device, 0, _root(0), leaf_count, *window)
    second = system.anchor(device, 1, _root(1), leaf_count, *window)
    third = system.anchor(device, 2, _root(2), leaf_count, *window)
    backend = system.chain.name
    record_gas(backend, f"anchor, first of a device (leafCount {leaf_count})", first.gas_used)
    record_gas(backend, f"anchor, steady state (leafCount {leaf_count})", second.gas_used)
    assert second.gas_used <= ANCHOR_BUDGET, f"steady-state anchor costs {second.gas_used}"
    assert third.gas_used == second.gas_used
    assert first.gas_used <= ANCHOR_BUDGET


def _deploy_gas(system: System, name: str, *args: object) -> int:
    _, sent = system.chain.deploy(name, *args, sender=system.admin)
    return sent.gas_used


def test_gas_report(system: System) -> None:
    """Measure every state-changing function once, in a fixed scenario (figures in the summary)."""
    chain, backend = system.chain, system.chain.name
    consortium = system.consortium.address

    def gas(what: str, sent: Sent) -> None:
        record_gas(backend, what, sent.gas_used)

    deployed = deploy_system(chain.transactor(system.admin), admin_transfer_delay=3600,
                             max_clock_skew=300)
    assert list(deployed.gas_used) == [
        "Consortium", "AnchorRegistry (creates DeviceRegistry)", "MethodologyRegistry",
        "ReportRegistry"]
    for contract, used in deployed.gas_used.items():
        record_gas(backend, f"deploy {contract}", used)
    record_gas(backend, "deploy DeviceRegistry alone (for reference)",
               _deploy_gas(system, "DeviceRegistry", consortium))
    record_gas(backend, "deploy LocationBasedElectricity (4 factor rows)",
               _deploy_gas(system, "LocationBasedElectricity", METHODOLOGY_ID, 7, SPEC_HASH,
                           PLACEHOLDER_GRID_FACTORS))

    c, d = system.consortium.functions, system.devices.functions
    gas("Consortium.grantRole", chain.send(
        c.grantRole(system.role("ENTERPRISE_ROLE"), system.outsider.address), system.admin))
    spare = system.spares
    gas("DeviceRegistry.registerDevice (enterprise's first device)", chain.send(
        d.registerDevice(spare[0].address, SITE, keccak(text="m")), system.outsider))
    gas("DeviceRegistry.registerDevice (further device)", chain.send(
        d.registerDevice(spare[1].address, SITE, keccak(text="m")), system.enterprise))
    gas("DeviceRegistry.suspendDevice", chain.send(d.suspendDevice(spare[1].address),
                                                   system.regulator))
    gas("DeviceRegistry.reinstateDevice", chain.send(d.reinstateDevice(spare[1].address),
                                                     system.regulator))
    gas("DeviceRegistry.rotateDevice", chain.send(
        d.rotateDevice(spare[1].address, spare[2].address, keccak(text="m2")), system.enterprise))
    gas("DeviceRegistry.revokeDevice", chain.send(d.revokeDevice(spare[2].address),
                                                  system.enterprise))
    gas("AnchorRegistry.setMaxClockSkew", chain.send(
        system.anchors.functions.setMaxClockSkew(600), system.admin))

    m = system.methodologies.functions
    alt, _ = chain.deploy("LocationBasedElectricity", bytes32("alt.id"), 1, SPEC_HASH,
                          PLACEHOLDER_GRID_FACTORS, sender=system.association)
    gas("MethodologyRegistry.publish (first version of an id)", chain.send(
        m.publish(bytes32("alt.id"), alt.address, 0), system.association))
    v2, _ = chain.deploy("LocationBasedElectricity", METHODOLOGY_ID, 2, SPEC_HASH,
                         PLACEHOLDER_GRID_FACTORS, sender=system.association)
    gas("MethodologyRegistry.publish (later version)", chain.send(
        m.publish(METHODOLOGY_ID, v2.address, 0x01_2345_6789),  # far future, fixed calldata
        system.association))

    r = system.reports.functions
    report = make_report(system)
    report_hash = r.hashReport(report).call()
    gas("ReportRegistry.submitReport", chain.send(r.submitReport(report), system.enterprise))
    gas("ReportRegistry.submitReport (correction)", chain.send(
        r.submitReport(make_report(system, scope2=1, total=1, supersedes=report_hash)),
        system.enterprise))
    gas("ReportRegistry.attestReport", chain.send(
        r.attestReport(report_hash, 1, keccak(text="statement")), system.regulator))


def _view_gas(system: System, call: object) -> int:
    """Gas of a view function executed as a transaction (21,000 + calldata + execution): what an
    eth_call of it consumes, measured exactly from a receipt."""
    return system.chain.send(call, system.outsider).gas_used


@pytest.mark.parametrize("depth", [10, 20])
def test_verify_reading_call_gas(system: System, depth: int) -> None:
    rng = random.Random(depth)
    leaf = rng.randbytes(32)
    proof = [rng.randbytes(32) for _ in range(depth)]
    root = process_proof(leaf, proof)
    system.anchor(system.device, 0, root, 2**depth, FROM_TIMESTAMP, TO_TIMESTAMP)
    call = system.anchors.functions.verifyReading(system.device.address, 0, leaf, proof)
    assert call.call()
    record_gas(system.chain.name, f"verifyReading, proof depth {depth}",
               _view_gas(system, call))


def test_verify_readings_and_compute_call_gas(system: System) -> None:
    rng = random.Random(1)
    tree = MerkleTree([rng.randbytes(32) for _ in range(1024)])
    system.anchor(system.device, 0, tree.root, 1024, FROM_TIMESTAMP, TO_TIMESTAMP)
    multi, _ = tree.multiproof(rng.sample(range(1024), 16))
    call = system.anchors.functions.verifyReadings(
        system.device.address, 0, list(multi.leaves), list(multi.proof), list(multi.proof_flags))
    assert call.call()
    backend = system.chain.name
    record_gas(backend, "verifyReadings, 16 of 1024 leaves", _view_gas(system, call))
    start = year_start(2022)
    for count in (1, 10):
        compute = system.electricity.functions.compute(
            start, start + 86_400, [(GRID, 10**9, bytes(32))] * count)
        record_gas(backend, f"LocationBasedElectricity.compute, {count} activities",
                   _view_gas(system, compute))
