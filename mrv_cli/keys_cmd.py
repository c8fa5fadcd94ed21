"""``mrv keys``: create and inspect device key files (Web3 Secret Storage, keystore v3)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mrv_core.codec import format_address
from mrv_core.keys import (
    LIGHT_SCRYPT_N,
    PASSWORD_ENV,
    STANDARD_SCRYPT_N,
    DeviceKey,
    keystore_address,
    read_keystore,
    read_password,
)

from .options import EXIT_OK, add_option

__all__ = ["add_password_file_option", "load_key", "register"]


def register(commands: Any) -> None:
    keys = commands.add_parser("keys", help="create and inspect device key files",
                               description="Device keys are secp256k1 keys kept as keystore v3 "
                                           "files that geth, clef and wallets can read.")
    sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)

    new = sub.add_parser("new", help="create a key and save it as an encrypted keystore file",
                         description=f"Create a device key. The password comes from "
                                     f"{PASSWORD_ENV}, --password-file, or a prompt.")
    add_option(new, "--out", "MRV_KEY_FILE", type=Path, required=True, metavar="FILE",
               help="keystore file to create (never overwritten)")
    add_password_file_option(new)
    new.add_argument("--light-kdf", action="store_true",
                     help=f"scrypt N={LIGHT_SCRYPT_N} instead of N={STANDARD_SCRYPT_N}: "
                          "fast to unlock, weak against guessing; for demos and tests only")
    new.set_defaults(handler=_new)

    show = sub.add_parser("show", help="print a key file's address (never the private key)")
    show.add_argument("file", type=Path, metavar="FILE", help="keystore file")
    show.add_argument("--check", action="store_true",
                      help="also decrypt the file to prove the password opens it")
    add_password_file_option(show)
    show.set_defaults(handler=_show)


def add_password_file_option(parser: argparse.ArgumentParser, flag: str = "--password-file",
                             env: str = "MRV_KEY_PASSWORD_FILE") -> None:
    add_option(parser, flag, env, type=Path, metavar="FILE",
               help=f"read the key password from the first line of FILE (else {PASSWORD_ENV}, "
                    "else a prompt)")


def load_key(path: Path, password_file: Path | None) -> DeviceKey:
    """Unlock the key file at ``path`` with the password from the usual sources."""
    return DeviceKey.load(path, read_password(password_file=password_file))


def _new(args: argparse.Namespace) -> int:
    password = read_password(confirm=True, password_file=args.password_file)
    key = DeviceKey.generate()
    scrypt_n = LIGHT_SCRYPT_N if args.light_kdf else STANDARD_SCRYPT_N
    key.save(args.out, password, scrypt_n=scrypt_n)
    print(f"address {format_address(key.address)}")
    print(f"file    {args.out}")
    if args.light_kdf:
        print("warning: light KDF; do not use this key file in production")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    address = keystore_address(args.file)
    crypto = read_keystore(args.file).get("crypto")
    kdf = crypto.get("kdf", "?") if isinstance(crypto, dict) else "?"
    print(f"address {format_address(address)}")
    print(f"file    {args.file}")
    print(f"kdf     {kdf}")
    if args.check:
        load_key(args.file, args.password_file)
        print("check   password opens the key; it matches the address")
    return EXIT_OK
