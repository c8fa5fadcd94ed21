"""Timing helpers, run configuration, result rows and the printed table.

Every figure is the best of N timed repetitions (after untimed warm-up runs) measured with
``time.perf_counter`` in this one process, so only one core is used. The garbage collector stays
enabled, as in production, but is emptied before each repetition so that one run does not pay
for the garbage of the previous one. Ratios are always taken between figures of the same run.
"""

from __future__ import annotations

import gc
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, TypeVar

T = TypeVar("T")


class BenchmarkError(RuntimeError):
    """A benchmark computed a wrong result: its timing would be meaningless."""


def check(condition: bool, message: str) -> None:
    """Fail the run (not merely the figure) when a computed result is wrong."""
    if not condition:
        raise BenchmarkError(message)


@dataclass(frozen=True)
class Config:
    """Sizes and repetition counts of a run (``quick`` is a smoke test, not a measurement)."""

    quick: bool
    repeat: int
    sign_n: int
    oracle_n: int
    keccak_n: int
    leaf_n: int
    tree_sizes: tuple[int, ...]
    proof_tree_sizes: tuple[int, ...]
    proof_n: int
    multiproof_sizes: tuple[int, ...]
    bundle_batch: int
    oz_sizes: tuple[int, ...]
    accounting_lines: int
    accounting_calls: int
    accounting_chain_lines: int

    @classmethod
    def full(cls) -> Config:
        # Many short repetitions: on a shared machine the best of many short runs is the
        # figure least disturbed by other processes.
        return cls(quick=False, repeat=7, sign_n=10_000, oracle_n=500, keccak_n=50_000,
                   leaf_n=100_000, tree_sizes=(1_000, 100_000, 1_000_000),
                   proof_tree_sizes=(1_000, 1_000_000), proof_n=10_000,
                   multiproof_sizes=(2, 16, 128, 1024), bundle_batch=1024,
                   oz_sizes=(1_000, 10_000, 100_000), accounting_lines=30_000,
                   accounting_calls=10_000, accounting_chain_lines=60)

    @classmethod
    def quick_run(cls) -> Config:
        return cls(quick=True, repeat=2, sign_n=1_000, oracle_n=50, keccak_n=10_000,
                   leaf_n=2_000, tree_sizes=(1_000, 10_000), proof_tree_sizes=(1_000, 10_000),
                   proof_n=1_000, multiproof_sizes=(2, 16, 128), bundle_batch=64,
                   oz_sizes=(1_000,), accounting_lines=3_000, accounting_calls=1_000,
                   accounting_chain_lines=12)


def best_of(fn: Callable[[], T], *, repeat: int, warmup: int = 1) -> tuple[float, T]:
    """Seconds of the fastest of ``repeat`` timed calls of ``fn``, and the last call's result."""
    result = fn() if warmup else None
    for _ in range(warmup - 1):
        fn()
    best = math.inf
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result  # type: ignore[return-value]  # repeat >= 1 always assigns it


@dataclass(frozen=True)
class Target:
    """A goal for a figure: at least ``value`` (``at_most`` False) or at most ``value``."""

    value: float
    at_most: bool = False

    def met(self, measured: float) -> bool:
        return measured <= self.value if self.at_most else measured >= self.value


@dataclass(frozen=True)
class Row:
    """One printed figure."""

    section: str
    name: str
    value: float
    unit: str  # "/s", "s", "x"
    target: Target | None = None
    note: str = ""

    @property
    def mark(self) -> str:
        if self.target is None:
            return ""
        return "PASS" if self.target.met(self.value) else "BELOW"

    def as_json(self) -> dict[str, object]:
        return {
            "section": self.section, "name": self.name, "value": self.value, "unit": self.unit,
            "target": None if self.target is None else
            {"value": self.target.value, "at_most": self.target.at_most},
            "mark": self.mark or None, "note": self.note,
        }


def fmt(value: float, unit: str) -> str:
    """A value with its unit, readable at a glance: ``29,020 /s``, ``1.84 s``, ``53.1x``."""
    if unit == "x":  # two decimals below 10x, so a 0.34x against a 0.6x target stays legible
        return f"{value:,.2f}x" if value < 10 else f"{value:,.1f}x"
    if unit == "s":
        return f"{value * 1000:,.1f} ms" if value < 1 else f"{value:,.2f} s"
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.1f} {unit}"


def format_row(row: Row) -> str:
    target = ""
    if row.target is not None:
        target = ("<= " if row.target.at_most else ">= ") + fmt(row.target.value, row.unit)
    line = f"  {row.name:<50} {fmt(row.value, row.unit):>17}  {target:<17} {row.mark:<5}"
    return (line + "  " + row.note).rstrip()


def table_header() -> str:
    head = f"  {'metric':<50} {'result':>17}  {'target':<17} {'mark':<5}  note"
    return head + "\n  " + "-" * (len(head) - 2)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def node_version() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or None


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "node": node_version(),
        "packages": {p: _version(p) for p in ("coincurve", "safe-pysha3", "pycryptodome",
                                              "eth-hash", "eth-abi", "eth-account")},
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def format_machine(info: dict[str, Any]) -> str:
    packages: dict[str, str] = info["packages"]
    return "\n".join((
        f"  python     {info['python']}  ({info['executable']})",
        f"  platform   {info['platform']}",
        f"  cpu        {info['cpu']}; cpu count {info['cpu_count']} "
        f"(usable {info['cpus_usable']}); figures use ONE core, single process",
        f"  load avg   {info['load_average']} at start (shared machine: compare ratios)",
        f"  node       {info['node'] or 'not found'}",
        "  packages   " + ", ".join(f"{k} {v}" for k, v in packages.items()),
        f"  date       {info['date']}",
    ))
