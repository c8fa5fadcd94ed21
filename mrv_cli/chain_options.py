"""Chain options shared by the commands that talk to a chain, and turning them into objects."""

from __future__ import annotations

import argparse
from pathlib import Path

from mrv_core.chain import (
    Chain,
    ChainSettings,
    Deployment,
    KeySigner,
    NodeSigner,
    System,
    Transactor,
    connect,
    load_artifacts,
)
from mrv_core.errors import ConfigError

from .keys_cmd import add_password_file_option, load_key
from .options import add_option

__all__ = ["add_chain_options", "add_sender_options", "open_chain", "open_system", "sender"]


_EMBEDDED_DEFAULT = "default: the embedded chain, which lives only as long as this command"
MAX_CONFIRMATIONS = 1_000
MAX_RPC_RETRIES = 20


def add_chain_options(parser: argparse.ArgumentParser, *, deployment: bool,
                      without_rpc: str = _EMBEDDED_DEFAULT) -> None:
    add_option(parser, "--rpc", "MRV_RPC_URL", metavar="URL",
               help=f"Ethereum JSON-RPC endpoint, e.g. http://127.0.0.1:8545 ({without_rpc})")
    add_option(parser, "--confirmations", "MRV_CONFIRMATIONS", type=int, default=1, metavar="N",
               help="blocks on top of a transaction, its own included, before it counts as "
                    "final (default 1: QBFT and the embedded chain are final at once; "
                    f"at most {MAX_CONFIRMATIONS:,})")
    add_option(parser, "--rpc-retries", "MRV_RPC_RETRIES", type=int, default=5, metavar="N",
               help="retries of a JSON-RPC request that failed to reach the node, with growing "
                    f"pauses (default 5; 0 fails at once; at most {MAX_RPC_RETRIES})")
    if deployment:
        add_option(parser, "--deployment", "MRV_DEPLOYMENT", type=Path, metavar="FILE",
                   help="deployment file written by `mrv chain deploy`")


def add_sender_options(parser: argparse.ArgumentParser, flag: str, env: str, role: str, *,
                       password_flag: str = "--password-file",
                       password_env: str = "MRV_KEY_PASSWORD_FILE") -> None:
    """The account that sends: its keystore file, its password file and its nonce file."""
    add_option(parser, flag, env, type=Path, metavar="FILE",
               help=f"keystore file of the {role} account (default: the node's first unlocked "
                    "account, as on anvil and the embedded chain)")
    add_password_file_option(parser, password_flag, password_env)
    add_option(parser, "--nonce-file", "MRV_NONCE_FILE", type=Path, metavar="FILE",
               help="remember the next nonce of a keystore account here, so a restarted "
                    "process never reuses one")


def open_chain(args: argparse.Namespace) -> Chain:
    """The chain of ``--rpc`` (the embedded chain without it), after checking the chain options:
    a :class:`ConfigError` names a value out of range before anything connects."""
    if not 1 <= args.confirmations <= MAX_CONFIRMATIONS:
        raise ConfigError(f"--confirmations must be within 1..{MAX_CONFIRMATIONS:,}, "
                          f"got {args.confirmations}")
    if not args.rpc and args.confirmations != 1:
        raise ConfigError("the embedded chain mines one block per transaction and no other: "
                          f"--confirmations must be 1 there, got {args.confirmations}")
    if not 0 <= args.rpc_retries <= MAX_RPC_RETRIES:
        raise ConfigError(f"--rpc-retries must be within 0..{MAX_RPC_RETRIES}, "
                          f"got {args.rpc_retries}")
    settings = ChainSettings(confirmations=args.confirmations, rpc_retries=args.rpc_retries)
    return connect(args.rpc or None, evm_version=load_artifacts().evm_version(),
                   settings=settings)


def open_system(chain: Chain, deployment_file: Path | None) -> System:
    if deployment_file is None:
        raise ConfigError("--deployment FILE is required with --rpc")
    system = System(chain, Deployment.read(deployment_file))
    system.check_code()
    return system


def sender(chain: Chain, key_file: Path | None, password_file: Path | None,
           nonce_file: Path | None = None) -> Transactor:
    """A transactor for a keystore account, or for the node's first unlocked account."""
    if key_file is not None:
        signer: KeySigner | NodeSigner = KeySigner(load_key(key_file, password_file))
    else:
        accounts = chain.unlocked_accounts()
        if not accounts:
            raise ConfigError(f"{chain.url} holds no unlocked account: pass a keystore file")
        signer = NodeSigner(accounts[0])
    return Transactor(chain, signer, nonce_file=nonce_file)
