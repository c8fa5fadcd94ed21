"""``mrv demo``: the main job end to end on the embedded chain, in one process.

1. deploy the consortium contracts; 2. roles for an enterprise and an association; 3. the
association publishes every shipped methodology version; 4. a device signs a month of simulated
readings of four meters; 5. it anchors one batch per day from its own account; 6. the proof
bundles are written and verified offline and against the chain; 7. the month's emissions of the
sample site are computed by the Python calculator and by the methodology contract in force, and
must agree; 8. a tampered bundle must fail. Everything is sample data on a chain that ends with
the command; the files stay and verify offline.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from accounting_rules import activity, compute, load_methodology, methodologies
from accounting_rules.publishing import (
    assign_id,
    audit_registered,
    compute_on_chain,
    publish,
    resolve,
)
from mrv_core import DeviceKey, SignedReading
from mrv_core.chain import (
    ChainSettings,
    NodeSigner,
    System,
    Transactor,
    connect,
    deploy_system,
    load_artifacts,
)
from mrv_core.codec import format_address
from mrv_core.errors import ConfigError

from .dates import BEIJING, month_of, parse_instant, parse_month
from .flows import (
    SAMPLE_FLAG_NOTE,
    prepare_sample_device,
    print_outcomes,
    verify_files,
    write_bundles,
)
from .options import EXIT_FAILED, EXIT_OK, add_option
from .sample import SAMPLE_METERS, sample_readings

__all__ = ["register"]

#: Which meter's counter feeds which activity source of the enterprise methodology.
ACTIVITY_OF_QUANTITY = {"energy.active.import:Wh": "electricity.grid",
                        "volume.gas:dm3": "fuel.natural_gas",
                        "heat:kJ": "heat.purchased"}
ENTERPRISE_METHODOLOGY = "cn.machinery"
FIRST_VERSIONS_FROM = parse_instant("2000-01-01")
DEFAULT_OUT = Path("out/demo")  # the Makefile's OUT


def register(commands: Any) -> None:
    demo = commands.add_parser(
        "demo", help="run the main job end to end on the embedded chain",
        description="Deploy the contracts on the embedded chain, publish the methodologies, "
                    "sign and anchor a month of simulated readings (one batch a day), write and "
                    "verify their proof bundles, and compute the month's emissions both ways. "
                    "SAMPLE DATA on a chain that ends with the command.")
    add_option(demo, "--out", "MRV_DEMO_OUT", type=Path, default=DEFAULT_OUT, metavar="DIR",
               help="directory for the bundles (replaced if it holds an earlier demo)")
    add_option(demo, "--month", "MRV_DEMO_MONTH", metavar="YYYY-MM",
               help="the month to simulate (default: the last complete month, Beijing time)")
    add_option(demo, "--interval", "MRV_DEMO_INTERVAL", type=int, default=60, metavar="MINUTES",
               help="minutes between two readings of a meter (default 60; 15 to 1440)")
    demo.set_defaults(handler=_demo)


def _step(text: str) -> None:
    print(f"\n== {text}")


def _demo(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists():
        if not out.is_dir() or not (out / "demo.json").is_file():
            raise ConfigError(f"{out} exists and holds no earlier demo; choose another --out")
        shutil.rmtree(out)
    if not 15 <= args.interval <= 1440 or 1440 % args.interval:
        raise ConfigError("--interval must divide a day: 15, 20, 30, 60, ... 1440 minutes")
    # Every argument is checked before any work: the embedded chain starts at the wall clock.
    month_start, month_end = _month(args.month, int(time.time()))
    started = time.monotonic()

    chain = connect(None, evm_version=load_artifacts().evm_version(), settings=ChainSettings())
    now = chain.latest_timestamp()

    _step("1. embedded chain: deploy the consortium contracts")
    admin_account, enterprise_account, association_account = chain.unlocked_accounts()[:3]
    admin = Transactor(chain, NodeSigner(admin_account))
    deployment = deploy_system(admin)
    system = System(chain, deployment)
    print(f"  chainId {deployment.chain_id}, admin {admin.address}")
    for name, address in deployment.contracts.items():
        print(f"  {name:<20} {format_address(address)}")

    _step("2. roles: the admin makes an enterprise and an industry association")
    enterprise = Transactor(chain, NodeSigner(enterprise_account))
    association = Transactor(chain, NodeSigner(association_account))
    system.grant_role(admin, "ENTERPRISE_ROLE", enterprise.address)
    system.grant_role(admin, "ASSOCIATION_ROLE", association.address)
    print(f"  ENTERPRISE_ROLE -> {enterprise.address}\n  ASSOCIATION_ROLE -> {association.address}")
    ids = list(dict.fromkeys(i for i, _ in methodologies()))
    for methodology_id in ids:
        assign_id(system, admin, methodology_id, association.address)
    print(f"  the admin assigns the {len(ids)} methodology ids to the association")

    _step("3. the association publishes every methodology version; a regulator audits them")
    _publish_all(system, association, now)
    audited = _audit_all(system)

    label = datetime.fromtimestamp(month_start, BEIJING).strftime("%Y-%m")
    interval = args.interval * 60
    _step(f"4. a device signs {label}: 4 meters, one reading each every {args.interval} min")
    device = DeviceKey.generate()
    rounds = (month_end - month_start) // interval
    readings = list(sample_readings(device, system.domain, rounds * len(SAMPLE_METERS),
                                    end_timestamp=month_end - interval, interval_s=interval))
    print(f"  device {format_address(device.address)}: {len(readings):,} signed readings")

    _step("5. the enterprise registers the device; the device anchors one batch a day")
    device_tx = prepare_sample_device(system, enterprise, device)
    per_day = len(SAMPLE_METERS) * 86_400 // interval
    days = [readings[i:i + per_day] for i in range(0, len(readings), per_day)]
    anchored = []
    for batch_seq, day in enumerate(days):
        batch = device.close_batch(batch_seq, day, system.domain)
        anchored.append((batch, system.anchor(device_tx, batch.header)))
    gas = [int(chain.w3.eth.get_transaction_receipt(anchor.transaction_hash)["gasUsed"])  # type: ignore[arg-type]
           for _, anchor in anchored]
    print(f"  {len(anchored)} batches anchored (batchSeq 0..{len(anchored) - 1}), "
          f"{_gas_range(gas)} gas per anchor")

    _step(f"6. proof bundles in {out}/bundles/, verified offline and against the chain")
    chain_checked = []
    for batch, anchor in anchored:
        folder = out / "bundles" / f"day-{batch.header.batch_seq + 1:02d}"
        write_bundles(folder, batch, system.domain, anchor)
        chain_checked += [folder / f"batch-{batch.header.batch_seq}.json",
                          folder / "multiproof.json"]
    everything = sorted((out / "bundles").glob("day-*/*.json"))
    print(f"  SAMPLE DATA signed for this chain: {SAMPLE_FLAG_NOTE}")
    print(f"  offline, all {len(everything):,} files:")
    failed = print_outcomes(verify_files(everything, None), as_json=False,
                            chain_checked=False, max_ok_lines=0)
    print("  on chain, every batch file and every day's multiproof (each covers all its "
          "readings):")
    failed += print_outcomes(verify_files(chain_checked, system), as_json=False,
                             chain_checked=True, max_ok_lines=2)

    _step(f"7. {label} emissions of the sample site, computed twice")
    agree = _account(system, readings, month_start, month_end)

    _step("8. a tampered copy of a bundle (its reading's value + 1) must fail")
    tampered = _tamper(out / "bundles" / "day-01" / "reading-00000.json",
                       out / "tampered-reading.json")
    caught = print_outcomes(verify_files([tampered], system), as_json=False, chain_checked=True)

    (out / "demo.json").write_text(json.dumps({
        "note": "SAMPLE DATA from `mrv demo`, anchored on an embedded chain that no longer "
                "exists: these bundles verify offline only. They say \"sample\": false because "
                "they are signed for that chain's domain; " + SAMPLE_FLAG_NOTE,
        "month": label, "deployment": deployment.to_json()}, indent=2) + "\n", encoding="utf-8")
    print(f"\ndone in {time.monotonic() - started:.1f} s; re-check offline any time: "
          f"`{mrv_command()} bundle verify {out}/bundles/day-*/*.json` (or `make demo-verify"
          + ("`)" if out == DEFAULT_OUT else f" OUT={out}`)"))
    return EXIT_OK if failed == 0 and caught == 1 and agree and audited else EXIT_FAILED


def mrv_command() -> str:
    """How to call this ``mrv`` from a shell here: ``mrv`` when that is the one on PATH, else the
    script beside this interpreter (``.venv/bin/mrv`` after ``make setup``), relative to the
    working directory when it lies below it."""
    script = Path(sys.executable).parent / "mrv"
    if not script.is_file():
        return "mrv"
    on_path = shutil.which("mrv")
    if on_path is not None and Path(on_path).resolve() == script.resolve():
        return "mrv"
    if script.is_relative_to(Path.cwd()):
        return str(script.relative_to(Path.cwd()))
    return str(script)


def _gas_range(gas: list[int]) -> str:
    """``"45,360"`` when every anchor cost the same, else ``"45,348-62,460"`` (min-max)."""
    low, high = min(gas), max(gas)
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def _month(text: str | None, now: int) -> tuple[int, int]:
    """The month to simulate: complete at ``now``, and one the sample methodology has factors
    for (see :func:`_first_month`). Raises :class:`ConfigError` naming the range."""
    if text is None:
        current = datetime.fromtimestamp(now, BEIJING)
        year, month = (current.year, current.month - 1) if current.month > 1 \
            else (current.year - 1, 12)
        start, end = month_of(year, month)
    else:
        try:
            start, end = parse_month(text)
        except ConfigError as exc:
            raise ConfigError(f"--month: {exc}") from None
    first = _first_month()
    if start < first:
        raise ConfigError(f"--month {text}: the demo's methodology ({ENTERPRISE_METHODOLOGY} v1) "
                          f"has factors for every meter from "
                          f"{datetime.fromtimestamp(first, BEIJING):%Y-%m} on; choose a month "
                          "from then to the last complete one")
    if end > now:
        raise ConfigError(f"--month {text} has not ended yet: choose a complete month")
    return start, end


def _first_month() -> int:
    """Start of the first month in which every activity of the demo has a factor row in
    the first version of its methodology, and that version is in force."""
    m = load_methodology(ENTERPRISE_METHODOLOGY, 1)
    firsts = [min(row.valid_from for row in m.factors if row.source == source)
              for source in ACTIVITY_OF_QUANTITY.values()]
    return max(FIRST_VERSIONS_FROM, *firsts)


def _publish_all(system: System, association: Transactor, now: int) -> None:
    """First versions in force from 2000 (a first version may take any time); version N from
    N - 1 days after now (the registry wants each later than the one before), so the sample
    month still resolves to the first version."""
    for methodology_id, version in methodologies():
        m = load_methodology(methodology_id, version)
        effective = FIRST_VERSIONS_FROM if version == 1 else now + 86_400 * (version - 1)
        published = publish(system, association, m, effective)
        when = datetime.fromtimestamp(effective, BEIJING).date().isoformat()
        print(f"  {m.id:<26} v{m.version}  from {when}  {published.address}  "
              f"deploy {published.deploy_gas:,} gas in {len(published.load_gas)} tx")


def _audit_all(system: System) -> bool:
    """Every registered version against its data file (what `mrv accounting audit` does)."""
    outcomes = audit_registered(system, dict.fromkeys(i for i, _ in methodologies()))
    for version, problems in outcomes:
        if problems != []:
            print(f"  DIFFERS {version.methodology_id} v{version.version}: "
                  + "; ".join(problems or ["no data file for this version"]))
    equal = sum(problems == [] for _, problems in outcomes)
    print(f"  audit: {equal} of {len(outcomes)} published versions hold exactly their data "
          "files (sources, factor rows, citations, spec hash)")
    return equal == len(outcomes)


def _account(system: System, readings: list[SignedReading], start: int, end: int) -> bool:
    """The month's activity from the cumulative registers (last minus first reading of each
    meter), then cn.machinery in Python and on chain."""
    by_quantity: dict[str, list[int]] = {}
    for signed in readings:
        by_quantity.setdefault(signed.reading.quantity, []).append(signed.reading.value)
    resolved = resolve(system, ENTERPRISE_METHODOLOGY, start)
    m = load_methodology(ENTERPRISE_METHODOLOGY, resolved.version)
    lines = [activity(m, source, values[-1] - values[0])
             for quantity, source in ACTIVITY_OF_QUANTITY.items()
             if (values := by_quantity.get(quantity))]
    python = compute(m, start, end, lines)
    contract = compute_on_chain(system, resolved.address, start, end, lines)
    print(f"  methodology {m.id} v{m.version} (in force at the month's start), "
          f"contract {resolved.address}")
    print(f"  {'activity':<20} {'amount':>18} {'scope':>5} {'Python (g CO2e)':>18} "
          f"{'contract (g CO2e)':>18}")
    for line, ours, theirs in zip(lines, python.emissions, contract.emissions, strict=True):
        unit = m.source(str(line.source_code)).unit
        print(f"  {line.source_code:<20} {line.amount:>14,} {unit:<3} {ours.scope:>5} "
              f"{ours.grams:>18,} {theirs.grams:>18,}")
    for name in ("scope1", "scope2", "total"):
        print(f"  {name:<45} {getattr(python, name):>18,} {getattr(contract, name):>18,}")
    agree = python == contract
    print(f"  {'AGREE to the gram' if agree else 'DIFFER'}: "
          f"{python.total / 1e6:,.3f} t CO2e for the month")
    return agree


def _tamper(source: Path, target: Path) -> Path:
    bundle = json.loads(source.read_text(encoding="utf-8"))
    reading = bundle["readings"][0]
    reading["value"] = str(int(reading["value"]) + 1)
    target.write_text(json.dumps(bundle, indent=2) + "\n", encoding="utf-8")
    return target
