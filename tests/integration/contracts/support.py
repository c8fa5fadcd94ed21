"""Shared helpers of the contract tests: the backend under test, the actors, scenario data.

Fixtures live in ``conftest.py`` beside this module; test modules import these helpers as
``from integration.contracts.support import ...`` (``tests`` is on the Python path).

Everything a client of the contracts needs comes from :mod:`mrv_core.chain`, the one chain client
of the project: the artifacts and the decoding of custom errors, the connection to either backend,
signing and sending transactions (a :class:`~mrv_core.chain.Transactor` per actor), deploying the
system. What lives here is only for tests: snapshots, time travel and empty blocks, the
placeholder methodologies (sources and factor tables), the actors (local keys derived from fixed
labels, funded from the node's first account, so the same code signs on both backends and device
accounts can sign readings too), the gas figures printed at the end of the run, and the loading
of ``scripts/gas_report.py``, which defines the gas scenario.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from factories import make_reading
from mrv_cli.contracts_build import check_diagnostics, run_solc
from mrv_cli.contracts_build import settings as build_settings
from mrv_core.batch import Batch, build_batch
from mrv_core.bundle import AnchorRef
from mrv_core.chain import Chain, KeySigner, NodeSigner, Sent, Transactor, load_artifacts
from mrv_core.chain import System as ChainSystem
from mrv_core.chain.artifacts import revert_data
from mrv_core.codec import parse_address
from mrv_core.consent import DeviceConsent, sign_consent
from mrv_core.errors import ContractRevert
from mrv_core.keys import DeviceKey

ROOT = Path(__file__).resolve().parents[3]
BACKENDS = ("eth-tester", "anvil")

ADMIN_DELAY = 3 * 24 * 3600
MAX_CLOCK_SKEW = 300
METHODOLOGY_ID = b"cn.electricity.location".ljust(32, b"\0")
GRID = b"cn.grid.national".ljust(32, b"\0")
GRID_EAST = b"cn.grid.east".ljust(32, b"\0")
SITE = keccak(text="demo-co/wuxi-plant")
SITE_B = keccak(text="other-co/suzhou-plant")
_BEIJING = timezone(timedelta(hours=8))


def bytes32(text: str) -> bytes:
    """Solidity's ``bytes32("text")``."""
    raw = text.encode("ascii")
    assert len(raw) <= 32
    return raw.ljust(32, b"\0")


def year_start(year: int) -> int:
    """Start of a data year in Beijing time, Unix seconds."""
    return int(datetime(year, 1, 1, tzinfo=_BEIJING).timestamp())


# -- placeholder methodologies --------------------------------------------------------------------

EMISSION, DEDUCTION, OVERRIDE = 0, 1, 2  # IFactorMethodology.SourceSpec.kind
OPEN_ENDED = 2**64 - 1  # validUntil of the last row of a series


def source_spec(source: bytes, unit: str, scope: int, kind: int = EMISSION, *,
                target: bytes = bytes(32), parameters: tuple[str, ...] = (), numerator: int = 0,
                denominator: int = 0) -> tuple[Any, ...]:
    """An ``IFactorMethodology.SourceSpec`` as web3 encodes it."""
    return (source, bytes32(unit), scope, kind, target, [bytes32(p) for p in parameters],
            numerator, denominator)


def cited(methodology: Any) -> dict[bytes, str]:
    """The ``FactorCited`` events a methodology contract emitted when it was built, by key."""
    logs = methodology.events.FactorCited().get_logs(from_block=0)
    return {bytes(log.args.key): log.args.citation for log in logs}


def factor_row(key: str, source: bytes, parameter: str, valid_from: int, valid_until: int,
               value: int, unit: str, citation: str, decimals: int = 0) -> tuple[Any, ...]:
    """An ``IFactorMethodology.FactorRow`` as web3 encodes it."""
    return (bytes32(key), source, bytes32(parameter), valid_from, valid_until, value, decimals,
            bytes32(unit), citation)


#: PLACEHOLDER METHODOLOGY FOR TESTS ONLY: location-based electricity, published as
#: ``cn.electricity.location`` v1. These are NOT official emission factors: made-up numbers of a
#: plausible order of magnitude, so the tests exercise the arithmetic. The accounting work supplies
#: the sourced official tables. grams = (Wh x EF + 10**6 / 2) / 10**6, EF in g CO2/MWh.
PLACEHOLDER_SOURCES = [
    source_spec(grid, "Wh", 2, parameters=("EF",), numerator=1, denominator=10**6)
    for grid in (GRID_EAST, GRID)
]
PLACEHOLDER_FACTORS = [
    factor_row("test.grid.east/2022", GRID_EAST, "EF", year_start(2022), year_start(2023),
               700_001, "gCO2/MWh", "PLACEHOLDER 2022: test value, not an official factor"),
] + [
    factor_row(f"test.grid.national/{year}", GRID, "EF", year_start(year), year_start(year + 1),
               grams, "gCO2/MWh", f"PLACEHOLDER {year}: test value, not an official factor")
    for year, grams in ((2021, 612_340), (2022, 543_210), (2023, 498_760))
]

#: PLACEHOLDER ENGINE METHODOLOGY FOR TESTS ONLY (``test.engine``, deployed, never published):
#: every kind of source the engine knows. NOT official factors or methodology: the figures have
#: the units and orders of magnitude of docs/accounting.md section 2 so known answers can be
#: checked by hand; nothing here is a sourced value.
ENGINE_ID = bytes32("test.engine")
ENGINE_SPEC_HASH = keccak(text="PLACEHOLDER specification of test.engine v1 (tests only)")
NATURAL_GAS = bytes32("fuel.natural_gas")
SF6 = bytes32("gas.sf6")
ELECTRICITY = bytes32("electricity.grid")
HEAT = bytes32("heat.purchased")
CO2_MEASURED = bytes32("co2.measured")
CONTRACT_ELECTRICITY = bytes32("electricity.contract")
GREEN_CERTIFICATE = bytes32("cert.green")
GREEN_PPA = bytes32("ppa.green")
SUPPLIER_EF = bytes32("ef.electricity.supplier")
CONTRACT_EF = bytes32("ef.electricity.contract")
MEASURED_NCV = bytes32("ncv.natural_gas.measured")
COMBUSTION_DENOMINATOR = 12 * 10**9 * 10**4  # 44/12 (C to CO2) x 10**-9 (J to GJ) x 10**-4 (OF)
ENGINE_SOURCES = [
    source_spec(NATURAL_GAS, "dm3", 1, parameters=("NCV", "CC", "OF"), numerator=44,
                denominator=COMBUSTION_DENOMINATOR),
    source_spec(SF6, "g", 1, parameters=("GWP",), numerator=1, denominator=10),
    source_spec(ELECTRICITY, "Wh", 2, parameters=("EF",), numerator=1, denominator=10**6),
    source_spec(HEAT, "kJ", 2, parameters=("EF",), numerator=1, denominator=10**6),
    source_spec(CO2_MEASURED, "g", 1, numerator=1, denominator=1),  # no parameter at all
    source_spec(CONTRACT_ELECTRICITY, "Wh", 2, parameters=("EF",), numerator=1,
                denominator=10**6),  # no factor rows: needs an override
    source_spec(GREEN_CERTIFICATE, "Wh", 2, DEDUCTION, target=ELECTRICITY),
    source_spec(GREEN_PPA, "Wh", 2, DEDUCTION, target=ELECTRICITY),
    source_spec(SUPPLIER_EF, "gCO2/MWh", 2, OVERRIDE, target=ELECTRICITY, parameters=("EF",)),
    source_spec(CONTRACT_EF, "gCO2/MWh", 2, OVERRIDE, target=CONTRACT_ELECTRICITY,
                parameters=("EF",)),
    source_spec(MEASURED_NCV, "J/dm3", 1, OVERRIDE, target=NATURAL_GAS, parameters=("NCV",)),
]
_FAKE = "PLACEHOLDER: test value, not an official factor"
ENGINE_FACTORS = [
    factor_row("test.ng.ncv/2022", NATURAL_GAS, "NCV", year_start(2022), year_start(2023),
               38_931, "J/dm3", _FAKE),
    factor_row("test.ng.ncv/2023-", NATURAL_GAS, "NCV", year_start(2023), OPEN_ENDED,
               38_000, "J/dm3", _FAKE),
    factor_row("test.ng.cc/2020-", NATURAL_GAS, "CC", year_start(2020), OPEN_ENDED,
               15_300, "gC/GJ", _FAKE),
    factor_row("test.ng.of/2020-2022", NATURAL_GAS, "OF", year_start(2020), year_start(2023),
               9_900, "1e-4", _FAKE),
    factor_row("test.ng.of/2023-", NATURAL_GAS, "OF", year_start(2023), OPEN_ENDED,
               9_800, "1e-4", _FAKE),
    factor_row("test.sf6.gwp", SF6, "GWP", 0, OPEN_ENDED, 235_000, "1e-1", _FAKE),
    factor_row("test.elec/2022", ELECTRICITY, "EF", year_start(2022), year_start(2023),
               581_000, "gCO2/MWh", _FAKE),
    factor_row("test.elec/2023-", ELECTRICITY, "EF", year_start(2023), OPEN_ENDED,
               536_600, "gCO2/MWh", _FAKE),
    factor_row("test.heat/2020-", HEAT, "EF", year_start(2020), OPEN_ENDED, 110_000,
               "gCO2/GJ", _FAKE, decimals=0),
]

SPEC_HASH = keccak(text="PLACEHOLDER specification of cn.electricity.location v1 (tests only)")
V1_EFFECTIVE_FROM = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp())


# -- the backend under test -----------------------------------------------------------------------

class Backend:
    """One chain under test: the :mod:`mrv_core.chain` client, a Transactor per actor, and the
    test-only controls (snapshots, time travel, empty blocks)."""

    def __init__(self, name: str, client: Chain) -> None:
        self.name = name
        self.client = client
        self.w3 = client.w3
        self.artifacts = load_artifacts()
        self._funder = Transactor(client, NodeSigner(client.unlocked_accounts()[0]))
        self._transactors: dict[str, Transactor] = {}

    # transactions
    def transactor(self, sender: LocalAccount) -> Transactor:
        """The Transactor that signs with ``sender``'s key."""
        if sender.address not in self._transactors:
            key = DeviceKey.from_private_bytes(bytes(sender.key))
            self._transactors[sender.address] = Transactor(self.client, KeySigner(key),
                                                           artifacts=self.artifacts)
        return self._transactors[sender.address]

    def fund(self, address: str, wei: int = 10**21) -> None:
        self._funder.transfer(address, wei)

    def send(self, fn: Any, sender: LocalAccount, *, gas: int | None = None) -> Sent:
        """Send ``fn`` (a contract function call) from ``sender`` and wait for it to succeed.

        A call that would revert raises its decoded ``ContractRevert`` before anything is sent;
        with explicit ``gas`` it is mined and fails, raising a ``ChainError`` whose ``receipt``
        is the failed transaction's.
        """
        name = getattr(fn, "fn_name", "constructor")
        return self.transactor(sender).send(fn, description=f"{name} by {sender.address}",
                                            gas=gas)

    def deploy(self, name: str, *args: Any, sender: LocalAccount) -> tuple[Contract, Sent]:
        return self.transactor(sender).deploy(name, *args)

    def revert_of(self, fn: Any, sender: LocalAccount) -> ContractRevert:
        """The custom error ``fn`` reverts with when called by ``sender`` (``eth_call``; a
        constructor call runs its init code). Fails unless it reverts with a known error."""
        try:
            if hasattr(fn, "call"):
                fn.call({"from": sender.address})
            else:
                self.w3.eth.call({"from": sender.address, "data": fn.data_in_transaction})
        except Exception as exc:  # web3 ContractLogicError or eth-tester TransactionFailed
            data = revert_data(exc)
            if data is None:
                raise AssertionError(f"no revert data in {exc!r}") from exc
            decoded = self.artifacts.decode_revert(data)
            if not isinstance(decoded, ContractRevert):
                raise AssertionError(f"not a known custom error: {decoded}") from exc
            return decoded
        name = getattr(fn, "fn_name", "constructor")
        raise AssertionError(f"{name} did not revert for {sender.address}")

    # state and time
    def snapshot(self) -> Any:
        return self.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]

    def revert(self, snapshot_id: Any) -> None:
        response = self.w3.provider.make_request("evm_revert", [snapshot_id])  # type: ignore[arg-type]
        assert response.get("result") in (True, None), response

    def latest_timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def set_next_timestamp(self, timestamp: int) -> None:
        """Make the next mined block carry ``timestamp``."""
        if self.name == "anvil":
            self.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]
            return
        tester = self.w3.provider.ethereum_tester  # type: ignore[attr-defined]
        pending = tester.get_block_by_number("pending")["timestamp"]
        if pending == timestamp:
            return
        assert timestamp > pending, f"cannot move time back to {timestamp} (pending {pending})"
        tester.time_travel(timestamp)  # mines a block at timestamp - 1; the next is timestamp
        assert tester.get_block_by_number("pending")["timestamp"] == timestamp

    def mine(self) -> None:
        """Mine one empty block (at the time set by :meth:`set_next_timestamp`, if any)."""
        if self.name == "anvil":
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        else:
            self.w3.provider.ethereum_tester.mine_blocks(1)  # type: ignore[attr-defined]


# -- the deployed system --------------------------------------------------------------------------

def account(label: str) -> LocalAccount:
    return Account.from_key(keccak(text=f"trustmrv/tests/{label}"))


@dataclass(frozen=True)
class Device:
    """A device: its account (sends anchors) and the same secret as a DeviceKey (signs readings)."""

    account: LocalAccount
    key: DeviceKey

    @classmethod
    def from_label(cls, label: str) -> Device:
        secret = keccak(text=f"trustmrv/tests/device/{label}")
        return cls(Account.from_key(secret), DeviceKey.from_private_bytes(secret))

    @property
    def address(self) -> str:
        return str(self.account.address)


@dataclass
class System:
    chain: Backend
    core: ChainSystem  # the same deployment through mrv_core.chain's bindings
    admin: LocalAccount
    association: LocalAccount
    association2: LocalAccount
    enterprise: LocalAccount
    enterprise2: LocalAccount
    regulator: LocalAccount
    outsider: LocalAccount
    device: Device  # registered for `enterprise` at SITE
    device2: Device  # registered for `enterprise2` at SITE_B
    spares: tuple[Device, ...]  # funded, never registered
    # FactorMethodology cn.electricity.location v1, made by the factory, published from 2020 by
    # `association`, to which the admin assigned the id
    electricity: Contract
    # FactorMethodology test.engine v1 (ENGINE_SOURCES/_FACTORS), deployed directly, unpublished
    engine: Contract

    @property
    def w3(self) -> Web3:
        return self.chain.w3

    @property
    def consortium(self) -> Contract:
        return self.core.consortium

    @property
    def anchors(self) -> Contract:
        return self.core.anchors

    @property
    def devices(self) -> Contract:
        return self.core.devices

    @property
    def methodologies(self) -> Contract:
        return self.core.methodologies

    @property
    def reports(self) -> Contract:
        return self.core.reports

    @property
    def factory(self) -> Contract:
        """The MethodologyFactory the registry created."""
        return self.core.at("MethodologyFactory", self.methodologies.functions.factory().call())

    def role(self, name: str) -> bytes:
        return self.core.role(name)

    def consent(self, device: Device, enterprise: LocalAccount, *, site: bytes = SITE,
                predecessor: str | None = None, deadline: int | None = None) -> tuple[int, bytes]:
        """``(deadline, signature)``: ``device``'s consent to be registered by ``enterprise``
        (replacing ``predecessor``), valid for an hour after the latest block by default."""
        consent = DeviceConsent(
            device=device.key.address, enterprise=parse_address(enterprise.address), site=site,
            predecessor=bytes(20) if predecessor is None else parse_address(predecessor),
            deadline=self.chain.latest_timestamp() + 3600 if deadline is None else deadline)
        return consent.deadline, sign_consent(device.key, consent,
                                              self.core.consent_domain).signature

    def register_call(self, device: Device, enterprise: LocalAccount, *, site: bytes = SITE,
                      metadata: bytes = bytes(32)) -> Any:
        """``registerDevice`` of ``device`` at ``site`` with its consent for ``enterprise``."""
        deadline, signature = self.consent(device, enterprise, site=site)
        return self.devices.functions.registerDevice(device.address, site, metadata, deadline,
                                                     signature)

    def rotate_call(self, old: str, new: Device, enterprise: LocalAccount, *,
                    metadata: bytes = bytes(32)) -> Any:
        """``rotateDevice`` from ``old`` (registered at SITE) to ``new`` with ``new``'s consent
        for ``enterprise``."""
        deadline, signature = self.consent(new, enterprise, predecessor=old)
        return self.devices.functions.rotateDevice(old, new.address, metadata, deadline,
                                                   signature)

    def anchor(self, device: Device, batch_seq: int, root: bytes, leaf_count: int = 1,
               from_ts: int | None = None, to_ts: int | None = None) -> Sent:
        """Anchor any header values (a root of nothing in particular, by default covering the
        last minute) from ``device``'s account."""
        now = self.chain.latest_timestamp()
        return self.chain.send(self.anchors.functions.anchor(
            batch_seq, root, leaf_count, now - 60 if from_ts is None else from_ts,
            now if to_ts is None else to_ts), device.account)


def create_methodology(chain: Backend, core: ChainSystem, *args: Any, sender: LocalAccount,
                       keep_open: bool = False) -> Contract:
    """A FactorMethodology created by ``sender`` through the registry's factory with constructor
    ``args`` (id, version, specHash, sources, factors), sealed unless ``keep_open``."""
    registry = core.methodologies
    factory = core.at("MethodologyFactory", registry.functions.factory().call())
    sent = chain.send(factory.functions.create(*args, keep_open), sender)
    (event,) = factory.events.MethodologyCreated().process_receipt(sent.receipt, errors=DISCARD)
    return core.at("FactorMethodology", event.args.methodology)


def compile_test_contract(filename: str, contract: str) -> tuple[list[Any], str]:
    """(abi, creation bytecode) of the test-only ``contract`` in ``solidity/filename`` beside this
    module, compiled by the project's solc-js driver with the project's settings (never written to
    the packaged artifacts in mrv_core/chain/contracts)."""
    source = Path(__file__).with_name("solidity") / filename
    standard_input = {"language": "Solidity",
                      "sources": {filename: {"content": source.read_text(encoding="utf-8")}},
                      "settings": {**build_settings(load_artifacts().evm_version()),
                                   "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}}}
    output = run_solc(standard_input)
    check_diagnostics(output)  # raises on any error or warning
    compiled = output["contracts"][filename][contract]
    return compiled["abi"], "0x" + compiled["evm"]["bytecode"]["object"]


# -- signatures made by eth_account, an implementation independent of mrv_core -------------------

_DOMAIN_FIELDS = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                  {"name": "chainId", "type": "uint256"},
                  {"name": "verifyingContract", "type": "address"}]
BATCH_FIELDS = [{"name": "device", "type": "address"}, {"name": "batchSeq", "type": "uint64"},
                {"name": "root", "type": "bytes32"}, {"name": "leafCount", "type": "uint32"},
                {"name": "fromTimestamp", "type": "uint64"},
                {"name": "toTimestamp", "type": "uint64"}]
CONSENT_FIELDS = [{"name": "device", "type": "address"}, {"name": "enterprise", "type": "address"},
                  {"name": "site", "type": "bytes32"}, {"name": "predecessor", "type": "address"},
                  {"name": "deadline", "type": "uint64"}]


def oracle_typed_data(primary: str, fields: list[dict[str, str]], message: dict[str, Any],
                      chain_id: int, verifying_contract: str) -> Any:
    """The EIP-712 message as eth_account's ``encode_typed_data`` builds it."""
    from eth_account.messages import encode_typed_data

    return encode_typed_data(full_message={
        "types": {"EIP712Domain": _DOMAIN_FIELDS, primary: fields}, "primaryType": primary,
        "domain": {"name": "TrustMRV", "version": "1", "chainId": chain_id,
                   "verifyingContract": verifying_contract},
        "message": message})


def oracle_batch_signature(signer: LocalAccount, header: tuple[Any, ...], chain_id: int,
                           anchor_registry: str) -> bytes:
    """``signer``'s 65-byte signature of the ``Batch`` header ``(device, batchSeq, root,
    leafCount, fromTimestamp, toTimestamp)``, by eth_account."""
    message = dict(zip([f["name"] for f in BATCH_FIELDS], header, strict=True))
    signable = oracle_typed_data("Batch", BATCH_FIELDS, message, chain_id, anchor_registry)
    return bytes(Account.sign_message(signable, signer.key).signature)


def high_s_twin(signature: bytes) -> bytes:
    """The other valid signature of the same digest: ``s' = n - s``, ``v`` flipped."""
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(signature[32:64], "big")
    return signature[:32] + (n - s).to_bytes(32, "big") + bytes((55 - signature[64],))


# -- reports --------------------------------------------------------------------------------------

REPORT_FIELDS = ("enterprise", "site", "periodStart", "periodEnd", "methodologyId", "methodology",
                 "scope1", "scope2", "total", "batches", "document", "supersedes")


def make_report(system: System, **overrides: Any) -> tuple[Any, ...]:
    """A valid report of ``system.enterprise`` for June 2022 under the v1 methodology."""
    fields: dict[str, Any] = {
        "enterprise": system.enterprise.address,
        "site": SITE,
        "periodStart": int(datetime(2022, 6, 1, tzinfo=_BEIJING).timestamp()),
        "periodEnd": int(datetime(2022, 7, 1, tzinfo=_BEIJING).timestamp()),
        "methodologyId": METHODOLOGY_ID,
        "methodology": system.electricity.address,
        "scope1": 0,
        "scope2": 1_234_567_890,
        "total": 1_234_567_890,
        "batches": keccak(text="batches"),
        "document": keccak(text="document"),
        "supersedes": bytes(32),
    }
    unknown = set(overrides) - set(fields)
    assert not unknown, unknown
    fields.update(overrides)
    return tuple(fields[name] for name in REPORT_FIELDS)


# -- events ---------------------------------------------------------------------------------------

ACTIVE, SUSPENDED, REVOKED = 1, 2, 3  # IDeviceRegistry.DeviceStatus


def events(contract: Contract, name: str, receipt: Any) -> list[dict[str, Any]]:
    """The decoded ``name`` events ``contract`` emitted in ``receipt`` (their args)."""
    from web3.logs import DISCARD

    event = getattr(contract.events, name)()
    return [dict(log["args"]) for log in event.process_receipt(receipt, errors=DISCARD)]


# -- batches of real readings ---------------------------------------------------------------------

def signed_batch(system: System, device: Device, count: int, *, seed: int = 0,
                 batch_seq: int = 0) -> Batch:
    """A batch of ``count`` random valid readings of ``device``, signed under the deployment's
    domain, measured in the hour before the latest block."""
    rng = random.Random(seed)
    now = system.chain.latest_timestamp()
    signed = []
    for i in range(count):
        reading, path = make_reading(rng, device.key.address, seq=i)
        reading = dataclasses.replace(reading, timestamp=now - 3600 + i % 3600)
        signed.append(device.key.sign_reading(reading, system.core.domain, path))
    return build_batch(device.key.address, batch_seq, signed)


def anchor_batch(system: System, device: Device, batch: Batch) -> AnchorRef:
    """Anchor ``batch`` from ``device``'s account (``mrv_core.chain.System.anchor``)."""
    return system.core.anchor(system.chain.transactor(device.account), batch.header)
