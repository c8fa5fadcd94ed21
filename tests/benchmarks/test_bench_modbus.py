"""Section 6's rate counter: concurrent workers' requests are all counted (it once read the
running total before awaiting, so four workers lost most of each other's increments and the
figure came out about four times too low)."""

import asyncio
from collections.abc import Awaitable, Callable

from benchmarks import bench_modbus


def test_the_rate_counts_every_request_of_concurrent_workers() -> None:
    calls = [0, 0, 0, 0]

    def worker(index: int) -> Callable[[], Awaitable[int]]:
        async def once() -> int:
            await asyncio.sleep(0.001)
            calls[index] += 3
            return 3
        return once

    async def measure() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        wall, _ = await bench_modbus._rate([worker(i) for i in range(4)], 0.2)
        return wall * (loop.time() - start)

    counted = asyncio.run(measure())
    # wall = done / elapsed, where elapsed is measured inside _rate (a little shorter than ours).
    assert sum(calls) > 0
    assert abs(counted - sum(calls)) <= 0.1 * sum(calls)
