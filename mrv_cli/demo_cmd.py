"""``mrv demo``: the main job end to end on the embedded chain, in one process.

Deploys the consortium contracts, gives an enterprise its role, registers a device, signs a day
of simulated readings, anchors their batch from the device's own account, writes the proof
bundles, verifies every one offline and against the chain, and shows that a tampered copy fails.
Everything is sample data on a chain that ends with the command; the files stay.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

from mrv_core import DeviceKey, build_batch
from mrv_core.chain import (
    ChainSettings,
    NodeSigner,
    System,
    Transactor,
    connect,
    deploy_system,
    load_artifacts,
)
from mrv_core.codec import format_address, format_hex
from mrv_core.errors import ConfigError

from .flows import anchor_batch_as_sample_enterprise, print_outcomes, verify_files, write_bundles
from .options import EXIT_FAILED, EXIT_OK, add_option
from .sample import SAMPLE_INTERVAL_S, SAMPLE_METERS, sample_readings

__all__ = ["register"]


def register(commands: Any) -> None:
    demo = commands.add_parser(
        "demo", help="run the main job end to end on the embedded chain",
        description="Deploy the contracts on the embedded chain, register a device, sign and "
                    "anchor a day of simulated readings, write and verify their proof bundles. "
                    "SAMPLE DATA on a chain that ends with the command.")
    add_option(demo, "--out", "MRV_DEMO_OUT", type=Path, default=Path("out/demo"), metavar="DIR",
               help="directory for the bundles (replaced if it holds an earlier demo)")
    add_option(demo, "--count", "MRV_DEMO_COUNT", type=int, default=96 * len(SAMPLE_METERS),
               metavar="N", help="readings to sign (default: one day of four meters every 15 min)")
    demo.set_defaults(handler=_demo)


def _step(text: str) -> None:
    print(f"\n== {text}")


def _demo(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists():
        if not (out / "demo.json").is_file():
            raise ConfigError(f"{out} exists and holds no earlier demo; choose another --out")
        shutil.rmtree(out)
    if not 1 <= args.count <= 100_000:
        raise ConfigError(f"--count must be within 1..100,000, got {args.count}")
    started = time.monotonic()

    _step("1. embedded chain: deploy the consortium contracts")
    chain = connect(None, evm_version=load_artifacts().evm_version(), settings=ChainSettings())
    admin_account, enterprise_account = chain.unlocked_accounts()[:2]
    admin = Transactor(chain, NodeSigner(admin_account))
    deployment = deploy_system(admin)
    system = System(chain, deployment)
    print(f"chainId {deployment.chain_id}, block {deployment.deploy_block}, admin {admin.address}")
    for name, address in deployment.contracts.items():
        print(f"  {name:<20} {format_address(address)}")

    _step("2. roles: the admin makes an enterprise")
    enterprise = Transactor(chain, NodeSigner(enterprise_account))
    system.grant_role(admin, "ENTERPRISE_ROLE", enterprise.address)
    print(f"  ENTERPRISE_ROLE -> {enterprise.address}")

    _step(f"3. a device signs {args.count} readings of {len(SAMPLE_METERS)} simulated meters")
    device = DeviceKey.generate()
    now = int(chain.w3.eth.get_block("latest")["timestamp"])
    readings = list(sample_readings(device, system.domain, args.count,
                                    end_timestamp=now // SAMPLE_INTERVAL_S * SAMPLE_INTERVAL_S))
    batch = build_batch(device.address, 0, readings)
    print(f"  device {format_address(device.address)}; "
          f"batch #0 root {format_hex(batch.header.root)}")

    _step("4. the enterprise registers the device; the device anchors its batch")
    anchor = anchor_batch_as_sample_enterprise(system, enterprise, device, batch)
    receipt = chain.w3.eth.get_transaction_receipt(anchor.transaction_hash)  # type: ignore[arg-type]
    print(f"  anchored in block {anchor.block_number}, tx {format_hex(anchor.transaction_hash)}, "
          f"{receipt['gasUsed']:,} gas")

    _step(f"5. proof bundles written to {out}/")
    written = write_bundles(out / "bundles", batch, system.domain, anchor)
    (out / "demo.json").write_text(json.dumps({
        "note": "SAMPLE DATA from `mrv demo`, anchored on an embedded chain that no longer "
                "exists: these bundles verify offline only",
        "deployment": deployment.to_json()}, indent=2) + "\n", encoding="utf-8")
    print(f"  {written} reading bundles, multiproof.json, batch-0.json")

    _step("6. verify every file offline and against the chain")
    paths = sorted((out / "bundles").iterdir())
    failed = print_outcomes(verify_files(paths, system), as_json=False, chain_checked=True,
                            max_ok_lines=3)

    _step("7. a tampered copy of a bundle (its reading's value + 1) must fail")
    tampered = _tamper(out / "bundles" / "reading-00000.json", out / "tampered-reading.json")
    caught = print_outcomes(verify_files([tampered], system), as_json=False, chain_checked=True)

    print(f"\ndone in {time.monotonic() - started:.1f} s; offline re-check any time with "
          f"`mrv bundle verify {out}/bundles/*.json`")
    return EXIT_OK if failed == 0 and caught == 1 else EXIT_FAILED


def _tamper(source: Path, target: Path) -> Path:
    bundle = json.loads(source.read_text(encoding="utf-8"))
    reading = bundle["readings"][0]
    reading["value"] = str(int(reading["value"]) + 1)
    target.write_text(json.dumps(bundle, indent=2) + "\n", encoding="utf-8")
    return target
