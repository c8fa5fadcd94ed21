"""Running test code in several threads at once, the GIL handed over as often as CPython allows,
so a check-then-act or an in-place fill that another thread can observe half done shows up.

CPython 3.11 switches threads only at a call, a function's start or a backward jump: a window
without any of them (two plain attribute reads) cannot be observed this way, and needs none.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["run_together", "switching_often"]


@contextmanager
def switching_often() -> Iterator[None]:
    """Hand the GIL over as often as possible (``sys.setswitchinterval(1e-6)``) inside."""
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(switch)


def run_together(*work: Callable[[], object]) -> None:
    """Run each of ``work`` in a thread of its own, all released at once by a barrier, switching
    often (:func:`switching_often`); wait for every one, then raise the first exception any
    of them raised."""
    start = threading.Barrier(len(work))
    failures: list[BaseException] = []

    def run(one: Callable[[], object]) -> None:
        start.wait()
        try:
            one()
        except BaseException as exc:  # handed to the test's thread below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(one,)) for one in work]
    with switching_often():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
