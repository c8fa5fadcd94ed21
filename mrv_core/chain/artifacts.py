"""The compiled contract artifacts (``mrv_core/chain/contracts``) and the decoding of custom errors.

Artifacts are committed and shipped inside the package (package data of ``mrv_core``), so
running TrustMRV, from a source checkout or from an installed wheel, never needs a compiler. Each
is the JSON written by ``mrv contracts build``: ABI, creation and runtime bytecode, compiler
settings and metadata. Their keccak256 goes into every deployment file, so a deployment records
exactly which build it came from.

Reverts are decoded against every ``error`` in every ABI into :class:`ContractRevert`.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eth_abi.abi import decode as abi_decode

from ..codec import format_address
from ..errors import ConfigError, ContractRevert, TransactionFailed
from ..hashing import keccak256

__all__ = ["ARTIFACTS_ENV", "PACKAGED_BUILD_DIR", "Artifacts", "default_build_dir",
           "load_artifacts", "revert_data"]

ARTIFACTS_ENV = "MRV_CONTRACTS_BUILD"
#: Where ``mrv contracts build`` writes the artifacts and where they are loaded from: a folder of
#: this package, so a wheel carries them.
PACKAGED_BUILD_DIR = Path(__file__).resolve().parent / "contracts"
_BUILTIN_ERRORS = {
    bytes.fromhex("08c379a0"): ("Error", (("message", "string"),)),
    bytes.fromhex("4e487b71"): ("Panic", (("code", "uint256"),)),
}


def default_build_dir() -> Path:
    """``$MRV_CONTRACTS_BUILD``, else the artifacts shipped in this package
    (:data:`PACKAGED_BUILD_DIR`)."""
    override = os.environ.get(ARTIFACTS_ENV)
    if override:
        return Path(override)
    return PACKAGED_BUILD_DIR


@dataclass(frozen=True)
class _ErrorSpec:
    name: str
    inputs: tuple[tuple[str, str], ...]  # (name, canonical ABI type)


class Artifacts:
    """The artifacts of one build directory, by contract name."""

    def __init__(self, directory: Path) -> None:
        files = sorted(directory.glob("*.json")) if directory.is_dir() else []
        if not files:
            raise ConfigError(f"no contract artifacts in {directory}: run "
                              "`mrv contracts build` (after `make setup`)")
        self.directory = directory
        self._raw = {path.stem: path.read_bytes() for path in files}
        self._by_name: dict[str, dict[str, Any]] = {
            name: json.loads(raw) for name, raw in self._raw.items()}
        self._errors: dict[bytes, _ErrorSpec] = {
            selector: _ErrorSpec(name, inputs)
            for selector, (name, inputs) in _BUILTIN_ERRORS.items()}
        for artifact in self._by_name.values():
            for item in artifact["abi"]:
                if item["type"] != "error":
                    continue
                inputs = tuple((i["name"], _canonical_type(i)) for i in item["inputs"])
                signature = f"{item['name']}({','.join(t for _, t in inputs)})"
                spec = _ErrorSpec(item["name"], inputs)
                known = self._errors.setdefault(keccak256(signature.encode())[:4], spec)
                if known != spec:  # two errors, one selector: decoding would be ambiguous
                    raise ConfigError(f"error selector clash in {directory}: {known.name} "
                                      f"and {spec.name}")

    def __getitem__(self, name: str) -> dict[str, Any]:
        try:
            return self._by_name[name]
        except KeyError:
            raise ConfigError(f"no artifact named {name!r} in {self.directory}") from None

    def names(self) -> list[str]:
        return list(self._by_name)

    def abi(self, name: str) -> list[dict[str, Any]]:
        abi: list[dict[str, Any]] = self[name]["abi"]
        return abi

    def bytecode(self, name: str) -> str:
        code: str = self[name]["bytecode"]
        return code

    def evm_version(self) -> str:
        version: str = self["AnchorRegistry"]["settings"]["evmVersion"]
        return version

    def file_hash(self, name: str) -> bytes:
        """keccak256 of the artifact file's bytes, as recorded in deployment files."""
        self[name]
        return keccak256(self._raw[name])

    def decode_revert(self, data: bytes) -> ContractRevert | TransactionFailed:
        """Decode revert data into a typed error (a plain failure when it carries no error)."""
        if len(data) < 4:
            return TransactionFailed("reverted without a reason")
        spec = self._errors.get(data[:4])
        if spec is None:
            return TransactionFailed(f"reverted with unknown error selector 0x{data[:4].hex()}")
        try:
            values = abi_decode([t for _, t in spec.inputs], data[4:]) if spec.inputs else ()
        except Exception:
            return TransactionFailed(f"reverted with undecodable {spec.name} data")
        args = {name or f"arg{i}": _readable(value, abi_type)
                for i, ((name, abi_type), value) in enumerate(zip(spec.inputs, values,
                                                                   strict=True))}
        return ContractRevert.of(spec.name, args)


@cache
def load_artifacts(directory: Path | None = None) -> Artifacts:
    """The artifacts of ``directory`` (default :func:`default_build_dir`), loaded once."""
    return Artifacts(directory or default_build_dir())


def _readable(value: object, abi_type: str) -> object:
    """Addresses in their EIP-55 spelling; everything else as eth-abi decodes it."""
    if abi_type == "address" and isinstance(value, str):
        return format_address(bytes.fromhex(value[2:]))
    return value


def _canonical_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert data carried by a web3 (JSON-RPC) or eth-tester exception, if any."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if isinstance(data, dict) and isinstance(data.get("data"), str):
        return bytes.fromhex(data["data"][2:])
    # eth-tester raises TransactionFailed with the raw bytes (or their repr) as its argument,
    # sometimes wrapped by web3 in another exception.
    seen: BaseException | None = exc
    while seen is not None:
        arg = seen.args[0] if seen.args else None
        if isinstance(arg, bytes):
            return arg
        if isinstance(arg, str):
            text = arg.removeprefix("execution reverted: ")
            if text[:2] in ("b'", 'b"'):
                try:
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    value = None
                if isinstance(value, bytes):
                    return value
        seen = seen.__cause__ or seen.__context__
    return None
