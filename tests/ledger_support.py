"""Test support for the ledger API: a fixed device directory."""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger_api.chain.devices import DeviceStanding, Reason


@dataclass
class StaticDevices:
    """A device directory fixed by the test: the ingest's own rules are under test here, the
    chain-backed directory has tests of its own (ledger_api/chain) and the edge-to-API
    integration tests run the two together on a real chain."""

    active: set[bytes] = field(default_factory=set)
    #: device -> (from, to) Unix seconds it is active in (inclusive); absent: always.
    windows: dict[bytes, tuple[int, int]] = field(default_factory=dict)

    def standing(self, device: bytes, timestamp: int) -> DeviceStanding:
        if device not in self.active:
            return DeviceStanding(None, None, False, Reason.UNKNOWN)
        low, high = self.windows.get(device, (0, 2**64))
        if timestamp < low:
            return DeviceStanding(None, None, False, Reason.NOT_YET_REGISTERED)
        if timestamp > high:
            return DeviceStanding(None, None, False, Reason.REVOKED)
        return DeviceStanding(None, None, True, None)
