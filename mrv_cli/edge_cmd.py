"""``mrv edge``: set up, register, run and inspect an edge node.

``init`` makes the device key, its TLS key and certificate signing request, and a commented
configuration file that polls the meter simulator on 127.0.0.1; ``register`` has the enterprise
register the device on chain with the device key's consent; ``run`` runs the node until
interrupted (``--clock FILE``: on simulated time); ``status`` reads the node's store;
``meter-change`` signs an operator's meter change. docs/edge.md is the operator's guide.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import math
import os
import signal
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from accounting_rules.reports.fields import check_entered_text
from edge_node.acquisition import SimulatedClock
from edge_node.acquisition.settings import MAX_INTERVAL_S, MIN_INTERVAL_S
from edge_node.config import MAX_BATCH_AGE_S, NodeConfig, ObservabilityConfig, load_config
from edge_node.config_file import validate
from edge_node.config_template import TemplateMeter, render_config
from edge_node.node import EdgeNode, NodeTimings
from edge_node.observability import ObservabilityServer
from edge_node.signing.records import commit_meter_change
from edge_node.status import node_status, render_status, store_domain
from edge_node.store import Store
from edge_node.uplink import UplinkSettings
from mrv_core.chain import ChainClock, ChainSettings, System, connect, load_artifacts
from mrv_core.codec import format_address
from mrv_core.errors import ChainUnavailable, ConfigError
from mrv_core.hashing import keccak256
from mrv_core.json_logs import configure_logging
from mrv_core.keys import LIGHT_SCRYPT_N, STANDARD_SCRYPT_N, DeviceKey, read_password
from mrv_core.pki import make_device_tls_key_and_csr
from mrv_core.reading import site_id
from mrv_core.records import NOTE_MAX_BYTES, MeterChange
from mrv_core.simulated_time import read_clock_file

from .chain_options import open_system, sender
from .dates import show_instant
from .keys_cmd import add_password_file_option, load_key
from .options import EXIT_OK, add_option, decimal_seconds

__all__ = ["register"]

_CONFIG_FILE = "edge.toml"
#: On simulated time a real second is hours of readings: the node closes batches, anchors and
#: settles summaries more often in real time (every 0.25, 0.5 and 1 s instead of 1, 2 and 60 s),
#: so anchors follow their batches closely in simulated time (docs/edge.md, "Simulated time").
SIMULATED_TIME_TIMINGS = NodeTimings(batch_every_s=0.25, anchor_every_s=0.5,
                                     summary_every_s=1.0)
_KEY_FILE = "device-key.json"


def register(commands: Any) -> None:
    edge = commands.add_parser("edge", help="set up, register, run and inspect an edge node",
                               description="The edge node reads meters over Modbus, signs every "
                                           "reading, stores it, and anchors batches on chain.")
    sub = edge.add_subparsers(dest="edge_command", metavar="ACTION", required=True)

    init = sub.add_parser("init", help="make a device key, its TLS key and CSR, and a "
                                       "commented configuration file")
    init.add_argument("directory", type=Path, metavar="DIR",
                      help="directory to create the files in (created if absent; existing "
                           "files are never overwritten)")
    add_option(init, "--site", "MRV_EDGE_SITE", default="example-co/plant-1", metavar="PATH",
               help="the site this node serves, enterprise/site (default example-co/plant-1)")
    add_option(init, "--rpc", "MRV_RPC_URL", default="http://127.0.0.1:8545", metavar="URL",
               help="JSON-RPC endpoint to write into the file (default http://127.0.0.1:8545)")
    add_option(init, "--deployment", "MRV_DEPLOYMENT", default="deployment.json",
               metavar="FILE", help="the deployment file (`mrv chain deploy --out`), as a path "
                                    "from here; the configuration names it relative to DIR "
                                    "(default ./deployment.json)")
    add_option(init, "--modbus-port", "MRV_SIM_PORT", type=int, default=5020, metavar="N",
               help="port of the meter simulator on 127.0.0.1 (default 5020, as `mrv simulate "
                    "meters`)")
    add_option(init, "--interval", "MRV_EDGE_INTERVAL", type=decimal_seconds, default=60.0,
               metavar="SECONDS", help="seconds between two polls of a meter, 0.1..86400 "
                                       "(default 60; 5 for a quick look)")
    add_option(init, "--batch-max-age", "MRV_EDGE_BATCH_MAX_AGE", type=decimal_seconds,
               default=3600.0,
               metavar="SECONDS", help="a batch closes and is anchored when its first leaf is "
                                       "this old (default 3600; 60 for a quick look)")
    add_option(init, "--listen", "MRV_EDGE_LISTEN", default="127.0.0.1:9108",
               metavar="HOST:PORT", help="loopback address of /metrics and /healthz (default "
                                         "127.0.0.1:9108; port 0 picks a free one)")
    add_option(init, "--uplink", "MRV_EDGE_UPLINK", metavar="URL",
               help="the ledger API to push to: writes an active [uplink] table (https uses "
                    "device-tls.crt from mrv pki sign; plain http only to 127.0.0.1 or [::1]); "
                    "default: none, the table is left commented out")
    add_password_file_option(init)
    init.add_argument("--light-kdf", action="store_true",
                      help="weak, fast key encryption: demos and tests only")
    init.set_defaults(handler=_init)

    reg = sub.add_parser("register", help="register the device on chain for the enterprise, "
                                          "with the device key's consent")
    _config_option(reg)
    add_password_file_option(reg)
    add_option(reg, "--enterprise-key", "MRV_ENTERPRISE_KEY", type=Path, metavar="FILE",
               help="keystore of the enterprise account (default: the node's first unlocked "
                    "account, as on anvil)")
    add_password_file_option(reg, "--enterprise-password-file",
                             "MRV_ENTERPRISE_PASSWORD_FILE")
    add_option(reg, "--fund", "MRV_EDGE_FUND_WEI", type=int, default=0, metavar="WEI",
               help="also send the device account this much ether for gas (default 0: a "
                    "zero-gas-price chain, or anchoring through a relayer)")
    reg.set_defaults(handler=_register)

    run = sub.add_parser("run", help="run the node until interrupted")
    _config_option(run)
    add_password_file_option(run)
    _clock_option(run)
    run.set_defaults(handler=_run)

    status = sub.add_parser("status", help="meters, last readings, gaps, batches, outbox, "
                                           "uplink backlog and disk use, from the store")
    _config_option(status)
    status.add_argument("--json", action="store_true", help="print JSON")
    add_option(status, "--clock", "MRV_CLOCK_FILE", type=Path, metavar="FILE",
               help="measure ages on the simulated time of this clock file, as the node given "
                    "the same --clock runs (`mrv simulate clock`)")
    status.set_defaults(handler=_status)

    change = sub.add_parser("meter-change", help="sign an operator's meter change (a replaced "
                                                 "or reset meter) so its counter jump is "
                                                 "explained, never guessed")
    _config_option(change)
    add_password_file_option(change)
    change.add_argument("--meter", required=True, metavar="PATH", help="the meter's path")
    change.add_argument("--quantity", default="energy.active.import:Wh", metavar="CODE",
                        help="the cumulative quantity (default energy.active.import:Wh)")
    change.add_argument("--new-initial", type=int, required=True, metavar="N",
                        help="the new counter's first value, in the quantity's unit")
    change.add_argument("--old-final", type=int, metavar="N",
                        help="the old counter's last value (default: the last one signed)")
    change.add_argument("--timestamp", type=int, metavar="UNIX",
                        help="when the change happened, Unix seconds, not before the meter's "
                             "last signed reading nor more than 300 s after now (default: now)")
    change.add_argument("--note", required=True, metavar="TEXT",
                        help="what happened (its keccak256 is signed; the text travels beside)")
    _clock_option(change)
    change.set_defaults(handler=_meter_change)


def _config_option(parser: argparse.ArgumentParser) -> None:
    add_option(parser, "--config", "MRV_EDGE_CONFIG", type=Path, required=True, metavar="FILE",
               help="the node's configuration file (mrv edge init writes one)")


def _clock_option(parser: argparse.ArgumentParser) -> None:
    add_option(parser, "--clock", "MRV_CLOCK_FILE", type=Path, metavar="FILE",
               help="run on the simulated time of this clock file (`mrv simulate clock`; "
                    "demos and commissioning, never production): intervals and ages are "
                    "simulated seconds and the chain's clock (a development chain on loopback) "
                    "follows; docs/edge.md, \"Simulated time\"")


def _node_clock(args: argparse.Namespace) -> SimulatedClock | None:
    return SimulatedClock(read_clock_file(args.clock)) if args.clock is not None else None


# -- init -----------------------------------------------------------------------------------------


def _init(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    config_path = directory / _CONFIG_FILE
    key_path = directory / _KEY_FILE
    for path in (config_path, key_path):
        if path.exists():
            raise ConfigError(f"{path} exists; refusing to overwrite it")
    if not 1 <= args.modbus_port <= 65535:
        raise ConfigError(f"--modbus-port must be within 1..65535, got {args.modbus_port}")
    if not args.rpc.startswith(("http://", "https://")) or args.rpc[-3:] == "://":
        raise ConfigError(f"--rpc must be an http(s):// JSON-RPC URL, got {args.rpc!r}")
    _check_init_timing(args.interval, args.batch_max_age)
    _check_init_endpoints(args.listen, args.uplink, directory)
    meter = TemplateMeter(f"{args.site}/utilities/incomer/M1", "generic", 1, "electricity.grid")
    # The operator names the deployment file from where they stand; the configuration holds
    # it relative to its own directory, where relative paths in it are resolved.
    deployment = os.path.relpath(os.path.abspath(args.deployment), os.path.abspath(directory))
    text = render_config(site=args.site, key_file=_KEY_FILE, store="edge.sqlite", rpc=args.rpc,
                         deployment=deployment, modbus_host="127.0.0.1",
                         modbus_port=args.modbus_port, meters=[meter],
                         interval=args.interval, max_age_seconds=args.batch_max_age,
                         listen=args.listen, uplink_url=args.uplink)
    # Validate before creating anything, so a bad --site leaves no files behind.
    validate(NodeConfig, tomllib.loads(text), text, config_path)
    password = read_password(confirm=True, password_file=args.password_file)
    directory.mkdir(parents=True, exist_ok=True)
    key = DeviceKey.generate()
    key.save(key_path, password, scrypt_n=LIGHT_SCRYPT_N if args.light_kdf else STANDARD_SCRYPT_N)
    tls = make_device_tls_key_and_csr(key.address, directory)
    with config_path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    print(f"device  {format_address(key.address)}")
    print(f"key     {key_path}")
    print(f"tls     {tls.key} (private), {tls.csr} (send to the enterprise CA: mrv pki sign)")
    print(f"config  {config_path}")
    print(f"next    mrv edge register --config {config_path}")
    return EXIT_OK


def _check_init_timing(interval: float, batch_max_age: float) -> None:
    """The ranges of the file's ``interval`` and ``max_age_seconds`` (edge_node.config),
    checked here so the error names the flag."""
    if not (math.isfinite(interval) and MIN_INTERVAL_S <= interval <= MAX_INTERVAL_S):
        raise ConfigError(f"--interval must be {MIN_INTERVAL_S}..{MAX_INTERVAL_S} seconds, "
                          f"got {interval}")
    if not (math.isfinite(batch_max_age) and 0 < batch_max_age <= MAX_BATCH_AGE_S):
        raise ConfigError(f"--batch-max-age must be > 0 and at most {MAX_BATCH_AGE_S} "
                          f"seconds, got {batch_max_age}")


def _check_init_endpoints(listen: str, uplink: str | None, directory: Path) -> None:
    try:
        ObservabilityConfig(listen=listen)
    except ValidationError as exc:
        raise ConfigError(f"--listen: {exc.errors()[0]['msg'].removeprefix('Value error, ')}"
                          ) from None
    if uplink is not None:
        https = uplink.startswith("https://")
        try:  # the uplink's own checks: a URL, plain http only to a loopback address
            UplinkSettings(url=uplink, cert_file=directory / "device-tls.crt" if https else None,
                           key_file=directory / "device-tls.key" if https else None)
        except ConfigError as exc:
            raise ConfigError(f"--uplink: {str(exc).removeprefix('uplink.url: ')}") from None


# -- register -------------------------------------------------------------------------------------


def _open_system(config: NodeConfig) -> System:
    chain = connect(config.chain.rpc, evm_version=load_artifacts().evm_version(),
                    settings=ChainSettings(confirmations=config.chain.confirmations,
                                           rpc_retries=config.chain.rpc_retries))
    return open_system(chain, config.chain.deployment)


def metadata_hash(config: NodeConfig) -> bytes:
    """keccak256 of the device's description as registered: its site and meter paths, as
    canonical JSON (sorted keys, no spaces, UTF-8)."""
    description = {"site": config.device.site,
                   "meters": sorted(m.path for m in config.meters)}
    return keccak256(json.dumps(description, sort_keys=True, separators=(",", ":"),
                                ensure_ascii=False).encode("utf-8"))


def _register(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    key = load_key(config.device.key_file, args.password_file or config.device.password_file)
    system = _open_system(config)
    enterprise = sender(system.chain, args.enterprise_key, args.enterprise_password_file)
    if args.fund < 0:
        raise ConfigError(f"--fund must be >= 0, got {args.fund}")
    print(f"device      {format_address(key.address)}")
    print(f"enterprise  {enterprise.address}")
    if system.device_status(key.address) == "active":
        # A re-run (say after a failed --fund) registers nothing twice and goes on to fund.
        print("registered  already: active on this chain")
    else:
        sent = system.register_device(enterprise, key, site_id(config.device.site),
                                      metadata_hash(config))
        print(f"registered  tx 0x{sent.tx_hash.hex()} block {sent.block_number}")
    if args.fund:
        funded = enterprise.transfer(format_address(key.address), args.fund)
        print(f"funded      {args.fund} wei, tx 0x{funded.tx_hash.hex()}")
    return EXIT_OK


# -- run ------------------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    clock = _node_clock(args)
    key = load_key(config.device.key_file, args.password_file or config.device.password_file)
    logs = configure_logging(config.observability.log)
    try:
        try:
            connected = _open_system(config)
            system: System | Callable[[], System] = connected
            if clock is not None:  # a chain that cannot follow is refused now, in one line
                ChainClock(connected.chain, clock.simulated,
                           allowed_lead_s=connected.deployment.max_clock_skew)
            status = connected.device_status(key.address)
            if status != "active":
                raise ConfigError(f"device {format_address(key.address)} is {status} on this "
                                  f"chain: register it first (mrv edge register --config "
                                  f"{args.config})" if status == "unregistered" else
                                  f"device {format_address(key.address)} is {status} on this "
                                  f"chain: it cannot anchor")
        except ChainUnavailable as exc:
            # Readings are taken and stored without the chain; anchoring connects later.
            print(f"mrv: warning: {exc}; starting without the chain, anchoring will connect "
                  f"when it answers", file=sys.stderr, flush=True)
            system = functools.partial(_open_system, config)
        node = EdgeNode(config, key, system, clock=clock,
                        timings=SIMULATED_TIME_TIMINGS if clock is not None else None)
        host, _, port = config.observability.listen.rpartition(":")
        server = ObservabilityServer(host, int(port), node.metrics, node.health_checks())
        server.start()
        print(f"node {format_address(key.address)} running; metrics and health on "
              f"http://{host}:{server.port}", flush=True)
        if clock is not None:
            print(f"simulated time: {show_instant(clock.simulated.now_s())} now, speed "
                  f"{clock.simulated.speed}", flush=True)
        try:
            asyncio.run(_run_until_signalled(node))
        finally:
            server.stop()
    finally:
        logs.close()
    return EXIT_OK


async def _run_until_signalled(node: EdgeNode) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await node.run(stop)


# -- status and meter change ----------------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    clock = _node_clock(args)
    now = clock.time() if clock is not None else time.time()
    status = node_status(config, now=now)
    print(json.dumps(status, indent=2, sort_keys=True) if args.json
          else render_status(status, now=int(now)))
    return EXIT_OK


def _meter_change(args: argparse.Namespace) -> int:
    # The note is shown in reports beside the signed hash: no control or format character
    # (bidi controls...), checked before the key is unlocked.
    check_entered_text(args.note, "--note", NOTE_MAX_BYTES, empty=True, lines=True)
    config = load_config(args.config)
    if args.meter not in {m.path for m in config.meters}:
        raise ConfigError(f"--meter {args.meter!r} is not a meter of {args.config}")
    clock = _node_clock(args)
    key = load_key(config.device.key_file, args.password_file or config.device.password_file)
    with Store(config.device.store, key.address, store_domain(config)) as store:
        now = int(clock.time() if clock is not None else time.time())
        signed = commit_meter_change(store, key, args.meter, args.quantity,
                                     timestamp=args.timestamp,
                                     new_initial=args.new_initial, old_final=args.old_final,
                                     note=args.note, now=now)
    record = signed.record
    assert isinstance(record, MeterChange)
    print(f"meter change signed for {args.meter}: next seq {record.next_seq}, "
          f"old final {record.old_final}, new initial {record.new_initial}")
    return EXIT_OK
