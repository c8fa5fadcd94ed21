"""``mrv chain``: deploy the consortium contracts, describe a chain and its deployment, and let
the admin grant and revoke roles and reactivate a stopped enterprise."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mrv_core.chain import (
    CONTRACTS,
    ROLES,
    System,
    Transactor,
    check_artifacts,
    deploy_system,
    load_artifacts,
)
from mrv_core.chain.deployment import DEFAULT_ADMIN_DELAY_S, DEFAULT_MAX_CLOCK_SKEW_S
from mrv_core.codec import format_address, parse_address
from mrv_core.errors import ConfigError

from .chain_options import add_chain_options, add_sender_options, open_chain, open_system, sender
from .options import EXIT_OK, add_option

__all__ = ["register"]


def register(commands: Any) -> None:
    chain = commands.add_parser("chain", help="deploy the contracts; describe a chain",
                                description="The consortium contracts on an EVM chain.")
    sub = chain.add_subparsers(dest="chain_command", metavar="ACTION", required=True)

    deploy = sub.add_parser(
        "deploy", help="deploy Consortium, AnchorRegistry, DeviceRegistry, MethodologyRegistry "
                       "and ReportRegistry; write the deployment file",
        description="Deploy the consortium contracts from the committed artifacts. The sender "
                    "becomes the consortium's admin. Without --rpc this is a dry run on the "
                    "embedded chain (gas figures, no file).")
    add_chain_options(deploy, deployment=False)
    add_sender_options(deploy, "--key", "MRV_DEPLOYER_KEY", "deployer")
    add_option(deploy, "--out", "MRV_DEPLOYMENT", type=Path, metavar="FILE",
               help="deployment file to write (default deployment.json; needs --rpc)")
    add_option(deploy, "--max-clock-skew", "MRV_MAX_CLOCK_SKEW", type=int,
               default=DEFAULT_MAX_CLOCK_SKEW_S, metavar="SECONDS",
               help=f"how far a batch may end in the future (default {DEFAULT_MAX_CLOCK_SKEW_S})")
    add_option(deploy, "--admin-delay", "MRV_ADMIN_DELAY", type=int, default=DEFAULT_ADMIN_DELAY_S,
               metavar="SECONDS", help="delay of a consortium admin transfer "
                                       f"(default {DEFAULT_ADMIN_DELAY_S})")
    deploy.set_defaults(handler=_deploy)

    info = sub.add_parser("info", help="describe the chain and, given one, a deployment")
    add_chain_options(info, deployment=True)
    info.set_defaults(handler=_info)

    for action, help_text, handler in (
            ("grant", "grant a consortium role to an account (admin only)", _grant),
            ("revoke", "revoke a consortium role from an account (admin only); revoking "
                       "'enterprise' stops all the enterprise's devices until `mrv chain "
                       "reactivate`", _revoke)):
        parser = sub.add_parser(action, help=help_text)
        parser.add_argument("role", choices=("association", "enterprise", "regulator"),
                            help=f"the role to {action}")
        parser.add_argument("account", metavar="ADDRESS", help="the account")
        _admin_options(parser, handler)

    reactivate = sub.add_parser(
        "reactivate", help="let the devices of an enterprise that lost its role and was granted "
                           "it again anchor again (admin only)")
    reactivate.add_argument("account", metavar="ADDRESS", help="the enterprise account")
    _admin_options(reactivate, _reactivate)


def _admin_options(parser: argparse.ArgumentParser,
                   handler: Callable[[argparse.Namespace], int]) -> None:
    add_chain_options(parser, deployment=True)
    add_sender_options(parser, "--key", "MRV_ADMIN_KEY", "consortium admin")
    parser.set_defaults(handler=handler)


#: The constructor parameters' ABI types: Consortium's uint48 delay, AnchorRegistry's uint64 skew.
_MAX_ADMIN_DELAY = 2**48 - 1
_MAX_CLOCK_SKEW = 2**64 - 1


def _deploy(args: argparse.Namespace) -> int:
    if not 0 <= args.max_clock_skew <= _MAX_CLOCK_SKEW:
        raise ConfigError(f"--max-clock-skew must be within 0..2^64-1 seconds, "
                          f"got {args.max_clock_skew}")
    if not 0 <= args.admin_delay <= _MAX_ADMIN_DELAY:
        raise ConfigError(f"--admin-delay must be within 0..2^48-1 seconds, "
                          f"got {args.admin_delay}")
    chain = open_chain(args)
    if chain.embedded and args.out is not None:
        raise ConfigError("the embedded chain ends with this command: a deployment file would "
                          "point at nothing; pass --rpc URL (or run `mrv demo`)")
    out = None if chain.embedded else (args.out or Path("deployment.json"))
    if out is not None and (out.exists() or out.is_symlink()):
        # Checked before paying for a deployment: the file records where the contracts are,
        # and edge stores and configurations are bound to them.
        raise ConfigError(f"{out} exists; refusing to overwrite it (it records a deployment "
                          f"that stores and configurations may be bound to): give another --out")
    deployer = sender(chain, args.key, args.password_file, args.nonce_file)
    deployment = deploy_system(deployer, admin_transfer_delay=args.admin_delay,
                               max_clock_skew=args.max_clock_skew)
    where = "embedded chain (dry run: its state ends with this command)" if chain.embedded \
        else args.rpc
    print(f"deployed on {where}, chainId {deployment.chain_id}, block {deployment.deploy_block}")
    print(f"admin      {deployer.address}")
    for name in CONTRACTS:
        print(f"{name:<20} {deployment.address(name)}")
    for what, gas in deployment.gas_used.items():
        print(f"gas        {what}: {gas:,}")
    if out is not None:
        deployment.write(out)
        print(f"written    {out}")
    return EXIT_OK


def _info(args: argparse.Namespace) -> int:
    chain = open_chain(args)
    w3 = chain.w3
    print(f"chain      {chain.url or 'embedded (in this process)'}")
    print(f"chainId    {chain.chain_id}")
    print(f"client     {chain.retrying('web3_clientVersion', lambda: w3.client_version)}")
    print(f"head       block {chain.block_number()}")
    if args.deployment is None:
        return EXIT_OK
    system = open_system(chain, args.deployment)
    deployment = system.deployment
    print(f"deployment {args.deployment} (block {deployment.deploy_block}, "
          f"evmVersion {deployment.evm_version})")
    for name in CONTRACTS:
        print(f"{name:<20} {deployment.address(name)}")
    stale = check_artifacts(deployment, load_artifacts())
    print("artifacts  " + ("match the local build" if not stale
                           else f"DIFFER from the local build: {', '.join(stale)}"))
    skew = system.call("eth_call", lambda: system.anchors.functions.maxClockSkew().call())
    print(f"clock skew {skew} s")
    _print_roles(system, format_address(deployment.deployer))
    return EXIT_OK


def _as_admin(args: argparse.Namespace) -> tuple[System, Transactor, str]:
    """The deployment, the admin's transactor and the ADDRESS argument, checked."""
    address = parse_address(args.account, field="ADDRESS")
    if address == bytes(20):
        raise ConfigError("ADDRESS is the zero address: no account holds it; nothing sent")
    account = format_address(address)
    chain = open_chain(args)
    system = open_system(chain, args.deployment)
    return system, sender(chain, args.key, args.password_file, args.nonce_file), account


def _grant(args: argparse.Namespace) -> int:
    system, admin, account = _as_admin(args)
    role = f"{args.role.upper()}_ROLE"
    if system.has_role(role, account):
        print(f"unchanged  {account} already holds {role}; nothing changed, nothing sent")
        return EXIT_OK
    sent = system.grant_role(admin, role, account)
    print(f"granted    {role} to {account} (block {sent.block_number})")
    return EXIT_OK


def _revoke(args: argparse.Namespace) -> int:
    system, admin, account = _as_admin(args)
    role = f"{args.role.upper()}_ROLE"
    if not system.has_role(role, account):
        print(f"unchanged  {account} does not hold {role}; nothing changed, nothing sent")
        return EXIT_OK
    sent = system.revoke_role(admin, role, account)
    print(f"revoked    {role} from {account} (block {sent.block_number})")
    if role == "ENTERPRISE_ROLE" and system.enterprise_stopped(account):
        print("stopped    its devices cannot anchor until the role is granted again and "
              f"`mrv chain reactivate {account}` runs")
    return EXIT_OK


def _reactivate(args: argparse.Namespace) -> int:
    system, admin, account = _as_admin(args)
    sent = system.reactivate_enterprise(admin, account)
    print(f"reactivated {account}: its devices may anchor again (block {sent.block_number})")
    return EXIT_OK


def _print_roles(system: System, account: str) -> None:
    held = [name for name in ("DEFAULT_ADMIN_ROLE", *ROLES) if system.has_role(name, account)]
    print(f"deployer   {account}: {', '.join(held) or 'no role'}")
