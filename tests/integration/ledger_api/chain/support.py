"""The actors of the ledger's chain tests: a fresh deployment with an enterprise, a registered
device and a regulator, and the raw registry calls the system bindings do not wrap (suspend,
reinstate, revoke)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from integration.chain.support import Actors

from mrv_core.chain import Sent, Transactor
from mrv_core.codec import format_address


@dataclass
class Registry:
    """The actors of :func:`deploy_actors` plus a regulator, and the calls they make."""

    actors: Actors
    regulator: Transactor

    def block_time(self, sent: Sent) -> int:
        w3 = self.actors.chain.w3
        return int(w3.eth.get_block(sent.block_number)["timestamp"])

    def tick(self) -> None:
        """Make the next block's time later than the latest one's: the embedded chain always
        does; anvil mines blocks within one second at the same time."""
        chain = self.actors.chain
        if chain.embedded:
            return
        latest = chain.latest_timestamp()
        chain.w3.provider.make_request(  # type: ignore[attr-defined]
            "evm_setNextBlockTimestamp", [max(latest + 1, int(time.time()))])

    def _device_call(self, sender: Transactor, function: str, device: bytes) -> int:
        self.tick()
        call = getattr(self.actors.system.devices.functions, function)(format_address(device))
        return self.block_time(sender.send(call, description=f"{function} {device.hex()}"))

    def suspend(self, device: bytes) -> int:
        return self._device_call(self.regulator, "suspendDevice", device)

    def reinstate(self, device: bytes) -> int:
        return self._device_call(self.regulator, "reinstateDevice", device)

    def revoke(self, device: bytes) -> int:
        return self._device_call(self.actors.enterprise, "revokeDevice", device)
