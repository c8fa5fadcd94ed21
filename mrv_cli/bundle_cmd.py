"""``mrv bundle``: write sample proof bundles and verify bundles."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from mrv_core import SAMPLE_DOMAIN, STEPS, DeviceKey, build_batch
from mrv_core.chain import CHAIN_STEPS
from mrv_core.codec import format_address, format_hex
from mrv_core.errors import ConfigError

from .chain_options import add_chain_options, add_sender_options, open_chain, open_system, sender
from .flows import anchor_batch_as_sample_enterprise, print_outcomes, verify_files, write_bundles
from .keys_cmd import add_password_file_option, load_key
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
        description="Sign COUNT plausible readings of a few simulated meters, close them into "
                    "one batch, and write one bundle per reading, one multiproof bundle for all "
                    "of them, and the batch file. Offline they are signed under the sample "
                    "domain (chain id 0); with --rpc and --deployment the sample device is "
                    "registered and the batch anchored, so the bundles verify against that "
                    "chain. SAMPLE DATA: not measured.")
    add_option(sample, "--count", "MRV_SAMPLE_COUNT", type=int, required=True, metavar="N",
               help=f"number of readings, 1..{MAX_SAMPLE_COUNT:,}")
    add_option(sample, "--out", "MRV_SAMPLE_OUT", type=Path, required=True, metavar="DIR",
               help="directory to create (must be absent or empty)")
    add_option(sample, "--key", "MRV_KEY_FILE", type=Path, metavar="FILE",
               help="device keystore file; without it a throw-away key signs the sample")
    add_password_file_option(sample)
    add_option(sample, "--seed", "MRV_SAMPLE_SEED", type=int, metavar="INT",
               help="make the simulated values reproducible (salts stay random)")
    add_chain_options(sample, deployment=True,
                      without_rpc="without it the sample stays offline, signed under the "
                                  "sample domain")
    add_sender_options(sample, "--enterprise-key", "MRV_ENTERPRISE_KEY",
                       "enterprise that registers the sample device (the consortium admin "
                       "makes itself one)", password_flag="--enterprise-password-file",
                       password_env="MRV_ENTERPRISE_PASSWORD_FILE")
    sample.set_defaults(handler=_sample)

    verify = sub.add_parser(
        "verify", help="verify proof bundles and batch files offline; exit 1 if any fails",
        description="Verify each bundle or batch file offline ("
                    + "; ".join(f"{k}: {v}" for k, v in STEPS.items())
                    + "), then, with --rpc and --deployment, against the chain ("
                    + "; ".join(f"{k}: {v}" for k, v in CHAIN_STEPS.items()) + ").")
    verify.add_argument("files", nargs="+", type=Path, metavar="FILE", help="bundle files")
    verify.add_argument("--json", action="store_true",
                        help="print one JSON object per bundle instead of text")
    add_chain_options(verify, deployment=True,
                      without_rpc="without it only the offline steps run")
    verify.set_defaults(handler=_verify)


def _sample(args: argparse.Namespace) -> int:
    if not 1 <= args.count <= MAX_SAMPLE_COUNT:
        raise ConfigError(f"--count must be within 1..{MAX_SAMPLE_COUNT:,}, got {args.count}")
    out: Path = args.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} exists and is not an empty directory")
    key = load_key(args.key, args.password_file) if args.key else DeviceKey.generate()
    started = time.monotonic()
    system = None
    if args.rpc:
        chain = open_chain(args)
        system = open_system(chain, args.deployment)
        enterprise = sender(chain, args.enterprise_key, args.enterprise_password_file,
                            args.nonce_file)
        domain, batch_seq = system.domain, system.next_batch_seq(key.address)
        now = int(chain.w3.eth.get_block("latest")["timestamp"])
    else:
        domain, batch_seq, now = SAMPLE_DOMAIN, 0, int(time.time())

    report = _progress_reporter("signing", args.count)
    readings = list(sample_readings(key, domain, args.count, end_timestamp=now // 900 * 900,
                                    seed=args.seed, progress=report))
    batch = build_batch(key.address, batch_seq, readings)
    anchor = (None if system is None
              else anchor_batch_as_sample_enterprise(system, enterprise, key, batch))
    written = write_bundles(out, batch, domain, anchor)

    header = batch.header
    if anchor is None:
        print("SAMPLE DATA: simulated readings signed under the offline sample domain "
              "(chainId 0); not measured, not anchored")
    else:
        print(f"SAMPLE DATA: simulated readings, anchored on chainId {anchor.chain_id} in block "
              f"{anchor.block_number} (tx {format_hex(anchor.transaction_hash)})")
    print(f"device     {format_address(key.address)}" + ("" if args.key else " (throw-away key)"))
    print(f"meters     {min(len(SAMPLE_METERS), args.count)}")
    print(f"batch      #{header.batch_seq}: {header.leaf_count} readings, "
          f"root {format_hex(header.root)}")
    print(f"written    {out}/ ({written} reading bundles"
          + (", multiproof.json" if written > 1 else "") + f", batch-{header.batch_seq}.json) "
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
    system = open_system(open_chain(args), args.deployment) if args.rpc else None
    outcomes = verify_files(args.files, system)
    failed = print_outcomes(outcomes, as_json=args.json, chain_checked=system is not None)
    return EXIT_FAILED if failed else EXIT_OK
