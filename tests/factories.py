"""Test data shared by every test module: deterministic keys, domains, readings, strategies.

Importable from any test (``pythonpath = ["tests"]`` in pyproject.toml): ``from factories import
...``. Deterministic where a failure must reproduce; salts come from a seeded RNG unless a test
asks for real randomness.
"""

from __future__ import annotations

import random

from hypothesis import strategies as st

from mrv_core import QUANTITIES, Domain, Reading, SignedReading, meter_id
from mrv_core.batch import Batch, build_batch
from mrv_core.codec import INT256_MAX, INT256_MIN, UINT64_MAX
from mrv_core.keys import DeviceKey

#: A fixed test key (never use outside tests): secret 0x00..01, address 0x7E5F...5Bdf.
TEST_KEY = DeviceKey.from_private_bytes((1).to_bytes(32, "big"))
OTHER_KEY = DeviceKey.from_private_bytes((2).to_bytes(32, "big"))
#: anvil's/hardhat's chain id and the first contract address its default deployer creates.
TEST_DOMAIN = Domain(chain_id=31337,
                     verifying_contract=bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3"))
METER_PATHS = (
    "demo-co/wuxi-plant/assembly/line-1/main-incomer",
    "demo-co/wuxi-plant/utilities/boiler-house/gas-meter-1",
    "示例集团/无锡工厂/装配车间/一号线/总表",
)
SIGNED_QUANTITIES = tuple(code for code, q in QUANTITIES.items() if q.signed)
UNSIGNED_QUANTITIES = tuple(code for code, q in QUANTITIES.items() if not q.signed)


def make_reading(rng: random.Random, device: bytes = TEST_KEY.address, *, seq: int | None = None,
                 meter_path: str | None = None) -> tuple[Reading, str]:
    """A valid random reading and its meter path."""
    path = meter_path or rng.choice(METER_PATHS)
    quantity = rng.choice(tuple(QUANTITIES))
    low = INT256_MIN if QUANTITIES[quantity].signed else 0
    value = rng.choice([0, 1, rng.randrange(10**9), rng.randint(low, INT256_MAX), INT256_MAX, low])
    return Reading(
        device=device,
        meter=meter_id(path),
        seq=rng.randrange(UINT64_MAX) if seq is None else seq,
        timestamp=rng.randrange(1_600_000_000, 1_900_000_000),
        quantity=quantity,
        value=value,
        salt=rng.randbytes(32),
    ), path


def signed_readings(count: int, *, seed: int = 0, key: DeviceKey = TEST_KEY,
                    domain: Domain = TEST_DOMAIN) -> list[SignedReading]:
    """``count`` signed readings of ``key`` with seq 0..count-1 on one meter per path."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        reading, path = make_reading(rng, key.address, seq=i, meter_path=METER_PATHS[i % 3])
        out.append(key.sign_reading(reading, domain, path))
    return out


def sample_batch(count: int, *, seed: int = 0, batch_seq: int = 0,
                 domain: Domain = TEST_DOMAIN) -> Batch:
    """A closed batch of ``count`` signed readings of ``TEST_KEY``."""
    readings = signed_readings(count, seed=seed, domain=domain)
    return build_batch(TEST_KEY.address, batch_seq, readings)


# -- hypothesis strategies ------------------------------------------------------------------------

bytes32 = st.binary(min_size=32, max_size=32)
addresses = st.binary(min_size=20, max_size=20)
uint64s = st.integers(min_value=0, max_value=UINT64_MAX)


@st.composite
def readings(draw: st.DrawFn, device: bytes | None = None) -> Reading:
    """Any valid reading, with the edges (0, extremes) drawn often."""
    quantity = draw(st.sampled_from(tuple(QUANTITIES)))
    low = INT256_MIN if QUANTITIES[quantity].signed else 0
    value = draw(st.one_of(st.sampled_from([0, 1, low, INT256_MAX]),
                           st.integers(min_value=low, max_value=INT256_MAX)))
    return Reading(
        device=device if device is not None else draw(addresses),
        meter=draw(bytes32),
        seq=draw(st.one_of(st.sampled_from([0, UINT64_MAX]), uint64s)),
        timestamp=draw(st.one_of(st.sampled_from([0, UINT64_MAX]), uint64s)),
        quantity=quantity,
        value=value,
        salt=draw(bytes32),
    )


leaf_lists = st.lists(bytes32, min_size=1, max_size=80)
