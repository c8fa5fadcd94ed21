"""Run the TrustMRV benchmark suite: ``python -m benchmarks [--quick] [--json FILE]``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import (
    bench_accounting,
    bench_edge,
    bench_edge_load,
    bench_ledger,
    bench_merkle,
    bench_modbus,
    bench_oz,
    bench_recompute,
    bench_signing,
    bench_verify,
)
from .core import (
    BenchmarkError,
    Config,
    Row,
    format_machine,
    format_row,
    machine_info,
    table_header,
)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Throughput of the TrustMRV core on one core, with oracle and "
                    "@openzeppelin/merkle-tree comparisons measured in the same run.")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, a smoke test in seconds (figures are not meaningful)")
    parser.add_argument("--json", metavar="FILE", type=Path,
                        help="also write the results (and machine info) to FILE as JSON")
    parser.add_argument("--skip-node", action="store_true",
                        help="skip the @openzeppelin/merkle-tree comparison under Node")
    return parser.parse_args(argv)


def _section(title: str, run: Callable[[], list[Row]], rows: list[Row]) -> None:
    print(f"\n{title}", flush=True)
    start = time.perf_counter()
    new = run()
    print(table_header())
    for row in new:
        print(format_row(row))
    print(f"  ({time.perf_counter() - start:.1f} s)", flush=True)
    rows += new


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    cfg = Config.quick_run() if args.quick else Config.full()
    info = machine_info()
    print(f"TrustMRV benchmarks ({'QUICK smoke run' if cfg.quick else 'full run'})")
    print(format_machine(info))
    rows: list[Row] = []
    extra: dict[str, Any] = {}
    start = time.perf_counter()

    def oz_section() -> list[Row]:
        oz_rows, extra["openzeppelin"] = bench_oz.run(cfg)
        return oz_rows

    try:
        _section(bench_signing.SECTION, lambda: bench_signing.run(cfg), rows)
        _section(bench_merkle.SECTION, lambda: bench_merkle.run(cfg), rows)
        _section(bench_verify.SECTION, lambda: bench_verify.run(cfg), rows)
        if args.skip_node:
            print(f"\n{bench_oz.SECTION}\n  skipped (--skip-node)")
        else:
            try:
                _section(bench_oz.SECTION, oz_section, rows)
            except bench_oz.Skipped as exc:
                print(f"  skipped: {exc}")
        _section(bench_accounting.SECTION, lambda: bench_accounting.run(cfg), rows)
        _section(bench_modbus.SECTION, lambda: bench_modbus.run(cfg), rows)
        _section(bench_edge.SECTION, lambda: bench_edge.run(cfg), rows)
        _section(bench_edge_load.SECTION, lambda: bench_edge_load.run(cfg), rows)
        _section(bench_ledger.SECTION, lambda: bench_ledger.run(cfg), rows)
        _section(bench_recompute.SECTION, lambda: bench_recompute.run(cfg), rows)
    except BenchmarkError as exc:
        print(f"\nBENCHMARK FAILED (wrong result, figures void): {exc}", file=sys.stderr)
        return 2

    total = time.perf_counter() - start
    marked = [r for r in rows if r.mark]
    below = [r for r in marked if r.mark == "BELOW"]
    print(f"\n{len(marked) - len(below)} of {len(marked)} targets met in {total:.0f} s"
          + ("" if not below else "; BELOW: " + "; ".join(r.name.strip() for r in below)))
    if cfg.quick:
        print("(quick run: sizes are too small for the figures to mean anything)")
    if args.json is not None:
        document = {"mode": "quick" if cfg.quick else "full", "machine": info,
                    "config": asdict(cfg), "seconds": total,
                    "results": [r.as_json() for r in rows], **extra}
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
