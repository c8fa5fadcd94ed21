"""Actors of the chain tests, also used by the edge node's integration tests: a freshly deployed
system, an enterprise, and a registered, funded device with its transactor."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from factories import signed_readings
from mrv_core import Batch
from mrv_core.chain import Chain, KeySigner, NodeSigner, System, Transactor, deploy_system
from mrv_core.codec import format_address
from mrv_core.keys import DeviceKey

SITE = b"\x51" * 32
METADATA = b"\x4d" * 32


@dataclass
class Actors:
    """A freshly deployed system and the accounts that act on it."""

    chain: Chain
    system: System
    admin: Transactor
    enterprise: Transactor
    device: DeviceKey
    device_tx: Transactor

    def batch(self, count: int, batch_seq: int = 0, *, seed: int = 0) -> Batch:
        """A batch of this device's readings, signed (readings and header) for this
        deployment, measured in the hour before the latest block."""
        now = int(self.chain.w3.eth.get_block("latest")["timestamp"])
        readings = [
            self.device.sign_reading(dataclasses.replace(r.reading, timestamp=now - 3600 + i),
                                     self.system.domain, r.meter_path)
            for i, r in enumerate(signed_readings(count, seed=seed, key=self.device))]
        return self.device.close_batch(batch_seq, readings, self.system.domain)


def deploy_actors(chain: Chain, device: DeviceKey | None = None) -> Actors:
    """Deploy the system from the node's first unlocked account, make the second an
    enterprise, register ``device`` (a new key by default) with its consent and fund its
    account."""
    accounts = chain.unlocked_accounts()
    admin = Transactor(chain, NodeSigner(accounts[0]))
    system = System(chain, deploy_system(admin))
    enterprise = Transactor(chain, NodeSigner(accounts[1]))
    system.grant_role(admin, "ENTERPRISE_ROLE", enterprise.address)
    device = device or DeviceKey.generate()
    admin.transfer(format_address(device.address), 10**20)
    system.register_device(enterprise, device, SITE, METADATA)
    return Actors(chain, system, admin, enterprise, device,
                  Transactor(chain, KeySigner(device)))
