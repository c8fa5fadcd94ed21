"""Shared helpers of the contract tests: artifacts, revert decoding, the Chain wrapper, actors.

Fixtures live in ``conftest.py`` beside this module; test modules import these helpers as
``from integration.contracts.support import ...`` (``tests`` is on the Python path).
Accounts are local keys derived from fixed labels and funded from the node's first account, so
the same code signs transactions on both backends, and device accounts can sign readings too.
Reverts are decoded against the custom errors of every artifact's ABI.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from factories import make_reading
from mrv_core import Domain
from mrv_core.batch import Batch, build_batch
from mrv_core.keys import DeviceKey

ROOT = Path(__file__).resolve().parents[3]
BUILD_DIR = ROOT / "contracts" / "build"
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
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


#: PLACEHOLDER FACTORS FOR TESTS ONLY. These are NOT official emission factors: made-up numbers
#: of a plausible order of magnitude, so the tests exercise the arithmetic. The accounting issue
#: supplies the sourced official table. Rows: (key, grid, validFrom, validUntil, g CO2/MWh,
#: citation), sorted by (grid, validFrom) as the contract requires.
PLACEHOLDER_GRID_FACTORS = [
    (bytes32("test.grid.east/2022"), GRID_EAST, year_start(2022), year_start(2023),
     700_001, "PLACEHOLDER 2022: test value, not an official factor"),
] + [
    (bytes32(f"test.grid.national/{year}"), GRID, year_start(year), year_start(year + 1),
     grams, f"PLACEHOLDER {year}: test value, not an official factor")
    for year, grams in ((2021, 612_340), (2022, 543_210), (2023, 498_760))
]
SPEC_HASH = keccak(text="PLACEHOLDER specification of cn.electricity.location v1 (tests only)")
V1_EFFECTIVE_FROM = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp())


# -- artifacts and revert decoding ----------------------------------------------------------------

@dataclass(frozen=True)
class RevertError:
    """A decoded revert: the custom error's name and its arguments."""

    name: str
    args: tuple[Any, ...]


class Artifacts:
    """The compiled artifacts in contracts/build, and a decoder for every error they declare."""

    def __init__(self, directory: Path) -> None:
        if not directory.is_dir() or not any(directory.glob("*.json")):
            pytest.fail(f"no contract artifacts in {directory}: run "
                        "`python scripts/compile_contracts.py` (needs `make setup`: npm install)")
        self._by_name = {p.stem: json.loads(p.read_text(encoding="utf-8"))
                         for p in sorted(directory.glob("*.json"))}
        self._errors: dict[bytes, tuple[str, list[str]]] = {
            bytes.fromhex("08c379a0"): ("Error", ["string"]),
            bytes.fromhex("4e487b71"): ("Panic", ["uint256"]),
        }
        for artifact in self._by_name.values():
            for item in artifact["abi"]:
                if item["type"] == "error":
                    types = [_abi_type(i) for i in item["inputs"]]
                    selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                    known = self._errors.setdefault(selector, (item["name"], types))
                    assert known == (item["name"], types), f"error selector clash: {known}"

    def __getitem__(self, name: str) -> dict[str, Any]:
        return self._by_name[name]

    def names(self) -> list[str]:
        return list(self._by_name)

    def decode_error(self, data: bytes) -> RevertError:
        if len(data) < 4:
            return RevertError("<empty revert>", ())
        name, types = self._errors.get(data[:4], (f"<unknown 0x{data[:4].hex()}>", []))
        values = abi_decode(types, data[4:]) if types else ()
        return RevertError(name, tuple(Web3.to_checksum_address(v) if t == "address" else v
                                       for t, v in zip(types, values, strict=True)))


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])


def _revert_data(exc: BaseException) -> bytes:
    """Raw revert data from web3 (anvil) or eth-tester exceptions."""
    if isinstance(exc, ContractLogicError):
        data = exc.data
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        if isinstance(data, dict) and "data" in data:
            return bytes.fromhex(str(data["data"])[2:])
    # eth-tester: the raw bytes, or their repr (``b'...'``), on the exception or one it wraps.
    seen: BaseException | None = exc
    while seen is not None:
        arg = seen.args[0] if seen.args else None
        if isinstance(arg, bytes):
            return arg
        if isinstance(arg, str):
            text = arg.removeprefix("execution reverted: ")
            if text[:2] in ("b'", 'b"'):
                value = ast.literal_eval(text)
                if isinstance(value, bytes):
                    return value
        seen = seen.__context__
    raise AssertionError(f"cannot find revert data in {exc!r}")


# -- the chain ------------------------------------------------------------------------------------

class Chain:
    """One backend: web3, local signing, deployment from artifacts, snapshots, time control."""

    def __init__(self, backend: str, w3: Web3, artifacts: Artifacts) -> None:
        self.backend = backend
        self.w3 = w3
        self.artifacts = artifacts
        self._funder = w3.eth.accounts[0]

    # transactions
    def fund(self, address: str, wei: int = 10**21) -> None:
        tx = self.w3.eth.send_transaction({"from": self._funder, "to": address, "value": wei})
        assert self.w3.eth.wait_for_transaction_receipt(tx)["status"] == 1

    def send(self, fn: Any, sender: LocalAccount, *, gas: int | None = None,
             expect_success: bool = True) -> Any:
        """Sign ``fn`` (a contract function or constructor call) with ``sender`` and mine it."""
        params: dict[str, Any] = {
            "from": sender.address,
            "nonce": self.w3.eth.get_transaction_count(sender.address, "pending"),
        }
        if gas is not None:
            params["gas"] = gas
        try:
            tx = fn.build_transaction(params)  # estimates gas: a revert surfaces here
        except Exception as exc:
            try:
                decoded = self.artifacts.decode_error(_revert_data(exc))
            except AssertionError:
                raise exc from None
            raise AssertionError(f"transaction would revert with {decoded}") from exc
        tx_hash = self.w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        if expect_success:
            assert receipt["status"] == 1, f"transaction failed: {receipt}"
        return receipt

    def deploy(self, name: str, *args: Any, sender: LocalAccount) -> Contract:
        artifact = self.artifacts[name]
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = self.send(factory.constructor(*args), sender)
        contract = self.at(name, receipt["contractAddress"])
        contract.deploy_receipt = receipt  # type: ignore[attr-defined]
        return contract

    def at(self, name: str, address: str) -> Contract:
        return self.w3.eth.contract(address=address, abi=self.artifacts[name]["abi"])

    def revert_of(self, fn: Any, sender: str | LocalAccount) -> RevertError:
        """The decoded custom error ``fn`` reverts with when called by ``sender`` (eth_call)."""
        address = sender if isinstance(sender, str) else sender.address
        try:
            if hasattr(fn, "call"):
                fn.call({"from": address})
            else:  # a constructor: run its init code in an eth_call
                self.w3.eth.call({"from": address, "data": fn.data_in_transaction})
        except Exception as exc:  # web3 ContractLogicError or eth-tester TransactionFailed
            return self.artifacts.decode_error(_revert_data(exc))
        name = getattr(fn, "fn_name", "constructor")
        raise AssertionError(f"{name} did not revert for {address}")

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
        if self.backend == "anvil":
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
        if self.backend == "anvil":
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        else:
            self.w3.provider.ethereum_tester.mine_blocks(1)  # type: ignore[attr-defined]

    def domain(self, verifying_contract: str) -> Domain:
        return Domain(chain_id=self.w3.eth.chain_id,
                      verifying_contract=bytes.fromhex(verifying_contract[2:]))


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
    chain: Chain
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
    consortium: Contract
    anchors: Contract
    devices: Contract
    methodologies: Contract
    reports: Contract
    electricity: Contract  # LocationBasedElectricity v1, published, in force from 2020

    @property
    def w3(self) -> Web3:
        return self.chain.w3

    def role(self, name: str) -> bytes:
        return bytes(getattr(self.consortium.functions, name)().call())

    def anchor(self, device: Device, batch_seq: int, root: bytes, leaf_count: int = 1,
               from_ts: int | None = None, to_ts: int | None = None) -> Any:
        now = self.chain.latest_timestamp()
        return self.chain.send(self.anchors.functions.anchor(
            batch_seq, root, leaf_count, now - 60 if from_ts is None else from_ts,
            now if to_ts is None else to_ts), device.account)


# -- gas figures, printed at the end of the run ---------------------------------------------------

GAS_FIGURES: dict[str, dict[str, int]] = {}


def record_gas(backend: str, what: str, gas: int) -> None:
    GAS_FIGURES.setdefault(what, {})[backend] = gas




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
    """A batch of ``count`` random valid readings of ``device``, signed under the chain's domain,
    measured in the hour before the latest block."""
    rng = random.Random(seed)
    now = system.chain.latest_timestamp()
    domain = system.chain.domain(system.anchors.address)
    signed = []
    for i in range(count):
        reading, path = make_reading(rng, device.key.address, seq=i)
        reading = dataclasses.replace(reading, timestamp=now - 3600 + i % 3600)
        signed.append(device.key.sign_reading(reading, domain, path))
    return build_batch(device.key.address, batch_seq, signed)


def anchor_batch(system: System, device: Device, batch: Batch) -> Any:
    header = batch.header
    return system.chain.send(system.anchors.functions.anchor(
        header.batch_seq, header.root, header.leaf_count, header.from_timestamp,
        header.to_timestamp), device.account)
