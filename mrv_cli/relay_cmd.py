"""``mrv relay``: serve the relayer, which anchors batch headers the enterprise's devices signed.

The enterprise runs it with a funded key (``--key``; default the node's first unlocked account)
so its devices need no funds (``anchorBySig``). It checks each header's device signature, and
that the device is an active device of ``--enterprise``, before paying; its own SQLite outbox
(``--db``) makes a retried request free and lets a restarted relayer finish what it started.
Plain HTTP on a loopback address only; elsewhere ``--tls-cert`` and ``--tls-key``. It logs
JSON lines like the edge node (``mrv_core.json_logs.configure_logging``; ``--log``). It runs
until interrupted (Ctrl-C: exit 130). docs/edge.md, section "Relayer". ``--clock FILE``
(demos): the chain's clock follows that simulated time (section "Simulated time").
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from edge_node._internal.crashpoints import from_environment
from edge_node.anchoring import RELAY_PATH
from edge_node.relay import Relayer, RelayJobs, RelayServer
from mrv_core.chain import ChainClock
from mrv_core.codec import format_address, parse_address
from mrv_core.errors import ConfigError
from mrv_core.json_logs import configure_logging
from mrv_core.simulated_time import read_clock_file

from .chain_options import add_chain_options, add_sender_options, open_chain, open_system, sender
from .options import EXIT_OK, add_option

__all__ = ["DEFAULT_PORT", "register"]

DEFAULT_PORT = 8650


def register(commands: Any) -> None:
    relay = commands.add_parser(
        "relay", help="serve the relayer: anchor batch headers the enterprise's devices signed, "
                      "paying the gas (anchorBySig)",
        description="Anchor batch headers signed by the enterprise's devices, paid by this "
                    "account: POST /v1/anchor. Checks the device signature and the device's "
                    "enterprise and status before paying; crash-safe through --db.")
    add_chain_options(relay, deployment=True, without_rpc="required: the relayer serves a "
                                                          "chain other processes reach")
    add_sender_options(relay, "--key", "MRV_RELAY_KEY", "relayer (pays the gas)")
    add_option(relay, "--enterprise", "MRV_RELAY_ENTERPRISE", metavar="ADDRESS",
               help="the enterprise whose devices are served (default: the relayer account)")
    add_option(relay, "--db", "MRV_RELAY_DB", type=Path, metavar="FILE", required=True,
               help="the relayer's outbox, a SQLite file (created if absent)")
    add_option(relay, "--host", "MRV_RELAY_HOST", default="127.0.0.1", metavar="ADDRESS",
               help="address to listen on (default 127.0.0.1; a non-loopback one needs TLS)")
    add_option(relay, "--port", "MRV_RELAY_PORT", type=int, default=DEFAULT_PORT, metavar="N",
               help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")
    add_option(relay, "--tls-cert", "MRV_RELAY_TLS_CERT", type=Path, metavar="FILE",
               help="serve HTTPS with this PEM certificate (chain)")
    add_option(relay, "--tls-key", "MRV_RELAY_TLS_KEY", type=Path, metavar="FILE",
               help="the PEM private key of --tls-cert")
    add_option(relay, "--log", "MRV_RELAY_LOG", default="-", metavar="FILE",
               help="JSON-lines log, as the edge node writes it: a regular file (appended, "
                    "its directory must exist) or - for standard error (default -)")
    add_option(relay, "--clock", "MRV_CLOCK_FILE", type=Path, metavar="FILE",
               help="simulated time (`mrv simulate clock`; demos only): the development chain's "
                    "clock is brought to the simulated now before each anchorBySig")
    relay.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be within 0..65535, got {args.port}")
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ConfigError("TLS needs both --tls-cert and --tls-key")
    if not args.rpc or args.rpc.strip() == "embedded":
        raise ConfigError("--rpc URL is required: the embedded chain lives only inside this "
                          "command, no device could reach it")
    enterprise = (parse_address(args.enterprise, field="--enterprise")
                  if args.enterprise is not None else None)
    logs = configure_logging(args.log, key="--log")
    try:
        return _relay(args, enterprise)
    finally:
        logs.close()


def _relay(args: argparse.Namespace, enterprise: bytes | None) -> int:
    chain = open_chain(args)
    system = open_system(chain, args.deployment)
    payer = sender(chain, args.key, args.password_file, args.nonce_file)
    if args.clock is not None:  # docs/edge.md, "Simulated time"
        payer.clock = ChainClock(chain, read_clock_file(args.clock),
                                 allowed_lead_s=system.deployment.max_clock_skew)
    served = enterprise if enterprise is not None else parse_address(payer.address)
    jobs = RelayJobs(args.db)
    try:
        relayer = Relayer(system, payer, served, jobs, crash=from_environment())
        for header in relayer.resume():
            print(f"unfinished batch {header.batch_seq} of {format_address(header.device)} "
                  f"(see the log)", flush=True)
        server = RelayServer(relayer, args.host, args.port, tls_cert=args.tls_cert,
                             tls_key=args.tls_key)
        try:
            print(f"relaying   {server.url}{RELAY_PATH} for the devices of "
                  f"{format_address(served)}, paid by {payer.address}", flush=True)
            server.serve_forever()
        finally:
            server.server_close()
    finally:
        jobs.close()
    return EXIT_OK
