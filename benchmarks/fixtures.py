"""Shared inputs: one device key, a chain domain, valid readings with fresh salts, random leaves."""

from __future__ import annotations

import random
from functools import lru_cache
from hashlib import sha256

from coincurve import PrivateKey

from mrv_core import DeviceKey, Domain, Reading, SignedReading, meter_id, new_salt

#: A fixed key, so that runs sign with the same key (its secret is not a secret).
SECRET = sha256(b"trustmrv benchmark device key").digest()
KEY = DeviceKey.from_private_bytes(SECRET)
PRIVATE = PrivateKey(SECRET)
#: A chain domain (anvil's default chain id and first deployment address), not the sample one.
DOMAIN = Domain(chain_id=31337,
                verifying_contract=bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3"))
METER_PATHS = tuple(f"acme/plant-{p}/hall-{h}/line-1/meter-{m}"
                    for p in (1, 2) for h in (1, 2) for m in (1, 2))
METER_IDS = tuple(meter_id(p) for p in METER_PATHS)
T0 = 1_735_689_600  # 2025-01-01T00:00:00Z

# Cumulative energy registers, and signed power (negative when exporting) every fourth reading,
# so int256 encoding of negative values is exercised too.
_ENERGY = "energy.active.import:Wh"
_POWER = "power.active:W"


def make_reading(i: int) -> Reading:
    """The ``i``-th reading of the benchmark device: valid fields and a fresh random salt."""
    meter = METER_IDS[i % len(METER_IDS)]
    if i % 4 == 3:
        return Reading(KEY.address, meter, i // len(METER_IDS), T0 + i, _POWER,
                       (-1) ** i * (1_500 + i % 977), new_salt())
    return Reading(KEY.address, meter, i // len(METER_IDS), T0 + i, _ENERGY, 10_000_000 + 7 * i,
                   new_salt())


def make_readings(n: int) -> list[Reading]:
    return [make_reading(i) for i in range(n)]


def meter_path_of(reading: Reading) -> str:
    return METER_PATHS[METER_IDS.index(reading.meter)]


def sign_all(readings: list[Reading]) -> list[SignedReading]:
    return [KEY.sign_reading(r, DOMAIN, meter_path_of(r)) for r in readings]


@lru_cache(maxsize=4)
def random_leaves(n: int, seed: int = 2025) -> tuple[bytes, ...]:
    """``n`` pseudo-random 32-byte leaf hashes (reproducible; as good as real keccak outputs)."""
    rng = random.Random(seed)
    return tuple(rng.randbytes(32) for _ in range(n))
