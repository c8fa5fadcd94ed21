"""Shared helpers of the accounting integration tests: every shipped methodology version published
on a chain, ``compute`` without web3, and the tally of what the differential test compared.

``conftest.py`` beside this module publishes the versions once per session on each backend (the
embedded chain, anvil at paris, anvil at its newest hardfork); test modules import these helpers
as ``from integration.accounting.support import ...`` (``tests`` is on the Python path).
"""

from __future__ import annotations

import http.client
import json
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from web3.exceptions import ContractLogicError

from accounting_rules import Activity, Result, load_methodology, methodologies
from accounting_rules.onchain import ACTIVITY_TYPE, RESULT_TYPE, activity_tuples, result_from_abi
from accounting_rules.publishing import Published, assign_id, call_error, publish
from factories import beijing
from mrv_core.chain import Chain, NodeSigner, System, Transactor, deploy_system
from mrv_core.hashing import keccak256

#: When the first version of each id takes effect (a first version may take effect in the past).
FIRST_EFFECTIVE = {
    "cn.combustion.stationary": beijing(2000),
    "cn.electricity.location": beijing(2021),
    "cn.electricity.market": beijing(2021),
    "cn.heat.purchased": beijing(2000),
    "cn.machinery": beijing(2021),
    "ipcc.fugitive": beijing(2000),
}
#: A later version takes effect this long after the latest block (the registry refuses the past).
LATER_DELAY_S = 30 * 86_400

Key = tuple[str, int]
T = TypeVar("T")


@dataclass
class Deployed:
    """A system on one chain with every shipped methodology version published in its registry."""

    chain: Chain
    system: System
    admin: Transactor
    association: Transactor
    published: dict[Key, Published]

    #: ``embedded``, ``anvil-paris`` or ``anvil-latest`` (conftest.py's BACKENDS).
    backend: str = "embedded"
    #: A bare JSON-RPC connection to the node (``None`` on the embedded chain).
    rpc: RawRpc | None = None

    def address(self, key: Key) -> str:
        return self.published[key].address

    def effective(self, key: Key) -> int:
        return self.published[key].effective_from

    def latest_timestamp(self) -> int:
        return self.chain.latest_timestamp()


def deploy_and_grant(chain: Chain) -> tuple[System, Transactor, Transactor]:
    """A fresh system deployed by the node's first account (the admin), the second holding
    ASSOCIATION_ROLE with every shipped methodology id assigned to it."""
    accounts = chain.unlocked_accounts()
    admin = Transactor(chain, NodeSigner(accounts[0]))
    system = System(chain, deploy_system(admin))
    association = Transactor(chain, NodeSigner(accounts[1]))
    system.grant_role(admin, "ASSOCIATION_ROLE", association.address)
    for methodology_id in dict.fromkeys(i for i, _ in methodologies()):
        assign_id(system, admin, methodology_id, association.address)
    return system, admin, association


def publish_all(chain: Chain, backend: str = "embedded") -> Deployed:
    """Deploy a system and publish every shipped version: each id's first version from
    :data:`FIRST_EFFECTIVE`, each later one :data:`LATER_DELAY_S` after the then latest block
    (plus one second per earlier later version)."""
    system, admin, association = deploy_and_grant(chain)
    published: dict[Key, Published] = {}
    for methodology_id, version in methodologies():
        m = load_methodology(methodology_id, version)
        earlier = [p for (i, _), p in published.items() if i == methodology_id]
        if not earlier:
            effective = FIRST_EFFECTIVE[methodology_id]
        else:
            latest = int(chain.w3.eth.get_block("latest")["timestamp"])
            effective = max(latest + LATER_DELAY_S, earlier[-1].effective_from + 1)
        published[methodology_id, version] = publish(system, association, m, effective)
    rpc = None if chain.url is None else RawRpc(chain.url)
    return Deployed(chain, system, admin, association, published, backend, rpc)


class RawRpc:
    """JSON-RPC over one kept-alive HTTP connection to a node on loopback: a few hundred
    microseconds per ``eth_call`` where web3's HTTPProvider (requests, proxy lookup, middleware)
    spends several milliseconds."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"{url} is not a loopback node")
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self._id = 0

    def send(self, method: str, params: list[Any]) -> None:
        """Send one request; :meth:`receive` reads its response (meanwhile other nodes work)."""
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method,
                           "params": params})
        self._connection.request("POST", "/", body, {"Content-Type": "application/json"})

    def receive(self) -> dict[str, Any]:
        """The response object (``result`` or ``error``) of the request :meth:`send` sent."""
        response: dict[str, Any] = json.loads(self._connection.getresponse().read())
        return response


# -- compute without web3 -------------------------------------------------------------------------

#: ``IMethodology.compute``'s selector and argument types.
COMPUTE_SELECTOR = keccak256(f"compute(uint64,uint64,{ACTIVITY_TYPE}[])".encode())[:4]
COMPUTE_TYPES = ("uint64", "uint64", ACTIVITY_TYPE + "[]")


def compute_calldata(period_start: int, period_end: int, activities: Sequence[Activity]) -> str:
    """``compute(periodStart, periodEnd, activities)`` as calldata, encoded with eth-abi: web3's
    encoding of a 60-line ``Activity[]`` costs more than the EVM's work on it."""
    return "0x" + (COMPUTE_SELECTOR + abi_encode(COMPUTE_TYPES, (
        period_start, period_end, activity_tuples(activities)))).hex()


def compute_direct(deployed: Deployed, address: str, period_start: int, period_end: int,
                   activities: Sequence[Activity]) -> Result:
    """The methodology contract's ``compute`` on the embedded chain without web3:
    :func:`compute_calldata` run by ``EthereumTester.call``, the result decoded as
    ``compute_on_chain`` does (:func:`compute_result`; without the registry's code-hash check,
    tested in test_publishing.py). This takes a quarter to a third off the differential test on
    py-evm."""
    tester = deployed.chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    call = {"from": deployed.admin.address, "to": address,
            "data": compute_calldata(period_start, period_end, activities)}
    try:
        returned = tester.call(call)
    except Exception as exc:
        raise call_error(deployed.system, exc, "compute") from None
    return compute_result(deployed, {"result": returned})


def send_compute(deployed: Deployed, address: str, calldata: str) -> None:
    """Send ``compute`` as a bare ``eth_call`` to the node of ``deployed``; read the outcome with
    :func:`compute_result` of ``deployed.rpc.receive()``, so several nodes compute at once."""
    assert deployed.rpc is not None, "a node, not the embedded chain"
    deployed.rpc.send("eth_call", [{"from": deployed.admin.address, "to": address,
                                    "data": calldata}, "latest"])


def compute_result(deployed: Deployed, response: dict[str, Any]) -> Result:
    """A ``compute`` response object decoded with
    :func:`~accounting_rules.onchain.result_from_abi`, or its revert turned into an error by
    :func:`~accounting_rules.publishing.call_error`, as ``compute_on_chain`` does."""
    if "error" in response:
        error = response["error"]
        failure = ContractLogicError(str(error.get("message")), data=error.get("data"))
        raise call_error(deployed.system, failure, "compute") from None
    (value,) = abi_decode([RESULT_TYPE], bytes.fromhex(str(response["result"])[2:]))
    return result_from_abi(value)


# -- the differential test's tally ----------------------------------------------------------------

@dataclass
class Tally:
    """What the differential test compared for one methodology version."""

    cases: int = 0
    ok_cases: int = 0
    #: Activity lines whose (scope, grams) were compared, in cases both engines computed.
    lines: int = 0
    #: Cases where both engines failed, by error type.
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def record(self, lines: int, error: str | None) -> None:
        self.cases += 1
        if error is None:
            self.ok_cases += 1
            self.lines += lines
        else:
            self.errors[error] += 1

    def summary(self) -> str:
        failures = ", ".join(f"{name} {count}" for name, count in sorted(self.errors.items()))
        return (f"{self.cases:>5,} cases: {self.ok_cases:>5,} computed ({self.lines:>6,} lines "
                f"compared), {sum(self.errors.values()):>5,} identical failures "
                f"({failures or 'none'}); {self.seconds:.1f} s")


# -- running py-evm at a shallow stack depth ------------------------------------------------------

_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evm")


def shallow(run: Callable[[], T]) -> T:
    """``run()`` on a worker thread, whose frame stack is shallow.

    CPython 3.11 keeps Python frames in 16 KiB chunks and frees a chunk as soon as the call that
    opened it returns. Deep inside pytest and hypothesis, py-evm's opcode loop happens to sit on a
    chunk boundary: every opcode then maps and unmaps a chunk (millions of mmap/munmap pairs, three
    times the run time). On the worker the depth is small and always the same.
    """
    return _WORKER.submit(run).result()
