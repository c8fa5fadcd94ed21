"""Measure the gas of every state-changing contract function from real transactions and write
``docs/gas.md``.

One fixed scenario on the embedded chain (``mrv_core.chain.connect(None)``): deploy the system
with ``mrv_core.chain.deploy_system``, then send every state-changing function of every contract
at least once through ``mrv_core.chain`` (a :class:`~mrv_core.chain.Transactor` per actor), and
read ``gasUsed`` from each receipt. View functions whose cost matters to verifiers are sent as
transactions too, for an exact figure.

Every input is fixed: account keys are keccak256 of fixed labels, hashes (roots, leaves, proof
nodes, sites, statements) are keccak256 of fixed labels picked to contain no zero byte, and
timestamps have no zero byte either; a signature (device consent, relayed batch header) depends on
the registries' addresses, so its deadline or root is the first candidate whose signature has no
zero byte. Every transaction's calldata, and with it its gas, is the same in every run. The block
time only enters comparisons and stored values that are never zero, so the node's clock does not
change any figure. The output is byte-for-byte deterministic::

    .venv/bin/python scripts/gas_report.py            # write docs/gas.md
    .venv/bin/python scripts/gas_report.py --check    # exit 1 when docs/gas.md is stale
    .venv/bin/python scripts/gas_report.py --out FILE

``tests/docs/test_gas_report.py`` runs ``--check``. ``tests/integration/contracts/test_gas.py``
runs the same scenario (:func:`measure`) on the embedded chain and on anvil, checks the anchor
budget and that both backends agree.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

from mrv_core.batch import BatchHeader
from mrv_core.chain import (
    Artifacts,
    Chain,
    KeySigner,
    NodeSigner,
    Sent,
    System,
    Transactor,
    connect,
    deploy_system,
    load_artifacts,
)
from mrv_core.chain.deployment import DEFAULT_ADMIN_DELAY_S, DEFAULT_MAX_CLOCK_SKEW_S
from mrv_core.codec import format_address
from mrv_core.consent import DeviceConsent, sign_consent
from mrv_core.hashing import keccak256
from mrv_core.keys import DeviceKey
from mrv_core.merkle import MerkleTree, process_proof

__all__ = [
    "ANCHOR_BUDGET",
    "ANCHOR_BY_SIG_BUDGET",
    "CONTRACTS",
    "LEAF_COUNTS",
    "AnchorGas",
    "GasReport",
    "Measurement",
    "check",
    "generate",
    "main",
    "measure",
    "render",
    "state_changing_functions",
]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "gas.md"
COMMAND = ".venv/bin/python scripts/gas_report.py"

#: Gas a device may spend on one steady-state anchor. tests/integration/contracts/test_gas.py
#: fails when any steady-state anchor of the scenario exceeds it, on both backends.
ANCHOR_BUDGET = 60_000
#: Gas a relayer may spend on one steady-state ``anchorBySig`` (the device's signature over the
#: header is checked on chain: calldata, the EIP-712 hash, ecrecover, one more event).
ANCHOR_BY_SIG_BUDGET = 70_000
#: Batch sizes anchored: the smallest, a typical day of readings, the largest a uint32 allows.
LEAF_COUNTS = (1, 1_000, 2**32 - 1)
#: Every contract of a deployment, and the methodology; their state-changing functions must all run.
CONTRACTS = ("Consortium", "AnchorRegistry", "DeviceRegistry", "MethodologyRegistry",
             "ReportRegistry", "MethodologyFactory", "FactorMethodology")
#: The transactions of ``deploy_system``, as its ``Deployment.gas_used`` names them.
DEPLOY_SYSTEM = ("Consortium", "AnchorRegistry (creates DeviceRegistry)",
                 "Consortium.bindDeviceRegistry", "MethodologyRegistry", "ReportRegistry")
#: Run only inside other functions: where the report says so.
INDIRECT = {
    "AnchorRegistry.setDeviceStatus":
        "callable only by the DeviceRegistry, which calls it to suspend, reinstate and revoke",
    "AnchorRegistry.addDevice":
        "callable only by the DeviceRegistry, which calls it in every registration and rotation",
    "AnchorRegistry.setEnterpriseStanding":
        "callable only by the DeviceRegistry, in `stopEnterprise` and `reactivateEnterprise`",
    "DeviceRegistry.stopEnterprise":
        "callable only by the Consortium, which calls it in `revokeRole(ENTERPRISE_ROLE)` and "
        "`renounceRole(ENTERPRISE_ROLE)`",
    "FactorMethodology.addFactors":
        "by its loader, the MethodologyFactory, in `MethodologyFactory.addFactors`",
    "FactorMethodology.seal":
        "by its loader, the MethodologyFactory, in `MethodologyFactory.create` and `.seal`",
}
#: What the MethodologyFactory calls on the FactorMethodology it is the loader of.
_FACTORY_CALLS = {"create": "seal", "addFactors": "addFactors", "seal": "seal"}

_INTRINSIC_GAS = 21_000
_FUNDING_WEI = 10**21
_BEIJING = timezone(timedelta(hours=8))

# -- fixed inputs ---------------------------------------------------------------------------------


def fixed_hash(label: str) -> bytes:
    """keccak256 of ``label`` (else of ``label#1``, ``label#2`` ...): the first with no zero byte,
    so calldata carrying it costs 16 gas per byte in every run."""
    for attempt in itertools.count():
        digest = keccak256((label if attempt == 0 else f"{label}#{attempt}").encode())
        if 0 not in digest:
            return digest
    raise AssertionError("unreachable")


def _nonzero_bytes(value: int) -> int:
    """``value`` itself, after checking its big-endian bytes contain no zero byte."""
    raw = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    if 0 in raw:
        raise ValueError(f"{value:#x} has a zero byte: its calldata cost would depend on it")
    return value


def bytes32(text: str) -> bytes:
    """Solidity's ``bytes32("text")``."""
    raw = text.encode("ascii")
    if len(raw) > 32:
        raise ValueError(f"{text!r} is longer than 32 bytes")
    return raw.ljust(32, b"\0")


def _beijing(year: int, month: int = 1, day: int = 1) -> int:
    return int(datetime(year, month, day, tzinfo=_BEIJING).timestamp())


def _key(label: str) -> DeviceKey:
    return DeviceKey.from_private_bytes(keccak256(f"trustmrv/gas-report/{label}".encode()))


#: Batch header times (2023-09-25, UTC): before any block time, so the clock-skew check passes.
FROM_TIMESTAMP = _nonzero_bytes(0x6511_2233)
TO_TIMESTAMP = _nonzero_bytes(0x6511_2244)
#: The reported and computed period: June 2022 in Beijing time.
PERIOD_START = _nonzero_bytes(_beijing(2022, 6))
PERIOD_END = _nonzero_bytes(_beijing(2022, 7))
#: Version 1 takes effect 2020-01-01 (Beijing); version 2 in 2124, after any block time.
V1_EFFECTIVE_FROM = _nonzero_bytes(_beijing(2020))
V2_EFFECTIVE_FROM = _nonzero_bytes(0x01_2345_6789)
NEW_MAX_CLOCK_SKEW = _nonzero_bytes(600)
NEW_ADMIN_DELAY = _nonzero_bytes(86_400)

METHODOLOGY_ID = bytes32("cn.enterprise.placeholder")
GRID_EAST = bytes32("cn.grid.east")
GRID_NATIONAL = bytes32("cn.grid.national")
NATURAL_GAS = bytes32("fuel.natural_gas")
SPEC_HASH = fixed_hash("PLACEHOLDER specification of cn.enterprise.placeholder (gas report only)")
_PLACEHOLDER = "PLACEHOLDER: made-up value for the gas report, NOT an official factor"
_OPEN_ENDED = 2**64 - 1


def _source(code: bytes, unit: str, scope: int, parameters: tuple[str, ...], numerator: int,
            denominator: int) -> tuple[Any, ...]:
    """An emission source (``IFactorMethodology.SourceSpec``, kind 0)."""
    return (code, bytes32(unit), scope, 0, bytes(32), [bytes32(p) for p in parameters],
            numerator, denominator)


def _row(key: str, source: bytes, parameter: str, valid_from: int, valid_until: int, value: int,
         unit: str) -> tuple[Any, ...]:
    """A factor row (``IFactorMethodology.FactorRow``, decimals 0)."""
    return (bytes32(key), source, bytes32(parameter), valid_from, valid_until, value, 0,
            bytes32(unit), _PLACEHOLDER)


#: PLACEHOLDER METHODOLOGY: sources and factor table. These are NOT official emission factors:
#: made-up numbers of a plausible size, so that deployment and compute cost what a small real
#: methodology costs: two grid regions (one parameter, EF) and natural gas (three parameters,
#: NCV, CC, OF). The accounting work supplies the sourced tables.
PLACEHOLDER_SOURCES = [
    _source(GRID_EAST, "Wh", 2, ("EF",), 1, 10**6),
    _source(GRID_NATIONAL, "Wh", 2, ("EF",), 1, 10**6),
    _source(NATURAL_GAS, "dm3", 1, ("NCV", "CC", "OF"), 44, 12 * 10**9 * 10**4),
]
PLACEHOLDER_FACTORS = [
    _row("PLACEHOLDER/east/2022", GRID_EAST, "EF", _beijing(2022), _beijing(2023), 700_001,
         "gCO2/MWh"),
] + [
    _row(f"PLACEHOLDER/national/{year}", GRID_NATIONAL, "EF", _beijing(year), _beijing(year + 1),
         grams, "gCO2/MWh")
    for year, grams in ((2021, 612_340), (2022, 543_210), (2023, 498_760))
] + [
    _row("PLACEHOLDER/gas/NCV/2022", NATURAL_GAS, "NCV", _beijing(2022), _beijing(2023), 38_931,
         "J/dm3"),
    _row("PLACEHOLDER/gas/CC", NATURAL_GAS, "CC", _beijing(2020), _OPEN_ENDED, 15_300, "gC/GJ"),
    _row("PLACEHOLDER/gas/OF", NATURAL_GAS, "OF", _beijing(2020), _OPEN_ENDED, 9_900, "1e-4"),
]
SITE = fixed_hash("site/demo-co/wuxi-plant")
ACTIVITY_WH = _nonzero_bytes(0x1234_5678)  # 305 MWh
ACTIVITY_DM3 = _nonzero_bytes(10_000_000)  # 10,000 Nm3
#: Sources whose compute is measured: (label, code, amount), one and three parameters.
COMPUTE_SOURCES = (("electricity, 1 parameter", GRID_NATIONAL, ACTIVITY_WH),
                   ("natural gas, 3 parameters", NATURAL_GAS, ACTIVITY_DM3))
PROOF_DEPTHS = (10, 20)
MULTIPROOF_TREE = 1024
MULTIPROOF_POSITIONS = tuple(range(0, MULTIPROOF_TREE, MULTIPROOF_TREE // 16))  # 16 leaves
COMPUTE_LINES = (1, 10)

#: The accounts that send transactions (funded first); each anchoring device is one of them.
SENDERS = ("admin", "admin-successor", "association", "association-2", "enterprise",
           "enterprise-2", "regulator", "reader", "relayer", "meter-1", "meter-1000", "meter-max")
ANCHORING = {1: "meter-1", 1_000: "meter-1000", 2**32 - 1: "meter-max"}
#: Devices whose batches the relayer anchors with ``anchorBySig`` (they send nothing themselves).
RELAYED = {1: "relayed-1", 1_000: "relayed-1000", 2**32 - 1: "relayed-max"}
#: Deadline of every device consent: 2037-06-11 (UTC), after any block time, no zero byte.
CONSENT_DEADLINE = _nonzero_bytes(0x7F11_2233)

# -- what is measured -----------------------------------------------------------------------------

SECTIONS = ("Deployment", "Consortium", "DeviceRegistry", "AnchorRegistry", "MethodologyRegistry",
            "ReportRegistry", "Reads, sent as transactions")


@dataclass(frozen=True)
class Measurement:
    """The gas one transaction used."""

    section: str
    label: str
    gas: int
    note: str = ""

    @property
    def name(self) -> str:
        return f"deploy {self.label}" if self.section == "Deployment" else self.label


@dataclass(frozen=True)
class AnchorGas:
    """One ``AnchorRegistry.anchor`` (or ``anchorBySig``) transaction."""

    leaf_count: int
    batch_seq: int
    gas: int
    calldata: int  # EIP-2028: 16 gas per non-zero byte, 4 per zero byte
    function: str = "anchor"

    @property
    def execution(self) -> int:
        """``gasUsed - 21,000 - calldata``: what the contract's code costs."""
        return self.gas - _INTRINSIC_GAS - self.calldata

    @property
    def label(self) -> str:
        return (f"AnchorRegistry.{self.function}, leafCount {self.leaf_count:,}, batchSeq "
                f"{self.batch_seq}")


@dataclass(frozen=True)
class GasReport:
    """Everything one run of the scenario measured."""

    rows: tuple[Measurement, ...]
    anchors: tuple[AnchorGas, ...]
    relayed: tuple[AnchorGas, ...]  # anchorBySig
    after_stop: AnchorGas  # a device's first anchor after some enterprise was stopped
    covered: frozenset[str]  # "Contract.function" of every state-changing function that ran

    def figures(self) -> dict[str, int]:
        """Every measured figure by name (equal on every backend for the same artifacts)."""
        return {**{m.name: m.gas for m in self.rows},
                **{a.label: a.gas for a in (*self.anchors, *self.relayed)},
                f"{self.after_stop.label}, after a stop": self.after_stop.gas}

    def anchor_series(self, leaf_count: int, *, relayed: bool = False) -> tuple[AnchorGas, ...]:
        """The anchors (``relayed``: anchorBySig) of the device that anchored batches of
        ``leaf_count`` (batchSeq 0, 1, 2)."""
        return tuple(a for a in (self.relayed if relayed else self.anchors)
                     if a.leaf_count == leaf_count)

    def steady_state(self, leaf_count: int, *, relayed: bool = False) -> AnchorGas:
        """A steady-state anchor: batch 1, an anchor like every later one (batch 0's calldata
        carries a zero batchSeq, 12 gas less)."""
        return self.anchor_series(leaf_count, relayed=relayed)[1]


class _Scenario:
    """The fixed scenario: actors, the deployed system, and what each transaction cost."""

    system: System  # set by deploy_everything, the first step
    methodology: Any  # FactorMethodology version 1
    factory: Any  # the MethodologyFactory the registry created

    def __init__(self, chain: Chain, artifacts: Artifacts,
                 mine_block_at: Callable[[int], None]) -> None:
        self.chain = chain
        self.artifacts = artifacts
        self.mine_block_at = mine_block_at
        self.rows: list[Measurement] = []
        self.anchors: list[AnchorGas] = []
        self.relayed: list[AnchorGas] = []
        self.after_stop: AnchorGas | None = None
        self.covered: set[str] = set()
        self.names: dict[str, str] = {}  # contract address -> artifact name
        self.keys = {label: _key(label) for label in (*SENDERS, *RELAYED.values(),
                                                      "meter-retired", "meter-successor")}
        self.actors = {label: Transactor(chain, KeySigner(self.keys[label]), artifacts=artifacts)
                       for label in SENDERS}
        funder = Transactor(chain, NodeSigner(chain.unlocked_accounts()[0]), artifacts=artifacts)
        for actor in self.actors.values():
            funder.transfer(actor.address, _FUNDING_WEI)

    # -- helpers ----------------------------------------------------------------------------------

    def address(self, label: str) -> str:
        return format_address(self.keys[label].address)

    def record(self, section: str, label: str, gas: int, note: str = "") -> None:
        if section not in SECTIONS:
            raise ValueError(f"unknown section {section!r}")
        if any(row.label == label for row in self.rows):
            raise ValueError(f"measured twice: {label!r}")
        self.rows.append(Measurement(section, label, gas, note))

    def send(self, sender: str, contract: Any, fn: str, *args: Any) -> Sent:
        """Send ``contract.fn(*args)`` from ``sender``'s Transactor; note that ``fn`` ran."""
        name = self.names[contract.address]
        sent = self.actors[sender].send(getattr(contract.functions, fn)(*args),
                                        description=f"{name}.{fn} by {sender}")
        self.covered.add(f"{name}.{fn}")
        if name == "MethodologyFactory" and (fn != "create" or not args[-1]):
            self.covered.add(f"FactorMethodology.{_FACTORY_CALLS[fn]}")
        self.cover_indirect(sent.receipt)
        return sent

    def cover_indirect(self, receipt: Any) -> None:
        """Note the functions only other contracts call, by the events they emit."""
        added = len(self.anchor_events(receipt, "DeviceAdded"))
        if added:
            self.covered.add("AnchorRegistry.addDevice")
        if len(self.anchor_events(receipt, "DeviceStatusUpdated")) > added:
            self.covered.add("AnchorRegistry.setDeviceStatus")
        if self.anchor_events(receipt, "EnterpriseStandingUpdated"):
            self.covered.add("AnchorRegistry.setEnterpriseStanding")
        from web3.logs import DISCARD

        stopped = self.system.devices.events.EnterpriseStopped().process_receipt(
            receipt, errors=DISCARD)
        if stopped:
            self.covered.add("DeviceRegistry.stopEnterprise")

    def measure(self, section: str, sender: str, contract: Any, fn: str, *args: Any,
                variant: str = "", note: str = "") -> Sent:
        """Send like :meth:`send` and record the gas as ``Contract.fn`` + ``variant``."""
        sent = self.send(sender, contract, fn, *args)
        if section == "DeviceRegistry" and not (
                self.anchor_events(sent.receipt, "DeviceStatusUpdated")
                or self.anchor_events(sent.receipt, "EnterpriseStandingUpdated")):
            raise RuntimeError(f"{fn} pushed nothing into the AnchorRegistry")
        self.record(section, f"{self.names[contract.address]}.{fn}{variant}", sent.gas_used, note)
        return sent

    def deploy(self, sender: str, name: str, *args: Any) -> tuple[Any, Sent]:
        contract, sent = self.actors[sender].deploy(name, *args)
        self.names[contract.address] = name
        return contract, sent

    def anchor_events(self, receipt: Any, event: str) -> list[Any]:
        from web3.logs import DISCARD

        anchors = self.system.anchors
        logs = getattr(anchors.events, event)().process_receipt(receipt, errors=DISCARD)
        return [log for log in logs if log["address"] == anchors.address]

    def fetch(self, what: str, tx_hash: bytes) -> Any:
        w3 = self.chain.w3
        get = w3.eth.get_transaction if what == "transaction" else w3.eth.get_transaction_receipt
        return self.chain.retrying(f"eth_get{what}", lambda: get(tx_hash))  # type: ignore[arg-type]

    def block_timestamp(self, number: int) -> int:
        block = self.chain.retrying("eth_getBlockByNumber",
                                    lambda: self.chain.w3.eth.get_block(number))
        return int(block["timestamp"])

    # -- the scenario -----------------------------------------------------------------------------

    def run(self) -> GasReport:
        self.deploy_everything()
        self.roles()
        self.methodologies()
        self.devices()
        self.anchoring()
        self.standing()
        self.reads()
        self.reports()
        self.admin_handover()
        if self.after_stop is None:
            raise RuntimeError("the scenario measured no anchor after a stop")
        return GasReport(tuple(self.rows), tuple(self.anchors), tuple(self.relayed),
                         self.after_stop, frozenset(self.covered))

    def deploy_everything(self) -> None:
        section = "Deployment"
        deployment = deploy_system(self.actors["admin"])  # `mrv chain deploy`'s defaults
        self.system = System(self.chain, deployment, self.artifacts)
        for name, address in deployment.contracts.items():
            self.names[format_address(address)] = name
        self.covered.add("Consortium.bindDeviceRegistry")
        notes = {"Consortium": f"adminTransferDelay {DEFAULT_ADMIN_DELAY_S:,} s",
                 "MethodologyRegistry": "its constructor deploys the MethodologyFactory, which "
                                        "embeds FactorMethodology's creation code",
                 "AnchorRegistry (creates DeviceRegistry)":
                     f"maxClockSkew {DEFAULT_MAX_CLOCK_SKEW_S} s; its constructor deploys the "
                     "DeviceRegistry",
                 "Consortium.bindDeviceRegistry":
                     "the DeviceRegistry told of lost enterprise roles; before it, no "
                     "ENTERPRISE_ROLE is granted"}
        if tuple(deployment.gas_used) != DEPLOY_SYSTEM:
            raise RuntimeError(f"deploy_system sent {list(deployment.gas_used)}, expected "
                               f"{list(DEPLOY_SYSTEM)}")
        for name, gas in deployment.gas_used.items():
            self.record(section, name, gas, notes.get(name, ""))
        _, alone = self.deploy("admin", "DeviceRegistry", deployment.address("Consortium"))
        self.record(section, "DeviceRegistry alone", alone.gas_used,
                    "for reference only: never deployed on its own")
        registry = self.system.methodologies
        self.factory = self.system.at("MethodologyFactory", self.chain.retrying(
            "eth_call", registry.functions.factory().call))
        self.names[self.factory.address] = "MethodologyFactory"
        self.methodology, sent = self.create(1, PLACEHOLDER_FACTORS, keep_open=False)
        self.record(section, "FactorMethodology, by MethodologyFactory.create", sent.gas_used,
                    f"version 1, sealed at once: {len(PLACEHOLDER_SOURCES)} sources and the "
                    f"{len(PLACEHOLDER_FACTORS)}-row PLACEHOLDER factor table (made-up values, "
                    "not official factors)")

    def create(self, version: int, factors: list[Any], *, keep_open: bool,
               measured: str = "") -> tuple[Any, Sent]:
        """A FactorMethodology version created by the association through the factory (the gas
        recorded as ``MethodologyFactory.create`` + ``measured`` when that is given)."""
        args = (METHODOLOGY_ID, version, SPEC_HASH, PLACEHOLDER_SOURCES, factors, keep_open)
        sent = (self.measure("MethodologyRegistry", "association", self.factory, "create", *args,
                             variant=measured,
                             note=f"{len(factors)} of the {len(PLACEHOLDER_FACTORS)} rows")
                if measured else self.send("association", self.factory, "create", *args))
        from web3.logs import DISCARD

        (event,) = self.factory.events.MethodologyCreated().process_receipt(sent.receipt,
                                                                            errors=DISCARD)
        address = str(event.args.methodology)
        self.names[address] = "FactorMethodology"
        return self.system.at("FactorMethodology", address), sent

    def roles(self) -> None:
        consortium, role = self.system.consortium, self.system.role
        checks = {"ENTERPRISE_ROLE": "checks the account holds no REGULATOR_ROLE",
                  "REGULATOR_ROLE": "checks the account holds no ENTERPRISE_ROLE"}
        for label, name in (("association", "ASSOCIATION_ROLE"), ("enterprise", "ENTERPRISE_ROLE"),
                            ("regulator", "REGULATOR_ROLE")):
            self.measure("Consortium", "admin", consortium, "grantRole", role(name),
                         self.actors[label].address, variant=f"({name})",
                         note=checks.get(name, ""))
        leaving = self.actors["enterprise-2"].address
        self.send("admin", consortium, "grantRole", role("ENTERPRISE_ROLE"), leaving)
        self.measure("Consortium", "admin", consortium, "revokeRole", role("ENTERPRISE_ROLE"),
                     leaving, variant="(ENTERPRISE_ROLE)",
                     note="also stops the enterprise: numbers it and records the stop in the "
                          "DeviceRegistry, moves the AnchorRegistry's standing epoch on")
        leaving = self.actors["association-2"].address
        self.send("admin", consortium, "grantRole", role("ASSOCIATION_ROLE"), leaving)
        self.measure("Consortium", "association-2", consortium, "renounceRole",
                     role("ASSOCIATION_ROLE"), leaving, variant="(ASSOCIATION_ROLE)",
                     note="by the holder itself")

    def methodologies(self) -> None:
        registry = self.system.methodologies
        self.measure("MethodologyRegistry", "admin", registry, "assignId", METHODOLOGY_ID,
                     self.actors["association"].address,
                     note="the admin assigns the id to the association before its first version")
        self.measure("MethodologyRegistry", "association", registry, "publish", METHODOLOGY_ID,
                     self.methodology.address, V1_EFFECTIVE_FROM,
                     variant=", the first version of an id",
                     note="the registry's first id; checks factory, seal; pins the code hash")
        # Version 2 loaded in two transactions, as a table too large for one is.
        half = len(PLACEHOLDER_FACTORS) // 2
        version2, _ = self.create(2, PLACEHOLDER_FACTORS[:half], keep_open=True,
                                  measured=", table kept open")
        self.measure("MethodologyRegistry", "association", self.factory, "addFactors",
                     version2.address, PLACEHOLDER_FACTORS[half:],
                     note=f"{len(PLACEHOLDER_FACTORS) - half} rows")
        self.measure("MethodologyRegistry", "association", self.factory, "seal", version2.address)
        self.measure("MethodologyRegistry", "association", registry, "publish", METHODOLOGY_ID,
                     version2.address, V2_EFFECTIVE_FROM, variant=", a later version",
                     note="version 2, in force from a future time")

    def consent(self, label: str, predecessor: str | None = None) -> tuple[int, bytes]:
        """``(deadline, signature)``: device ``label``'s consent to be registered by the
        enterprise at SITE (replacing device ``predecessor``). The signature depends on the
        registry's address, which differs between chains: the first deadline from
        CONSENT_DEADLINE on whose signature has no zero byte keeps calldata, hence gas, equal."""
        for deadline in itertools.count(CONSENT_DEADLINE):
            if 0 in deadline.to_bytes(4, "big"):
                continue
            consent = DeviceConsent(
                device=self.keys[label].address, enterprise=self.keys["enterprise"].address,
                site=SITE, deadline=deadline,
                predecessor=bytes(20) if predecessor is None else self.keys[predecessor].address)
            signed = sign_consent(self.keys[label], consent, self.system.consent_domain)
            signature = signed.signature
            if 0 not in signature:
                return deadline, signature
        raise AssertionError("unreachable")

    def devices(self) -> None:
        devices = self.system.devices

        def register(label: str, variant: str = "", note: str = "") -> None:
            args = (self.address(label), SITE, fixed_hash(f"metadata/{label}"),
                    *self.consent(label))
            if variant:
                self.measure("DeviceRegistry", "enterprise", devices, "registerDevice", *args,
                             variant=variant, note=note)
            else:
                self.send("enterprise", devices, "registerDevice", *args)

        register("meter-1", ", the enterprise's first device", "starts its devicesOf list")
        register("meter-1000", ", a further device")
        register("meter-max")
        register("meter-retired")
        for label in RELAYED.values():
            register(label)
        retired, successor = self.address("meter-retired"), self.address("meter-successor")
        self.measure("DeviceRegistry", "regulator", devices, "suspendDevice", retired)
        self.measure("DeviceRegistry", "regulator", devices, "reinstateDevice", retired)
        self.measure("DeviceRegistry", "enterprise", devices, "rotateDevice", retired, successor,
                     fixed_hash("metadata/meter-successor"),
                     *self.consent("meter-successor", "meter-retired"),
                     note="revokes the old key, registers the new one (its consent checked), "
                          "links the two")
        self.measure("DeviceRegistry", "enterprise", devices, "revokeDevice", successor)

    def anchor(self, device: str, batch_seq: int, root: bytes, leaf_count: int) -> AnchorGas:
        """Anchor through ``mrv_core.chain.System.anchor``, as the edge node does."""
        header = BatchHeader(device=self.keys[device].address, batch_seq=batch_seq, root=root,
                             leaf_count=leaf_count, from_timestamp=FROM_TIMESTAMP,
                             to_timestamp=TO_TIMESTAMP)
        ref = self.system.anchor(self.actors[device], header)
        self.covered.add("AnchorRegistry.anchor")
        return self.anchor_gas(header, ref.transaction_hash, "anchor")

    def anchor_by_sig(self, device: str, batch_seq: int, leaf_count: int) -> AnchorGas:
        """Relay ``device``'s signed header through ``mrv_core.chain.System.anchor_by_sig``. The
        device signs its header with ``DeviceKey.sign_batch`` under the chain's domain, which
        depends on the registry's address: the root is the first ``fixed_hash`` of
        ``root/DEVICE/SEQ#k`` whose signature has no zero byte, so calldata, hence gas, is equal
        on every chain."""
        for attempt in itertools.count():
            header = BatchHeader(device=self.keys[device].address, batch_seq=batch_seq,
                                 root=fixed_hash(f"root/{device}/{batch_seq}#{attempt}"),
                                 leaf_count=leaf_count, from_timestamp=FROM_TIMESTAMP,
                                 to_timestamp=TO_TIMESTAMP)
            signature = self.keys[device].sign_batch(header, self.system.domain)
            if 0 not in signature:
                break
        ref = self.system.anchor_by_sig(self.actors["relayer"], header, signature)
        self.covered.add("AnchorRegistry.anchorBySig")
        return self.anchor_gas(header, ref.transaction_hash, "anchorBySig")

    def anchor_gas(self, header: BatchHeader, tx_hash: bytes, function: str) -> AnchorGas:
        receipt = self.fetch("receipt", tx_hash)
        if self.system.anchored_headers(receipt) != [header]:
            raise RuntimeError(f"the {function} of {header} emitted another header")
        data = bytes(self.fetch("transaction", tx_hash)["input"])
        calldata = sum(16 if byte else 4 for byte in data)
        return AnchorGas(header.leaf_count, header.batch_seq, int(receipt["gasUsed"]), calldata,
                         function)

    def anchoring(self) -> None:
        self.measure("AnchorRegistry", "admin", self.system.anchors, "setMaxClockSkew",
                     NEW_MAX_CLOCK_SKEW)
        for leaf_count, device in ANCHORING.items():
            for batch_seq in range(3):
                root = fixed_hash(f"root/{device}/{batch_seq}")
                self.anchors.append(self.anchor(device, batch_seq, root, leaf_count))
        for leaf_count, device in RELAYED.items():
            for batch_seq in range(3):
                self.relayed.append(self.anchor_by_sig(device, batch_seq, leaf_count))

    def standing(self) -> None:
        """Reactivate the enterprise stopped in :meth:`roles`, stop it again, and anchor: every
        device's first anchor after any stop reads its enterprise's standing once."""
        consortium, devices = self.system.consortium, self.system.devices
        role = self.system.role("ENTERPRISE_ROLE")
        stopped = self.actors["enterprise-2"].address
        self.send("admin", consortium, "grantRole", role, stopped)
        self.measure("DeviceRegistry", "admin", devices, "reactivateEnterprise", stopped,
                     note="after the role was granted again")
        self.send("admin", consortium, "revokeRole", role, stopped)
        device = "meter-1"
        seq = self.system.next_batch_seq(self.keys[device].address)
        self.after_stop = self.anchor(device, seq, fixed_hash(f"root/{device}/{seq}"), 1)

    def reads(self) -> None:
        section, anchors = "Reads, sent as transactions", self.system.anchors
        device = "meter-1"
        raw_device = self.keys[device].address
        seq = self.system.next_batch_seq(raw_device)
        leaf = fixed_hash("leaf")
        for depth in PROOF_DEPTHS:
            proof = [fixed_hash(f"proof/{depth}/{level}") for level in range(depth)]
            self.anchor(device, seq, process_proof(leaf, proof), 2**depth)
            if not self.system.verify_reading(raw_device, seq, leaf, proof):
                raise RuntimeError(f"verifyReading rejects the depth-{depth} proof")
            self.measure(section, "reader", anchors, "verifyReading", self.address(device), seq,
                         leaf, proof, variant=f", proof depth {depth}")
            seq += 1

        tree = MerkleTree([fixed_hash(f"leaf/{i}") for i in range(MULTIPROOF_TREE)])
        self.anchor(device, seq, tree.root, MULTIPROOF_TREE)
        multi, _ = tree.multiproof(MULTIPROOF_POSITIONS)
        args = (list(multi.leaves), list(multi.proof), list(multi.proof_flags))
        if not self.system.verify_readings(raw_device, seq, *args):
            raise RuntimeError("verifyReadings rejects the multiproof")
        self.measure(section, "reader", anchors, "verifyReadings", self.address(device), seq,
                     *args, variant=f", {len(multi.leaves)} of {MULTIPROOF_TREE:,} leaves",
                     note=f"{len(multi.proof)} proof nodes, {len(multi.proof_flags)} flags")

        for label, source, amount in COMPUTE_SOURCES:
            for lines in COMPUTE_LINES:
                activities = [(source, amount, fixed_hash(f"evidence/{i}")) for i in range(lines)]
                call = self.methodology.functions.compute(PERIOD_START, PERIOD_END, activities)
                result = self.chain.retrying("eth_call", call.call)
                if len(result[0]) != lines or 0 in (grams for _, grams in result[0]):
                    raise RuntimeError(f"compute returned {result[0]} for {lines} lines")
                self.measure(section, "reader", self.methodology, "compute", PERIOD_START,
                             PERIOD_END, activities, variant=_compute_variant(label, lines))

    def reports(self) -> None:
        reports = self.system.reports
        report = self.report(scope2=0x12_3456_789A)
        report_hash = bytes(self.chain.retrying("eth_call",
                                                reports.functions.hashReport(report).call))
        self.measure("ReportRegistry", "enterprise", reports, "submitReport", report,
                     note="resolves the methodology in the MethodologyRegistry")
        self.measure("ReportRegistry", "enterprise", reports, "submitReport",
                     self.report(scope2=0x12_3456_78AB, supersedes=report_hash),
                     variant=", a correction", note="also marks the corrected report superseded")
        self.measure("ReportRegistry", "regulator", reports, "attestReport", report_hash, 1,
                     fixed_hash("statement/regulator"), note="verdict Accepted")

    def report(self, *, scope2: int, supersedes: bytes = bytes(32)) -> tuple[Any, ...]:
        return (self.actors["enterprise"].address, SITE, PERIOD_START, PERIOD_END,
                METHODOLOGY_ID, self.methodology.address, 0, _nonzero_bytes(scope2),
                _nonzero_bytes(scope2), fixed_hash("batches/2022-06"),
                fixed_hash("document/2022-06"), supersedes)

    def admin_handover(self) -> None:
        consortium = self.system.consortium
        successor = self.actors["admin-successor"].address
        self.measure("Consortium", "admin", consortium, "beginDefaultAdminTransfer", successor)
        self.measure("Consortium", "admin", consortium, "cancelDefaultAdminTransfer")
        self.measure("Consortium", "admin", consortium, "changeDefaultAdminDelay",
                     NEW_ADMIN_DELAY)
        self.measure("Consortium", "admin", consortium, "rollbackDefaultAdminDelay")
        begun = self.send("admin", consortium, "beginDefaultAdminTransfer", successor)
        self.mine_block_at(self.block_timestamp(begun.block_number) + DEFAULT_ADMIN_DELAY_S + 1)
        self.measure("Consortium", "admin-successor", consortium, "acceptDefaultAdminTransfer",
                     note="by the new admin, after the delay")


def _compute_variant(source: str, count: int) -> str:
    return f", {source}, {count} activity line{'' if count == 1 else 's'}"


def _embedded_mine_block_at(chain: Chain) -> Callable[[int], None]:
    """Mine an empty block with a given (later) timestamp on the embedded chain."""
    tester = chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]

    def mine_block_at(timestamp: int) -> None:
        pending = tester.get_block_by_number("pending")["timestamp"]
        if timestamp < pending:
            raise ValueError(f"cannot move the clock back to {timestamp} (next block {pending})")
        if timestamp > pending:
            tester.time_travel(timestamp)  # mines a block at timestamp - 1; the next is timestamp
        tester.mine_blocks(1)

    return mine_block_at


def measure(chain: Chain, *, artifacts: Artifacts | None = None,
            mine_block_at: Callable[[int], None] | None = None) -> GasReport:
    """Run the scenario on ``chain`` and return what every transaction cost.

    The chain needs a funded account it signs for (the embedded chain's and anvil's first), and
    ``mine_block_at(timestamp)``, which mines an empty block at a later time, to let the
    admin-transfer delay pass (built in for the embedded chain). The scenario's accounts must be
    new on the chain: run it on a fresh chain or in a snapshot.
    """
    artifacts = artifacts or load_artifacts()
    if mine_block_at is None:
        if not chain.embedded:
            raise ValueError("measure() needs mine_block_at on a chain other than the embedded one")
        mine_block_at = _embedded_mine_block_at(chain)
    report = _Scenario(chain, artifacts, mine_block_at).run()
    missing = [name for name in state_changing_functions(artifacts)
               if name not in report.covered]
    if missing:
        raise RuntimeError(f"the scenario never runs {', '.join(missing)}")
    return report


def state_changing_functions(artifacts: Artifacts) -> list[str]:
    """``Contract.function`` for every non-view function in the ABIs of :data:`CONTRACTS`."""
    return [f"{name}.{item['name']}" for name in CONTRACTS for item in artifacts.abi(name)
            if item["type"] == "function" and item["stateMutability"] not in ("view", "pure")]


# -- the document ---------------------------------------------------------------------------------


def _build_settings(artifacts: Artifacts) -> str:
    """Compiler and settings of the measured artifacts, which must all agree."""
    described = set()
    for name in CONTRACTS:
        artifact = artifacts[name]
        settings = artifact["settings"]
        optimizer = settings.get("optimizer", {})
        described.add(
            f"solc {artifact['compiler']['version']}, evmVersion {settings['evmVersion']}, "
            + (f"optimizer enabled with {optimizer['runs']} runs" if optimizer.get("enabled")
               else "optimizer disabled")
            + (", via-IR" if settings.get("viaIR") else ", legacy code generator"))
    if len(described) != 1:
        raise RuntimeError(f"the artifacts were built with different settings: {sorted(described)}")
    return described.pop()


def _n(value: int | Fraction) -> str:
    if isinstance(value, Fraction):
        return f"{float(value):,.1f}"
    return f"{value:,}"


def _table(header: Iterable[str], align: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render(report: GasReport, artifacts: Artifacts) -> str:
    """``docs/gas.md`` for ``report``."""
    lines = [*_header(artifacts), *_anchor_budget(report)]
    for section in SECTIONS:
        lines += ["", f"## {section}", ""]
        if section in _INTROS:
            lines += [_INTROS[section], ""]
        lines += _table(("transaction", "gas used", "notes"), ("---", "---:", "---"),
                        _section_rows(report, section))
    return "\n".join([*lines, *_coverage(artifacts)]) + "\n"


def _header(artifacts: Artifacts) -> list[str]:
    evm = artifacts.evm_version()
    return [
        "# Gas report",
        "",
        f"Generated by `{COMMAND}` from real transactions on the embedded chain "
        f"(`mrv_core.chain.connect(None, evm_version=\"{evm}\")`: eth-tester on py-evm with the "
        f"{evm} rules); do not edit by hand. Every figure is the `gasUsed` of a transaction "
        f"receipt. `{COMMAND} --check` exits 1 when this file is stale "
        "(`tests/docs/test_gas_report.py` runs it); `tests/integration/contracts/test_gas.py` "
        "runs the same scenario on the embedded chain and on anvil, which must agree.",
        "",
        f"- Contracts: the committed artifacts in `mrv_core/chain/contracts/`: "
        f"{_build_settings(artifacts)}.",
        f"- Deployment: `mrv_core.chain.deploy_system` with the defaults of `mrv chain deploy` "
        f"(adminTransferDelay {DEFAULT_ADMIN_DELAY_S:,} s, maxClockSkew "
        f"{DEFAULT_MAX_CLOCK_SKEW_S} s). Every transaction is sent through a "
        "`mrv_core.chain.Transactor`, anchors through `mrv_core.chain.System.anchor` and "
        "`System.anchor_by_sig`.",
        "- Inputs are fixed: account keys are keccak256 of fixed labels; roots, leaves, proof "
        "nodes, sites and statements are keccak256 of fixed labels with no zero byte, and "
        "timestamps have no zero byte. Signatures (device consents, relayed batch headers) depend "
        "on the registries' addresses, so the consent's deadline or the relayed root is the "
        "first candidate whose signature has no zero byte. Calldata (16 gas per non-zero byte, "
        "4 per zero byte), hence gas, is the same in every run and on every chain. The block "
        "time only enters comparisons and stored values that are never zero, so the clock "
        "changes no figure.",
        "- Rows marked *derived* are computed from measured rows, as they show.",
    ]


def _budget_table(report: GasReport, budget: int, *, relayed: bool) -> list[str]:
    steady = [report.steady_state(n, relayed=relayed) for n in LEAF_COUNTS]
    smallest, largest = steady[0], max(steady, key=lambda a: a.gas)
    margin = budget - largest.gas
    return _table(("gas", "value"), ("---", "---:"), [
        ("budget, steady state", _n(budget)),
        (f"measured, steady state (leafCount {smallest.leaf_count:,}, batchSeq "
         f"{smallest.batch_seq})", _n(smallest.gas)),
        (f"measured, largest steady state (leafCount {largest.leaf_count:,}, batchSeq "
         f"{largest.batch_seq})", _n(largest.gas)),
        ("margin (budget - largest)",
         f"{_n(margin)} ({100 * margin / budget:.1f} % of the budget)"),
    ])


def _series_table(anchors: Iterable[AnchorGas]) -> list[str]:
    return _table(("leafCount", "batchSeq", "gas used", "calldata", "execution"),
                  ("---:", "---:", "---:", "---:", "---:"),
                  [(_n(a.leaf_count), str(a.batch_seq), _n(a.gas), _n(a.calldata),
                    _n(a.execution)) for a in anchors])


def _anchor_budget(report: GasReport) -> list[str]:
    largest = max((report.steady_state(n) for n in LEAF_COUNTS), key=lambda a: a.gas)
    wider_seq = 7 * 12  # a uint64 batchSeq with 8 non-zero bytes instead of 1
    after = report.after_stop
    return [
        "",
        "## Anchor budget",
        "",
        f"A device's steady-state `anchor` may cost at most {ANCHOR_BUDGET:,} gas; "
        "`tests/integration/contracts/test_gas.py` fails otherwise, on both backends.",
        "",
        *_budget_table(report, ANCHOR_BUDGET, relayed=False),
        "",
        "Three devices, one per batch size, each anchored its batches 0, 1 and 2:",
        "",
        *_series_table(report.anchors),
        "",
        f"Execution (gas used - {_INTRINSIC_GAS:,} - calldata) is the same for every batch size "
        "and for a device's first batch: `anchor` stores the root in a new slot and rewrites the "
        "device's state slot, non-zero since registration; the header goes into the event, "
        "whose size is fixed. The figures differ only in calldata, 12 gas per non-zero byte of "
        "`leafCount` or `batchSeq` (batch 0 has none, batches 1 to 256 one). Larger sequence "
        f"numbers can have more (257 = 0x0101 has two): a uint64 `batchSeq` adds at most "
        f"{wider_seq} gas, {_n(largest.gas + wider_seq)} with the largest batch size, within "
        "the budget.",
        "",
        "Enterprise standing adds no storage read in the steady state (the standing epoch shares "
        "the clock skew's slot, the device's enterprise number and last-seen epoch its state "
        "slot, both read anyway). After any enterprise is stopped, each device's next anchor "
        "reads its enterprise's standing once, one more cold slot: "
        f"{_n(after.gas)} gas (leafCount {after.leaf_count:,}, batchSeq {after.batch_seq}, "
        f"execution {_n(after.execution)}), also within the budget.",
        "",
        "## anchorBySig budget",
        "",
        f"A relayer's steady-state `anchorBySig` may cost at most {ANCHOR_BY_SIG_BUDGET:,} gas; "
        "`tests/integration/contracts/test_gas.py` fails otherwise, on both backends. It is "
        "`anchor` plus the device's address and 65-byte signature in calldata, the EIP-712 "
        "digest of the header, `ecrecover` and a `BatchRelayed` event naming the relayer.",
        "",
        *_budget_table(report, ANCHOR_BY_SIG_BUDGET, relayed=True),
        "",
        "Three devices, one per batch size, each had its batches 0, 1 and 2 relayed:",
        "",
        *_series_table(report.relayed),
    ]


_INTROS = {
    "Deployment": "The creation transaction of each contract.",
    "Consortium": "OpenZeppelin `AccessControlDefaultAdminRules`, with the consortium's rule "
                  "that no account holds both the enterprise and the regulator role.",
    "DeviceRegistry": "Every status change is pushed into the AnchorRegistry "
                      "(`addDevice`, `setDeviceStatus`, `setEnterpriseStanding`) in the same "
                      "transaction, included in these figures. Registration and rotation check "
                      "the device key's EIP-712 consent.",
    "AnchorRegistry": "`anchor` and `anchorBySig`: see their budgets above.",
    "Reads, sent as transactions":
        "View functions sent as ordinary transactions, for an exact `gasUsed` from the receipt "
        f"(not an `eth_estimateGas` estimate): {_INTRINSIC_GAS:,} + calldata + execution. A "
        "verifier runs them with `eth_call`, which executes the same code and costs no fee.",
}


def _section_rows(report: GasReport, section: str) -> list[tuple[str, str, str]]:
    figures = report.figures()
    shallow, deep = (f"AnchorRegistry.verifyReading, proof depth {d}" for d in PROOF_DEPTHS)
    levels = PROOF_DEPTHS[1] - PROOF_DEPTHS[0]
    extra_lines = COMPUTE_LINES[1] - COMPUTE_LINES[0]
    derived: dict[str, tuple[str, int | Fraction, str]] = {  # after the row named: a row
        # computed from measured ones
        DEPLOY_SYSTEM[-1]: (f"*derived*: total of `deploy_system` ({len(DEPLOY_SYSTEM)} "
                            "transactions above)", sum(figures[f"deploy {name}"]
                                                       for name in DEPLOY_SYSTEM), ""),
        deep: (f"*derived*: per proof level ((depth {PROOF_DEPTHS[1]} - depth "
               f"{PROOF_DEPTHS[0]}) / {levels})",
               Fraction(figures[deep] - figures[shallow], levels),
               "32 calldata bytes and one hash more"),
    }
    for label, _, _ in COMPUTE_SOURCES:
        few, many = (f"FactorMethodology.compute{_compute_variant(label, n)}"
                     for n in COMPUTE_LINES)
        derived[many] = (
            f"*derived*: {label.split(',')[0]}, per further activity line "
            f"(({COMPUTE_LINES[1]} lines - {COMPUTE_LINES[0]}) / {extra_lines})",
            Fraction(figures[many] - figures[few], extra_lines),
            "96 calldata bytes and one line more; the source's parameters are resolved at its "
            "first line and reused from memory")
    rows: list[tuple[str, str, str]] = []
    for m in report.rows:
        if m.section == section:
            rows.append((m.label, _n(m.gas), m.note))
            if m.label in derived:
                label, value, note = derived[m.label]
                rows.append((label, _n(value), note))
    return rows


def _coverage(artifacts: Artifacts) -> list[str]:
    by_contract: dict[str, list[str]] = {name: [] for name in CONTRACTS}
    for qualified in state_changing_functions(artifacts):
        name, fn = qualified.split(".")
        by_contract[name].append(f"`{fn}`" + (f" ({INDIRECT[qualified]})"
                                              if qualified in INDIRECT else ""))
    return ["", "## Coverage", "",
            "Every state-changing function in the ABIs of the measured contracts ran at least "
            "once:", "",
            *(f"- {name}: " + (", ".join(functions) if functions else
                               "none (its factor table is immutable; `compute` is a view)")
              for name, functions in by_contract.items())]


def generate() -> str:
    """A fresh run of the scenario on a new embedded chain, rendered."""
    artifacts = load_artifacts()
    chain = connect(None, evm_version=artifacts.evm_version())
    return render(measure(chain, artifacts=artifacts), artifacts)


def check(current: str | None, fresh: str, name: str) -> str | None:
    """``None`` when ``current`` equals ``fresh``, else a summary of the differences."""
    if current == fresh:
        return None
    if current is None:
        return f"{name} does not exist; run: {COMMAND}"
    diff = list(difflib.unified_diff(current.splitlines(), fresh.splitlines(),
                                     f"{name} (committed)", f"{name} (fresh run)", lineterm="",
                                     n=0))
    changed = sum(1 for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---"))
    shown = diff[:60] + ([f"... {len(diff) - 60} more diff lines"] if len(diff) > 60 else [])
    return "\n".join([f"{name} is stale: {changed} line(s) differ from a fresh run; "
                      f"run: {COMMAND}", *shown])


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="FILE",
                        help="the report to write or check (default: docs/gas.md)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when FILE differs from a fresh run")
    args = parser.parse_args(argv)
    fresh = generate()
    name = _display(args.out)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
        problem = check(current, fresh, name)
        if problem:
            print(problem, file=sys.stderr)
            return 1
        print(f"{name} is current")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(fresh, encoding="utf-8")
    print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
