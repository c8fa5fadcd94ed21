"""Deploying the consortium contracts, and the deployment file every other part reads.

``trustmrv-deployment/1`` (JSON, integers as strings like every TrustMRV document)::

    {"format": "trustmrv-deployment/1", "chainId": "31337", "evmVersion": "paris",
     "deployBlock": "1", "deployer": "0x...",
     "contracts": {"Consortium": "0x...", "AnchorRegistry": "0x...", "DeviceRegistry": "0x...",
                   "MethodologyRegistry": "0x...", "ReportRegistry": "0x..."},
     "artifacts": {"Consortium": "0x<keccak256 of mrv_core/chain/contracts/Consortium.json>", ...},
     "settings": {"adminTransferDelay": "172800", "maxClockSkew": "300"}}

The artifact hashes record exactly which build was deployed; :func:`check_artifacts` tells when
the local build differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..codec import UINT64_MAX, UINT256_MAX, format_address, format_hex, parse_address, parse_hex
from ..codec import parse_int as _parse_int
from ..errors import ConfigError, DecodeError, FormatError, WrongChain
from ..files import UnreadableFile, read_regular_file
from ..strict_json import expect_object, loads_strict
from .artifacts import Artifacts
from .transactions import Transactor

__all__ = ["CONTRACTS", "DEPLOYMENT_FORMAT", "Deployment", "check_artifacts", "deploy_system"]

DEPLOYMENT_FORMAT = "trustmrv-deployment/1"
CONTRACTS = ("Consortium", "AnchorRegistry", "DeviceRegistry", "MethodologyRegistry",
             "ReportRegistry")
DEFAULT_ADMIN_DELAY_S = 2 * 24 * 3600
DEFAULT_MAX_CLOCK_SKEW_S = 300
_MAX_FILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Deployment:
    """Where the contracts of one deployment live, and what was deployed."""

    chain_id: int
    evm_version: str
    deploy_block: int
    deployer: bytes
    contracts: dict[str, bytes]
    artifact_hashes: dict[str, bytes]
    admin_transfer_delay: int
    max_clock_skew: int
    gas_used: dict[str, int] = field(default_factory=dict, compare=False)  # not in the file

    def address(self, name: str) -> str:
        return format_address(self.contracts[name])

    def to_json(self) -> dict[str, Any]:
        return {
            "format": DEPLOYMENT_FORMAT,
            "chainId": str(self.chain_id),
            "evmVersion": self.evm_version,
            "deployBlock": str(self.deploy_block),
            "deployer": format_address(self.deployer),
            "contracts": {name: format_address(self.contracts[name]) for name in CONTRACTS},
            "artifacts": {name: format_hex(self.artifact_hashes[name]) for name in CONTRACTS},
            "settings": {"adminTransferDelay": str(self.admin_transfer_delay),
                         "maxClockSkew": str(self.max_clock_skew)},
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> Deployment:
        try:
            data = read_regular_file(path, _MAX_FILE_BYTES)
        except UnreadableFile as exc:
            raise ConfigError(f"deployment file {path}: {exc.reason}") from None
        try:
            return cls.from_json(loads_strict(data, max_bytes=_MAX_FILE_BYTES))
        except DecodeError as exc:
            raise ConfigError(f"{path} is not a valid deployment file: {exc}") from None

    @classmethod
    def from_json(cls, doc: object) -> Deployment:
        o = expect_object(doc, "$", ("format", "chainId", "evmVersion", "deployBlock", "deployer",
                                     "contracts", "artifacts", "settings"))
        if o["format"] != DEPLOYMENT_FORMAT:
            raise FormatError("$.format", f"expected {DEPLOYMENT_FORMAT!r}, got {o['format']!r}")
        if not isinstance(o["evmVersion"], str):
            raise FormatError("$.evmVersion", "expected a string")
        contracts = expect_object(o["contracts"], "$.contracts", CONTRACTS)
        hashes = expect_object(o["artifacts"], "$.artifacts", CONTRACTS)
        settings = expect_object(o["settings"], "$.settings", ("adminTransferDelay",
                                                               "maxClockSkew"))
        return cls(
            chain_id=_parse_int(o["chainId"], 1, UINT256_MAX, field="chainId"),
            evm_version=o["evmVersion"],
            deploy_block=_parse_int(o["deployBlock"], 0, UINT64_MAX, field="deployBlock"),
            deployer=parse_address(o["deployer"], field="deployer"),
            contracts={n: parse_address(contracts[n], field=f"contracts.{n}") for n in CONTRACTS},
            artifact_hashes={n: parse_hex(hashes[n], 32, field=f"artifacts.{n}")
                             for n in CONTRACTS},
            admin_transfer_delay=_parse_int(settings["adminTransferDelay"], 0, 2**48 - 1,
                                            field="adminTransferDelay"),
            max_clock_skew=_parse_int(settings["maxClockSkew"], 0, UINT64_MAX,
                                      field="maxClockSkew"),
        )


def deploy_system(transactor: Transactor, *, admin: str | None = None,
                  admin_transfer_delay: int = DEFAULT_ADMIN_DELAY_S,
                  max_clock_skew: int = DEFAULT_MAX_CLOCK_SKEW_S) -> Deployment:
    """Deploy Consortium, AnchorRegistry (which creates its DeviceRegistry), bind that
    DeviceRegistry to the Consortium (it is told of lost enterprise roles), then deploy
    MethodologyRegistry and ReportRegistry, from the committed artifacts, with ``admin``
    (default: the sender) as the consortium's default admin."""
    admin = admin or transactor.address
    consortium, first = transactor.deploy("Consortium", admin_transfer_delay, admin)
    anchors, anchors_sent = transactor.deploy("AnchorRegistry", consortium.address,
                                              max_clock_skew)
    device_registry = transactor.chain.retrying(
        "eth_call", lambda: anchors.functions.deviceRegistry().call())
    bound = transactor.send(consortium.functions.bindDeviceRegistry(device_registry),
                            description="bind the DeviceRegistry to the Consortium")
    methodologies, methodologies_sent = transactor.deploy("MethodologyRegistry",
                                                          consortium.address)
    reports, reports_sent = transactor.deploy("ReportRegistry", consortium.address,
                                              methodologies.address)
    addresses = {"Consortium": consortium.address, "AnchorRegistry": anchors.address,
                 "DeviceRegistry": device_registry, "MethodologyRegistry": methodologies.address,
                 "ReportRegistry": reports.address}
    artifacts = transactor.artifacts
    return Deployment(
        chain_id=transactor.chain.chain_id,
        evm_version=artifacts.evm_version(),
        deploy_block=first.block_number,
        deployer=parse_address(transactor.address),
        contracts={name: parse_address(str(addresses[name])) for name in CONTRACTS},
        artifact_hashes={name: artifacts.file_hash(name) for name in CONTRACTS},
        admin_transfer_delay=admin_transfer_delay,
        max_clock_skew=max_clock_skew,
        gas_used={"Consortium": first.gas_used,
                  "AnchorRegistry (creates DeviceRegistry)": anchors_sent.gas_used,
                  "Consortium.bindDeviceRegistry": bound.gas_used,
                  "MethodologyRegistry": methodologies_sent.gas_used,
                  "ReportRegistry": reports_sent.gas_used},
    )


def check_artifacts(deployment: Deployment, artifacts: Artifacts) -> list[str]:
    """Names of the contracts whose local artifact differs from the one deployed."""
    return [name for name in CONTRACTS
            if artifacts.file_hash(name) != deployment.artifact_hashes[name]]


def require_chain(deployment: Deployment, chain_id: int) -> None:
    """Refuse to use a deployment file against another chain."""
    if deployment.chain_id != chain_id:
        raise WrongChain(f"the deployment file is for chainId {deployment.chain_id}, "
                         f"the node is chainId {chain_id}")
