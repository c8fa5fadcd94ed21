"""Sample data: plausible signed readings of a few simulated meters.

Offline, everything is signed under ``SAMPLE_DOMAIN`` (chain id 0, zero verifying contract),
which no chain can have, and every bundle says ``"sample": true``. Signed for a chain (``mrv
bundle sample --rpc``, ``mrv demo``) the readings use that chain's domain and the bundles say
``"sample": false``: the flag marks the offline domain only, and the commands say so where they
print sample data. Values follow simple load profiles (a 15-minute interval, a working-day
shape); salts are always fresh from the OS CSPRNG (:func:`mrv_core.new_salt`), a seed only makes
the values reproducible. The caller closes the readings into a batch whose header the device
signs (:meth:`mrv_core.keys.DeviceKey.close_batch`), so the documents written are version 2.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mrv_core import Domain, Reading, SignedReading, meter_id, new_salt
from mrv_core.keys import DeviceKey

__all__ = ["SAMPLE_INTERVAL_S", "SAMPLE_METERS", "SampleMeter", "sample_readings"]

SAMPLE_INTERVAL_S = 900  # one reading per meter every 15 minutes


@dataclass(frozen=True)
class SampleMeter:
    path: str
    quantity: str
    start: int  # register value (cumulative) or level (instantaneous) at the first reading
    step: tuple[int, int]  # per-interval increment range at full load, in the quantity's unit
    cumulative: bool = True


SAMPLE_METERS: tuple[SampleMeter, ...] = (
    SampleMeter("demo-co/wuxi-plant/assembly/line-1/main-incomer",
                "energy.active.import:Wh", 1_204_331_870, (95_000, 125_000)),
    SampleMeter("demo-co/wuxi-plant/assembly/line-1/welding-cell-3",
                "power.active:W", 42_000, (-6_000, 6_000), cumulative=False),
    SampleMeter("demo-co/wuxi-plant/utilities/boiler-house/gas-meter-1",
                "volume.gas:dm3", 88_410_250, (9_000, 14_000)),
    SampleMeter("demo-co/wuxi-plant/utilities/heat-station/heat-meter-1",
                "heat:kJ", 5_310_998_004, (1_400_000, 2_100_000)),
)


def _load_factor(timestamp: int) -> float:
    """A working-day shape: full load 08:00-18:00 UTC+8, a third of it at night."""
    hour = (timestamp // 3600 + 8) % 24
    return 1.0 if 8 <= hour < 18 else 0.35


def sample_readings(
    key: DeviceKey,
    domain: Domain,
    count: int,
    *,
    end_timestamp: int,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
    interval_s: int = SAMPLE_INTERVAL_S,
) -> Iterator[SignedReading]:
    """Yield ``count`` signed readings, meters in turn, one round every ``interval_s`` seconds,
    the last round taken at ``end_timestamp``."""
    rng = random.Random(seed)
    rounds = -(-count // len(SAMPLE_METERS))
    first = end_timestamp - (rounds - 1) * interval_s
    levels = [m.start for m in SAMPLE_METERS]
    ids = [meter_id(m.path) for m in SAMPLE_METERS]
    for i in range(count):
        round_, k = divmod(i, len(SAMPLE_METERS))
        meter = SAMPLE_METERS[k]
        timestamp = first + round_ * interval_s
        if round_ > 0:
            delta = rng.randint(*meter.step)
            if meter.cumulative:  # the step is per 15 minutes: scale it to the interval
                levels[k] += int(delta * interval_s // SAMPLE_INTERVAL_S * _load_factor(timestamp))
            else:
                levels[k] = int((meter.start + delta) * _load_factor(timestamp))
        reading = Reading(device=key.address, meter=ids[k], seq=round_, timestamp=timestamp,
                          quantity=meter.quantity, value=levels[k], salt=new_salt())
        yield key.sign_reading(reading, domain, meter.path)
        if progress is not None:
            progress(i + 1)
