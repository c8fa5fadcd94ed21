"""One chain interface, two backends: the embedded chain (eth-tester + py-evm, in this process) and
any Ethereum JSON-RPC endpoint.

The embedded chain is the default: nothing to install or start, state lives as long as the
process. A JSON-RPC URL reaches anything else: anvil in tests, a Hyperledger Besu (QBFT)
consortium network in production. Both run the EVM version the contracts were compiled for.

Every request to a node goes through :meth:`Chain.retrying`: connection errors, timeouts and
HTTP 429/5xx answers are retried with exponential back-off; anything else is not transient and
surfaces at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
from eth_typing import ChecksumAddress, HexAddress, HexStr
from web3 import EthereumTesterProvider, HTTPProvider, Web3

from ..codec import format_address, parse_address
from ..errors import ChainUnavailable, ConfigError

__all__ = ["EMBEDDED", "Chain", "ChainSettings", "checksum", "connect"]

EMBEDDED = "embedded"
T = TypeVar("T")

_TRANSIENT_HTTP = frozenset({429, 502, 503, 504})
_PY_EVM_FORKS = {"london": "LondonVM", "paris": "ParisVM", "shanghai": "ShanghaiVM",
                 "cancun": "CancunVM", "prague": "PragueVM"}


@dataclass(frozen=True)
class ChainSettings:
    """How patiently to talk to a node."""

    #: Blocks that must exist on top of a transaction's block, counting its own, before it is
    #: final. 1 suits chains with immediate finality (QBFT, the embedded chain).
    confirmations: int = 1
    receipt_timeout_s: float = 120.0
    poll_interval_s: float = 0.25
    rpc_retries: int = 5
    retry_backoff_s: float = 0.2
    request_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.confirmations < 1:
            raise ConfigError(f"confirmations must be at least 1, got {self.confirmations}")
        if self.rpc_retries < 0:
            raise ConfigError(f"rpc_retries must be non-negative, got {self.rpc_retries}")


class Chain:
    """A connected chain: web3, what kind of backend it is, and the retry policy."""

    def __init__(self, w3: Web3, *, kind: str, url: str | None, settings: ChainSettings) -> None:
        self.w3 = w3
        self.kind = kind
        self.url = url
        self.settings = settings
        self._chain_id: int | None = None

    def __repr__(self) -> str:
        return f"Chain({self.kind}, {self.url or 'in process'})"

    @property
    def embedded(self) -> bool:
        return self.kind == EMBEDDED

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self.retrying("eth_chainId", lambda: int(self.w3.eth.chain_id))
        return self._chain_id

    def block_number(self) -> int:
        return self.retrying("eth_blockNumber", lambda: int(self.w3.eth.block_number))

    def latest_timestamp(self) -> int:
        """The time of the latest block, Unix seconds."""
        return self.retrying("eth_getBlockByNumber",
                             lambda: int(self.w3.eth.get_block("latest")["timestamp"]))

    def unlocked_accounts(self) -> list[str]:
        """Accounts the node signs for (the embedded chain's and anvil's funded dev accounts)."""
        return self.retrying("eth_accounts", lambda: list(self.w3.eth.accounts))

    def retrying(self, what: str, request: Callable[[], T]) -> T:
        """Run ``request``, retrying transient transport failures with exponential back-off."""
        attempts = self.settings.rpc_retries + 1
        for attempt in range(attempts):
            try:
                return request()
            except Exception as exc:
                if not _is_transient(exc):
                    raise
                if attempt + 1 == attempts:
                    raise ChainUnavailable(
                        f"{what}: {self.url} unreachable after {attempts} attempt"
                        f"{'' if attempts == 1 else 's'}: {exc}"
                    ) from None
                time.sleep(self.settings.retry_backoff_s * (2**attempt))
        raise AssertionError("unreachable")


def checksum(address: bytes | str) -> ChecksumAddress:
    """An address in the EIP-55 form web3 wants, from its 20 bytes or any valid spelling."""
    raw = address if isinstance(address, bytes) else parse_address(address)
    return ChecksumAddress(HexAddress(HexStr(format_address(raw))))


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return True
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return exc.response.status_code in _TRANSIENT_HTTP
    return False


def connect(url: str | None = None, *, evm_version: str = "paris",
            settings: ChainSettings | None = None) -> Chain:
    """Connect to ``url`` (``http(s)://`` JSON-RPC), or start the embedded chain when ``url`` is
    ``None`` or ``"embedded"``."""
    settings = settings or ChainSettings()
    if url is None or url == EMBEDDED:
        return Chain(_embedded_web3(evm_version), kind=EMBEDDED, url=None, settings=settings)
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"unsupported RPC URL {url!r}: use http(s)://host:port or 'embedded'")
    provider = HTTPProvider(url, request_kwargs={"timeout": settings.request_timeout_s},
                            exception_retry_configuration=None)
    chain = Chain(Web3(provider), kind="rpc", url=url, settings=settings)
    _ = chain.chain_id  # fail early, with retries, when the node is not there
    return chain


def _embedded_web3(evm_version: str) -> Web3:
    from eth.vm import forks
    from eth_tester import EthereumTester, PyEVMBackend  # type: ignore[import-untyped]

    if evm_version not in _PY_EVM_FORKS:
        raise ConfigError(f"the embedded chain has no fork for evmVersion {evm_version!r}; "
                          f"known: {', '.join(_PY_EVM_FORKS)}")
    fork = getattr(forks, _PY_EVM_FORKS[evm_version])
    backend = PyEVMBackend(vm_configuration=((0, fork),))
    return Web3(EthereumTesterProvider(EthereumTester(backend)))
