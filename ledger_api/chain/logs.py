"""Reading from the chain for the ledger: typed failures, and a contract's events over a block
range in chunks a node accepts.

Every request goes through :meth:`mrv_core.chain.System.call` (the chain's retry policy for
transient transport failures, as ``edge_node.anchoring.chainview`` reads logs); whatever still
fails becomes a :class:`~ledger_api.errors.ChainReadFailed` naming the call and its arguments, or
a :class:`~ledger_api.errors.ChainReadUnavailable` when the node stayed unreachable.

Nodes cap ``eth_getLogs``: Hyperledger Besu by its ``--rpc-max-logs-range`` (1,000 blocks by
default), hosted nodes by a few thousand blocks or results. :func:`read_events` asks for at most
``max_block_range`` blocks at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from web3.contract import Contract

from mrv_core.chain import System
from mrv_core.errors import ChainError, ChainUnavailable, ConfigError

from ..errors import ChainReadFailed, ChainReadUnavailable

__all__ = ["DEFAULT_MAX_BLOCK_RANGE", "EventLog", "read", "read_events"]

T = TypeVar("T")
#: Blocks per ``eth_getLogs`` request: Besu's default ``--rpc-max-logs-range``.
DEFAULT_MAX_BLOCK_RANGE = 1000


@dataclass(frozen=True)
class EventLog:
    """One decoded event: its name and arguments (as web3 decodes them), and where it is."""

    event: str
    args: Mapping[str, Any]
    block_number: int
    block_hash: bytes
    log_index: int
    transaction_hash: bytes


def read(system: System, what: str, request: Callable[[], T]) -> T:
    """``request()`` through the chain's retry policy; a failure raises
    :class:`ChainReadUnavailable` (node unreachable) or :class:`ChainReadFailed` (anything
    else), both naming ``what``."""
    try:
        return system.call(what, request)
    except ChainUnavailable as exc:
        raise ChainReadUnavailable(what, str(exc)) from exc
    except ChainError as exc:
        raise ChainReadFailed(what, str(exc)) from exc
    except Exception as exc:  # web3 and the transport raise many unrelated classes
        raise ChainReadFailed(what, f"{type(exc).__name__}: {exc}") from exc


def read_events(system: System, contract: Contract, label: str, names: Sequence[str],
                from_block: int, to_block: int, *,
                max_block_range: int = DEFAULT_MAX_BLOCK_RANGE) -> list[EventLog]:
    """The events ``names`` of ``contract`` (called ``label`` in messages) in blocks
    ``from_block`` to ``to_block`` inclusive, in chain order (block, log index), read in
    requests of at most ``max_block_range`` blocks. Raises as :func:`read`, and
    :class:`~mrv_core.errors.ConfigError` when ``max_block_range`` is below 1."""
    if max_block_range < 1:
        raise ConfigError(f"max_block_range must be at least 1, got {max_block_range}")
    decoders = {str(contract.events[name]().topic).lower(): contract.events[name]()
                for name in names}
    topics = [list(decoders)]
    w3 = system.chain.w3
    found: list[EventLog] = []
    start = from_block
    while start <= to_block:
        end = min(to_block, start + max_block_range - 1)
        params: Any = {"address": contract.address, "fromBlock": start, "toBlock": end,
                       "topics": topics}
        logs = read(system, f"eth_getLogs {label} ({', '.join(names)}) blocks {start}-{end}",
                    lambda p=params: w3.eth.get_logs(p))  # type: ignore[misc]
        for log in logs:
            decoder = decoders.get("0x" + bytes(log["topics"][0]).hex()) if log["topics"] else None
            if decoder is None or log["address"] != contract.address:
                continue  # a node that ignores the filter: not ours
            try:
                decoded = decoder.process_log(log)
            except Exception as exc:  # data that does not match the event's ABI
                raise ChainReadFailed(
                    f"decoding a {label} log at block {log['blockNumber']} index "
                    f"{log['logIndex']}", f"{type(exc).__name__}: {exc}") from exc
            found.append(EventLog(event=str(decoded["event"]), args=dict(decoded["args"]),
                                  block_number=int(log["blockNumber"]),
                                  block_hash=bytes(log["blockHash"]),
                                  log_index=int(log["logIndex"]),
                                  transaction_hash=bytes(log["transactionHash"])))
        start = end + 1
    found.sort(key=lambda e: (e.block_number, e.log_index))
    return found
