"""Driving a development chain's clock from simulated time (demos and commissioning only).

A simulated month of readings anchored on a chain whose blocks keep real time would put every
batch "in the future" of the chain (the AnchorRegistry refuses a ``toTimestamp`` past the block
time plus ``maxClockSkew``) or, with a simulated past, flag every reading as older than the last
anchor. :class:`ChainClock` keeps the chain's block time on the simulated clock
(``mrv_core.simulated_time``): :meth:`ChainClock.advance` mines an empty block at
``max(latest block time + 1, simulated now)`` whenever the simulated now (whole seconds) is
past the latest block, so the transaction that follows, its gas estimate and every read of
"the chain's time" see the simulated now (on the embedded chain the empty block is one second
earlier and the next block opens at the simulated now).

Why a block, not only the next block's timestamp: anvil's ``eth_estimateGas`` evaluates against
the latest block, so after ``evm_setNextBlockTimestamp`` alone a batch ahead of the old block
time still reverts in estimation (tried on anvil 1.7.1); and eth-tester's ``time_travel``
mines such a block anyway. The extra blocks also let confirmations arrive on an automining
chain: :class:`~mrv_core.chain.Transactor` advances the clock while it waits for them.

Only development chains can do this: anvil (``evm_mine`` with a timestamp) and the embedded
chain (eth-tester's ``time_travel``). A real network refuses the method, and anything but a
loopback endpoint is refused before asking; both are :class:`SimulatedTimeRefused` (a
:class:`~mrv_core.errors.ConfigError`: one line, exit 2). Time never goes back: a chain
already ahead of the simulated clock by more than ``allowed_lead_s`` is refused too (start anvil
with ``--timestamp`` at or before the simulated start).
"""

from __future__ import annotations

import functools
import ipaddress
import time
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..simulated_time import SimulatedTime
from .backend import Chain

__all__ = ["ChainClock", "SimulatedTimeRefused"]

#: A mine refused for its timestamp while several processes drive one chain is asked again this
#: many times, after this pause (real seconds).
_RACE_RETRIES = 3
_RACE_PAUSE_S = 0.05


class SimulatedTimeRefused(ConfigError):
    """The chain cannot follow simulated time: not a development chain, not on loopback, or
    already past the simulated now."""


class ChainClock:
    """Keeps ``chain``'s block time on ``simulated`` (see the module docstring).

    Constructing it checks the endpoint (loopback or the embedded chain), that the chain is not
    ahead of the simulated now by more than ``allowed_lead_s`` seconds, and that the chain
    takes the development method, by mining the first block at the simulated now. Raises
    :class:`SimulatedTimeRefused`, or :class:`~mrv_core.errors.ChainUnavailable` when the
    node cannot be reached."""

    def __init__(self, chain: Chain, simulated: SimulatedTime, *,
                 allowed_lead_s: int = 0) -> None:
        self.chain = chain
        self.simulated = simulated
        if not chain.embedded:
            host = urlsplit(chain.url or "").hostname or ""
            if not _is_loopback(host):
                raise SimulatedTimeRefused(
                    f"simulated time drives only a development chain on loopback (127.0.0.1, "
                    f"::1) or the embedded chain, not {chain.url}")
        latest, now = self._chain_time(), simulated.now_s()
        if latest > now + allowed_lead_s:
            raise SimulatedTimeRefused(
                f"the chain's clock is at {latest}, {latest - now} s after the simulated now "
                f"{now} (allowed lead {allowed_lead_s} s): block time never goes back; start the "
                f"chain at or before the simulated start (anvil --timestamp) or start the "
                f"simulated clock later")
        self._mine(max(latest + 1, now))

    def advance(self) -> int:
        """Mine an empty block at the simulated now when it is past the latest block's time;
        return the latest block's time afterwards (Unix s)."""
        latest, now = self._chain_time(), self.simulated.now_s()
        if now <= latest:
            return latest
        return self._mine(now)

    # -- the two backends -------------------------------------------------------------------------

    def _chain_time(self) -> int:
        """The time the next block cannot precede: the latest block's, and on the embedded
        chain its pending block's (py-evm stamps it with the real time it was opened)."""
        latest = self.chain.latest_timestamp()
        if not self.chain.embedded:
            return latest
        pending = self.chain.retrying("eth_getBlockByNumber", lambda: int(
            self.chain.w3.eth.get_block("pending")["timestamp"]))
        return max(latest, pending - 1)

    def _mine(self, timestamp: int) -> int:
        """Make ``timestamp`` the chain's time; return the latest block's time after. On the
        embedded chain ``time_travel(t)`` mines its empty block at ``t - 1`` and opens the
        next one at ``t``."""
        if self.chain.embedded:
            tester: Any = getattr(self.chain.w3.provider, "ethereum_tester", None)
            if tester is None:
                raise SimulatedTimeRefused("this embedded chain has no eth-tester to set its "
                                           "block time")
            self.chain.retrying("time_travel", lambda: tester.time_travel(timestamp))
            return timestamp - 1
        for attempt in range(_RACE_RETRIES + 1):
            answer: Any = self.chain.retrying("evm_mine", functools.partial(
                self.chain.w3.provider.make_request, "evm_mine", [timestamp]))  # type: ignore[arg-type]
            error = answer.get("error") if isinstance(answer, dict) else None
            if error is None:
                return timestamp
            detail = error.get("message", error) if isinstance(error, dict) else error
            if (latest := self._chain_time()) >= timestamp:
                # Another driver of the same chain (a second node, the relayer, the demo) mined
                # a block at or after this time between our read and our mine: the chain is
                # where this call wanted it.
                return latest
            if "timestamp" not in str(detail).lower() or attempt == _RACE_RETRIES:
                break
            # anvil also refuses a time below the one it reserved for its next block (another
            # driver's estimate or call): the simulated clock moves on, ask again at its now.
            time.sleep(_RACE_PAUSE_S)
            timestamp = max(latest + 1, self.simulated.now_s(), timestamp)
        raise SimulatedTimeRefused(
            f"the chain at {self.chain.url} refused evm_mine at {timestamp} ({detail}): "
            f"simulated time needs a development chain (anvil, the embedded chain)")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
