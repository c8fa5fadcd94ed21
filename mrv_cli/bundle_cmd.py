"""``mrv bundle``: write sample proof bundles, verify bundles, print their EIP-712 documents."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from accounting_rules.reports.verify import STEPS as REPORT_STEPS
from accounting_rules.reports.verify_chain import CHAIN_STEPS as REPORT_CHAIN_STEPS
from mrv_core import (
    SAMPLE_DOMAIN,
    STEPS,
    BatchFile,
    DecodeError,
    DeviceKey,
    ProofBundle,
    batch_digest,
    batch_typed_data,
    reading_digest,
    typed_data,
)
from mrv_core.bundle import read_document
from mrv_core.chain import CHAIN_STEPS
from mrv_core.codec import format_address, format_hex
from mrv_core.errors import ConfigError, FormatError
from mrv_core.files import file_kind
from mrv_core.records import record_digest, record_typed_data

from .chain_options import add_chain_options, add_sender_options, open_chain, open_system, sender
from .flows import (
    SAMPLE_FLAG_NOTE,
    anchor_batch_as_sample_enterprise,
    print_outcomes,
    verify_files,
    write_bundles,
)
from .keys_cmd import add_password_file_option, load_key
from .options import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_option
from .sample import SAMPLE_METERS, sample_readings

__all__ = ["register"]

MAX_SAMPLE_COUNT = 1_000_000
#: Entries (files and directories) `verify DIR` looks through before refusing the directory.
MAX_DIRECTORY_ENTRIES = 1_100_000  # a full-size sample (1,000,000 bundles) fits


def register(commands: Any) -> None:
    bundle = commands.add_parser(
        "bundle", help="write sample proof bundles, verify bundles, print their typed data",
        description="Proof bundles (trustmrv-proof/2) prove that readings were signed by a "
                    "device and belong to a batch whose header the device signed and anchored; "
                    "batch files (trustmrv-batch/3, or /2 without records) list every leaf of "
                    "a batch and, in version 3, the device's signed records (gaps, meter "
                    "changes, emission summaries) in full. Version 1 documents still verify, "
                    "reported as unsigned-header.")
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
        "verify", help="verify proof bundles, batch files and report bundles; exit 1 if any "
                       "fails",
        description="Verify each bundle or batch file offline ("
                    + "; ".join(f"{k}: {v}" for k, v in STEPS.items())
                    + "), then, with --rpc and --deployment, against the chain ("
                    + "; ".join(f"{k}: {v}" for k, v in CHAIN_STEPS.items()) + "). A report "
                    "bundle (trustmrv-report-bundle/1, told apart by its format) goes through "
                    "its own steps offline ("
                    + "; ".join(f"{k}: {v}" for k, v in REPORT_STEPS.items())
                    + ") and on chain ("
                    + "; ".join(f"{k}: {v}" for k, v in REPORT_CHAIN_STEPS.items()) + ").")
    verify.add_argument("files", nargs="+", type=Path, metavar="PATH",
                        help="bundle, batch or report bundle files, or directories (every "
                             "*.json below them, recursively)")
    verify.add_argument("--json", action="store_true",
                        help="print one JSON object per file instead of text (its \"sample\" "
                             "is true only for the offline SAMPLE domain, chainId 0; "
                             "\"headerSigned\" is false for a version 1 document)")
    add_chain_options(verify, deployment=True,
                      without_rpc="without it only the offline steps run")
    verify.set_defaults(handler=_verify)

    typed = sub.add_parser(
        "typed-data", help="print a document's EIP-712 typed data (header and each reading)",
        description="Print, as one JSON object, the EIP-712 documents (eth_signTypedData_v4 "
                    "shape, integers as decimal strings) of FILE's batch header and of each of "
                    "its readings (and, for a trustmrv-batch/3 file, of each signed record, under "
                    "'records'), with the digest and the signature the file carries, so any "
                    "wallet or EIP-712 library can re-hash them or sign them again.")
    typed.add_argument("file", type=Path, metavar="FILE", help="a bundle or a batch file")
    typed.set_defaults(handler=_typed_data)


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
        now = chain.latest_timestamp()
    else:
        domain, batch_seq, now = SAMPLE_DOMAIN, 0, int(time.time())

    report = _progress_reporter("signing", args.count)
    readings = list(sample_readings(key, domain, args.count, end_timestamp=now // 900 * 900,
                                    seed=args.seed, progress=report))
    batch = key.close_batch(batch_seq, readings, domain)
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
        print(f"note       {SAMPLE_FLAG_NOTE}")
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
    missing = [str(f) for f in args.files if not f.exists()]
    if missing:
        print(f"mrv: error: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    special = [f"{f} ({file_kind(f.stat().st_mode)})" for f in args.files
               if not f.is_file() and not f.is_dir()]
    if special:
        print(f"mrv: error: not a regular file or directory: {', '.join(special)}",
              file=sys.stderr)
        return EXIT_USAGE
    files: list[Path] = []
    for given in args.files:
        if given.is_dir():
            found = _json_files_below(given)
            if not found:
                print(f"mrv: error: directory {given} holds no *.json file (searched "
                      "recursively)", file=sys.stderr)
                return EXIT_USAGE
            files += found
        else:
            files.append(given)
    system = open_system(open_chain(args), args.deployment) if args.rpc else None
    outcomes = verify_files(files, system)
    failed = print_outcomes(outcomes, as_json=args.json, chain_checked=system is not None)
    return EXIT_FAILED if failed else EXIT_OK


def _json_files_below(folder: Path) -> list[Path]:
    """Every ``*.json`` entry below ``folder`` (symbolic links to directories not followed),
    sorted, directories excepted: a FIFO, device or dangling link so named is listed too, and
    fails verification as "not a regular file" instead of being skipped silently. Refuses a
    tree of more than :data:`MAX_DIRECTORY_ENTRIES` entries (``/`` by mistake) instead of
    walking it for minutes."""
    found: list[Path] = []
    seen = 0
    for root, dirs, names in os.walk(folder):
        seen += len(dirs) + len(names)
        if seen > MAX_DIRECTORY_ENTRIES:
            raise ConfigError(f"{folder} holds more than {MAX_DIRECTORY_ENTRIES:,} entries; "
                              "name the directory of the documents")
        found += [Path(root, name) for name in names if name.endswith(".json")]
    return sorted(p for p in found if not p.is_dir())


def _typed_data(args: argparse.Namespace) -> int:
    try:
        document = read_document(args.file)
    except FormatError as exc:
        if exc.where == str(args.file):  # the file itself: missing, special, too large
            raise ConfigError(f"{args.file}: {exc.problem}") from None
        raise ConfigError(f"{args.file}: not a TrustMRV document: {exc}") from None
    except DecodeError as exc:
        raise ConfigError(f"{args.file}: not a TrustMRV document: {exc}") from None
    domain, header = document.domain, document.batch
    out: dict[str, Any] = {
        "file": str(args.file),
        "format": document.format,
        "batch": {
            "digest": format_hex(batch_digest(header, domain)),
            "signature": (None if document.header_signature is None
                          else format_hex(document.header_signature)),
            "typedData": batch_typed_data(header, domain),
        },
        "readings": [
            {"meterPath": signed.meter_path,
             "digest": format_hex(reading_digest(signed.reading, domain)),
             "signature": format_hex(signed.signature),
             "typedData": typed_data(signed.reading, domain)}
            for signed in (document.readings if isinstance(document, ProofBundle) else ())
        ],
    }
    if isinstance(document, BatchFile) and document.records:
        out["records"] = [
            {"leafIndex": index, "type": type(item.record).__name__, "path": item.path,
             "digest": format_hex(record_digest(item.record, domain)),
             "signature": format_hex(item.signature),
             "typedData": record_typed_data(item.record, domain)}
            for index, item in document.records
        ]
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return EXIT_OK
