"""What the edge node's integration tests share beside the chain tests' actors
(``integration.chain.support.deploy_actors``: a deployed system with a registered, funded
device): one embedded chain with that system for the whole session (tests roll their changes
back with snapshots), and a chain whose requests can be made to fail on purpose.

:class:`FlakyChain` is the real chain client with failures injected at the transport: a request
can fail before reaching the node (an outage) or reach it and lose its answer (a receipt or a
send acknowledgement lost on the way back). The node, the contracts and the transactions are
real; only the network's misbehaviour is simulated, because no real part produces it on demand.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TypeVar

from integration.chain.support import Actors, deploy_actors

from mrv_core.chain import Chain, connect
from mrv_core.errors import ChainUnavailable

T = TypeVar("T")


class FlakyChain(Chain):
    """A :class:`Chain` whose next requests can be made to fail (see the module docstring)."""

    def __init__(self, inner: Chain) -> None:
        super().__init__(inner.w3, kind=inner.kind, url=inner.url, settings=inner.settings)
        #: Fail this many next requests before they reach the node.
        self.outage = 0
        #: Requests (by JSON-RPC method) whose next answer is lost after the node acted.
        self.lose_answer: set[str] = set()

    def retrying(self, what: str, request: Callable[[], T]) -> T:
        if self.outage > 0:
            self.outage -= 1
            raise ChainUnavailable(f"{what}: injected outage (the request never reached the "
                                   f"node)")
        if what in self.lose_answer:
            self.lose_answer.discard(what)
            super().retrying(what, request)
            raise ChainUnavailable(f"{what}: injected loss of the answer (the node acted)")
        return super().retrying(what, request)


@cache
def embedded_actors() -> Actors:
    """The session's embedded chain with a deployed system and a registered device (deployed
    once: about 3 s). Tests take an ``evm_snapshot`` first and ``evm_revert`` after."""
    return deploy_actors(connect(None))


#: A node of one ABB B2x meter (its energy counter only) on the meter simulator at ``port``,
#: summarizing it as ``electricity.grid``; the chain is passed to ``EdgeNode`` directly.
NODE_CONFIG = """\
[device]
key_file = "device.json"
store = "edge.sqlite"
site = "demo-co/wuxi-plant"

[chain]
rpc = "{rpc}"
deployment = "deployment.json"

[summaries]
sources = {{ "{meter}" = "electricity.grid" }}

[[acquisition.connections]]
name = "gw"
kind = "tcp"
host = "127.0.0.1"
port = {port}

[[acquisition.connections.meters]]
path = "{meter}"
unit_id = 1
profile = "abb.b2x"
interval = {interval}
points = ["energy_import"]
"""
