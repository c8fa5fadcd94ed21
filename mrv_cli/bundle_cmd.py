"""``mrv bundle``: write sample proof bundles and verify bundles."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from mrv_core import (
    SAMPLE_DOMAIN,
    STEPS,
    BatchFile,
    DeviceKey,
    VerificationError,
    VerifiedBatchFile,
    build_batch,
    bundle_for_readings,
    verify_file,
)
from mrv_core.codec import format_address, format_hex
from mrv_core.errors import ConfigError

from .keys_cmd import load_key
from .options import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_option
from .sample import SAMPLE_METERS, sample_readings

__all__ = ["register"]

MAX_SAMPLE_COUNT = 1_000_000


def register(commands: Any) -> None:
    bundle = commands.add_parser("bundle", help="write sample proof bundles, verify bundles",
                                 description="Proof bundles (trustmrv-proof/1) prove that "
                                             "readings were signed by a device and belong to an "
                                             "anchored batch.")
    sub = bundle.add_subparsers(dest="bundle_command", metavar="ACTION", required=True)

    sample = sub.add_parser(
        "sample", help="sign N simulated readings into one batch and write its bundles (offline)",
        description="Sign COUNT plausible readings of a few simulated meters under the offline "
                    "sample domain (chain id 0), close them into one batch, and write one bundle "
                    "per reading, one multiproof bundle for all of them, and the batch file. "
                    "SAMPLE DATA: not measured, not anchored.")
    add_option(sample, "--count", "MRV_SAMPLE_COUNT", type=int, required=True, metavar="N",
               help=f"number of readings, 1..{MAX_SAMPLE_COUNT:,}")
    add_option(sample, "--out", "MRV_SAMPLE_OUT", type=Path, required=True, metavar="DIR",
               help="directory to create (must be absent or empty)")
    add_option(sample, "--key", "MRV_KEY_FILE", type=Path, metavar="FILE",
               help="device keystore file; without it a throw-away key signs the sample")
    add_option(sample, "--password-file", "MRV_KEY_PASSWORD_FILE", type=Path, metavar="FILE",
               help="password for --key (else MRV_KEY_PASSWORD, else a prompt)")
    add_option(sample, "--seed", "MRV_SAMPLE_SEED", type=int, metavar="INT",
               help="make the simulated values reproducible (salts stay random)")
    sample.set_defaults(handler=_sample)

    verify = sub.add_parser(
        "verify", help="verify proof bundles and batch files offline; exit 1 if any fails",
        description="Verify each bundle: " + "; ".join(f"{k}: {v}" for k, v in STEPS.items())
                    + ". Chain checks join once the contracts are deployed.")
    verify.add_argument("files", nargs="+", type=Path, metavar="FILE", help="bundle files")
    verify.add_argument("--json", action="store_true",
                        help="print one JSON object per bundle instead of text")
    verify.set_defaults(handler=_verify)


def _sample(args: argparse.Namespace) -> int:
    if not 1 <= args.count <= MAX_SAMPLE_COUNT:
        raise ConfigError(f"--count must be within 1..{MAX_SAMPLE_COUNT:,}, got {args.count}")
    out: Path = args.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} exists and is not an empty directory")
    key = load_key(args.key, args.password_file) if args.key else DeviceKey.generate()

    started = time.monotonic()
    report = _progress_reporter("signing", args.count)
    readings = list(sample_readings(key, SAMPLE_DOMAIN, args.count,
                                    end_timestamp=int(time.time()) // 900 * 900,
                                    seed=args.seed, progress=report))
    batch = build_batch(key.address, 0, readings)
    out.mkdir(parents=True, exist_ok=True)
    BatchFile.of(batch, SAMPLE_DOMAIN).write(out / "batch-0.json")
    width = max(5, len(str(args.count - 1)))
    report = _progress_reporter("writing bundles", args.count)
    for i in range(len(readings)):
        bundle_for_readings(batch, SAMPLE_DOMAIN, [i]).write(out / f"reading-{i:0{width}d}.json")
        report(i + 1)
    if len(readings) > 1:
        all_positions = list(range(len(readings)))
        bundle_for_readings(batch, SAMPLE_DOMAIN, all_positions).write(out / "multiproof.json")

    header = batch.header
    print("SAMPLE DATA: simulated readings signed under the offline sample domain (chainId 0); "
          "not measured, not anchored")
    print(f"device     {format_address(key.address)}" + ("" if args.key else " (throw-away key)"))
    print(f"meters     {min(len(SAMPLE_METERS), args.count)}")
    print(f"batch      #{header.batch_seq}: {header.leaf_count} readings, "
          f"root {format_hex(header.root)}")
    print(f"written    {out}/ ({len(readings)} reading bundles"
          + (", multiproof.json" if len(readings) > 1 else "") + ", batch-0.json) "
          f"in {time.monotonic() - started:.1f} s")
    return EXIT_OK


def _progress_reporter(what: str, total: int) -> Any:
    """Progress on stderr, for long runs on a terminal only: every 10 %."""
    if total < 50_000 or not sys.stderr.isatty():
        return lambda done: None
    step = total // 10

    def report(done: int) -> None:
        if done % step == 0 or done == total:
            print(f"  {what}: {done:,}/{total:,}", file=sys.stderr)

    return report


def _verify(args: argparse.Namespace) -> int:
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        print(f"mrv: error: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    failed = 0
    for path in args.files:
        try:
            verified = verify_file(path)
        except VerificationError as exc:
            failed += 1
            _print_result(args.json, path, ok=False, step=exc.step, detail=exc.detail)
            continue
        if isinstance(verified, VerifiedBatchFile):
            header, sample, readings = verified.batch_file.batch, verified.batch_file.sample, None
        else:
            bundle = verified.bundle
            header, sample, readings = bundle.batch, bundle.sample, len(bundle.readings)
        _print_result(args.json, path, ok=True, kind="batch" if readings is None else "bundle",
                      readings=readings, leafCount=header.leaf_count,
                      device=format_address(header.device), batchSeq=header.batch_seq,
                      root=format_hex(header.root), sample=sample, chainChecked=False)
    if not args.json:
        print(f"{len(args.files) - failed} of {len(args.files)} file(s) verified"
              + (f", {failed} FAILED" if failed else "")
              + " (offline: signatures, leaves, proofs and roots; chain not checked)")
    return EXIT_FAILED if failed else EXIT_OK


def _print_result(as_json: bool, path: Path, *, ok: bool, **fields: Any) -> None:
    if as_json:
        print(json.dumps({"file": str(path), "ok": ok, **fields}))
    elif ok:
        note = "  SAMPLE (offline domain)" if fields["sample"] else ""
        what = (f"batch file, all {fields['leafCount']} leaves" if fields["kind"] == "batch"
                else f"{fields['readings']} reading(s)")
        print(f"OK    {path}: {what} of {fields['device']} in batch #{fields['batchSeq']}, "
              f"root {fields['root']}{note}")
    else:
        print(f"FAIL  {path}: step '{fields['step']}' failed: {fields['detail']}")
