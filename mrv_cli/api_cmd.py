"""``mrv api``: the ledger API. ``migrate`` creates or upgrades its database schema (Alembic);
``serve`` runs it (uvicorn); ``principal`` manages who may call it (:mod:`mrv_cli.api_principal`);
``retention`` deletes data past the minimum retention, logged (:mod:`mrv_cli.api_retention`);
``plan`` sets and shows an enterprise's monitoring plan (:mod:`mrv_cli.api_plan`).
docs/api.md.

Settings come from the flags, else their ``MRV_*`` environment variables
(``ledger_api.settings``); the API secret only from ``MRV_API_SECRET``. ``serve`` refuses a
database not migrated to this code's schema, a non-loopback address without TLS, several workers
on SQLite, and a missing, short or placeholder API secret; each refusal is one line and exit 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ledger_api.db.engine import make_engine
from ledger_api.db.migrate import upgrade
from ledger_api.server import serve
from ledger_api.settings import DEFAULT_DATABASE_URL, get_settings

from . import api_plan, api_principal, api_retention
from .options import EXIT_OK, add_option

__all__ = ["DEFAULT_PORT", "database_option", "register"]

DEFAULT_PORT = 8600


def register(commands: Any) -> None:
    api = commands.add_parser("api", help="the ledger API: migrate its database, serve it",
                              description="The ledger API: stores and re-verifies what edge "
                                          "nodes signed (docs/api.md).")
    sub = api.add_subparsers(dest="api_command", required=True, metavar="COMMAND")
    migrate = sub.add_parser("migrate", help="create or upgrade the database schema",
                             description="Create or upgrade the ledger's schema to this "
                                         "version's (Alembic migrations); safe to run again.")
    database_option(migrate)
    migrate.set_defaults(handler=_migrate)

    run = sub.add_parser("serve", help="serve the ledger API (uvicorn)",
                         description="Serve the ledger API: POST /v1/uplink for edge nodes; "
                                     "GET /v1/devices, /v1/readings, /v1/seq-gaps, /v1/batches, "
                                     "/v1/quality, /v1/proofs/..., POST /v1/proofs and "
                                     "/v1/bundles/verify for principals (docs/api.md); "
                                     "/healthz, /readyz, /metrics. Needs a "
                                     "migrated database and MRV_API_SECRET (at least 32 random "
                                     "bytes); ingest needs --rpc-url and --deployment.")
    database_option(run)
    add_option(run, "--rpc-url", "MRV_RPC_URL", metavar="URL",
               help="the chain's JSON-RPC endpoint, e.g. http://127.0.0.1:8545 (without it, "
                    "ingest answers 503: devices cannot be checked)")
    add_option(run, "--deployment", "MRV_DEPLOYMENT", type=Path, metavar="FILE",
               help="deployment file written by `mrv chain deploy`")
    add_option(run, "--host", "MRV_API_HOST", default="127.0.0.1", metavar="ADDRESS",
               help="address to listen on (default 127.0.0.1; a non-loopback one needs TLS)")
    add_option(run, "--port", "MRV_API_PORT", type=int, default=DEFAULT_PORT, metavar="N",
               help=f"port to listen on (default {DEFAULT_PORT})")
    add_option(run, "--workers", "MRV_WORKERS", type=int, default=1, metavar="N",
               help="worker processes (default 1; more than one needs PostgreSQL)")
    add_option(run, "--tls-cert", "MRV_TLS_CERT", type=Path, metavar="FILE",
               help="serve HTTPS with this PEM certificate (chain)")
    add_option(run, "--tls-key", "MRV_TLS_KEY", type=Path, metavar="FILE",
               help="the PEM private key of --tls-cert")
    add_option(run, "--client-ca", "MRV_CLIENT_CA", type=Path, metavar="FILE",
               help="the enterprise CA (PEM, `mrv pki init`): the uplink then requires the "
                    "device's client certificate, binding the readings' signer (needs TLS)")
    add_option(run, "--log", "MRV_LOG", default="-", metavar="FILE",
               help="where the JSON-lines log goes, one access-log line per request among "
                    "them: a file (appended) or - for standard error (default)")
    run.add_argument("--public-metrics", action="store_true", default=None,
                     help="answer GET /metrics without an API key (default: a principal of "
                          "any role but device) [env MRV_PUBLIC_METRICS=true]")
    run.set_defaults(handler=_serve)
    api_principal.register(sub, database_option)
    api_retention.register(sub, database_option)
    api_plan.register(sub, database_option)


def database_option(parser: argparse.ArgumentParser) -> None:
    add_option(parser, "--database", "MRV_DATABASE_URL", default=DEFAULT_DATABASE_URL,
               metavar="URL", help="sqlite:///PATH (default "
                                   f"{DEFAULT_DATABASE_URL}) or postgresql+psycopg://USER@HOST:"
                                   "PORT/DB")


def _migrate(args: argparse.Namespace) -> int:
    settings = get_settings(database_url=args.database)
    engine = make_engine(settings.database_url)
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    state = "already at" if before == after else f"{before or 'empty'} ->"
    print(f"database   {engine.url.render_as_string(hide_password=True)}: {state} {after}")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    settings = get_settings(database_url=args.database, rpc_url=args.rpc_url,
                            deployment=args.deployment, api_host=args.host, api_port=args.port,
                            workers=args.workers, tls_cert=args.tls_cert, tls_key=args.tls_key,
                            public_metrics=args.public_metrics, client_ca=args.client_ca,
                            log=args.log)
    serve(settings)
    return EXIT_OK
