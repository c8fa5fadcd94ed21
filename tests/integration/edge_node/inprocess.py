"""An edge node run in the test's own process (``EdgeNode.run``, every stage real) against the
meter simulator over Modbus TCP on 127.0.0.1 and the session's embedded chain (a deployed
system with a registered device: ``support.embedded_actors``), for scenarios that need the
node's state in hand (its health checks, the moment polling stops) without a process to kill.

:func:`node_config` writes the configuration file as an operator would; :func:`running_node`
starts the node and stops it cleanly (open gap runs signed, connections closed) on the way
out. The chain is reverted to its snapshot afterwards by the ``node_actors`` fixture
(conftest.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from integration.chain.support import Actors

from edge_node.config import NodeConfig, load_config
from edge_node.node import EdgeNode, NodeTimings
from mrv_core.keys import LIGHT_SCRYPT_N

SITE = "edge-co/test-plant"
METER = f"{SITE}/hall/line-1/meter-1"

#: Fast stages: polls every 0.2 s, cycles and batches often, one anchor walk at the start.
FAST = NodeTimings(cycle_s=0.05, batch_every_s=0.2, anchor_every_s=3600, disk_every_s=0.2,
                   metrics_every_s=0.2, gap_flush_s=3600)


def node_config(directory: Path, port: int, *, profile: str = "generic", extra: str = "",
                interval: float = 0.2, actors: Actors | None = None) -> NodeConfig:
    """Write ``directory/edge.toml`` (one meter, :data:`METER` at unit 1 on ``port``, with
    ``profile``, then the ``extra`` tables) and load it as the node does; with ``actors``,
    write the configured key file and deployment file too (``mrv edge status`` reads them)."""
    if actors is not None:
        actors.device.save(directory / "device.json", "in-process", scrypt_n=LIGHT_SCRYPT_N)
        actors.system.deployment.write(directory / "deployment.json")
    text = f"""\
[device]
key_file = "device.json"
store = "edge.sqlite"
site = "{SITE}"

[chain]
rpc = "http://127.0.0.1:8545"
deployment = "deployment.json"

{extra}

[[acquisition.connections]]
name = "gw"
kind = "tcp"
host = "127.0.0.1"
port = {port}

[[acquisition.connections.meters]]
path = "{METER}"
unit_id = 1
profile = "{profile}"
interval = {interval}
"""
    (directory / "edge.toml").write_text(text, encoding="utf-8")
    return load_config(directory / "edge.toml")


@asynccontextmanager
async def running_node(config: NodeConfig, actors: Actors,
                       timings: NodeTimings = FAST) -> AsyncIterator[EdgeNode]:
    """The node running until the block ends, then stopped as on SIGTERM."""
    node = EdgeNode(config, actors.device, actors.system, timings=timings)
    stop = asyncio.Event()
    task = asyncio.create_task(node.run(stop))
    try:
        yield node
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def until(condition: Callable[[], bool], seconds: float = 20, what: str = "") -> None:
    """Wait (polling every 0.05 s) until ``condition()`` holds; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {seconds} s: {what or condition}")
        await asyncio.sleep(0.05)
