"""Test support for the ledger API: a fixed device directory."""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger_api.ingest.service import Standing


@dataclass
class StaticDevices:
    """A device directory fixed by the test: the ingest's own rules are under test here, the
    chain-backed directory has tests of its own (ledger_api/chain) and the edge-to-API
    integration tests run the two together on a real chain."""

    active: set[bytes] = field(default_factory=set)
    #: device -> (from, to) Unix seconds it is active in (inclusive); absent: always.
    windows: dict[bytes, tuple[int, int]] = field(default_factory=dict)

    def known(self, device: bytes) -> bool:
        return device in self.active

    def standing(self, device: bytes, timestamp: int) -> Standing:
        if device not in self.active:
            return Standing(False, "unknown")
        low, high = self.windows.get(device, (0, 2**64))
        if timestamp < low:
            return Standing(False, "not_yet_registered", f"registered at {low}")
        if timestamp > high:
            return Standing(False, "revoked", f"revoked at {high}")
        return Standing(True)
