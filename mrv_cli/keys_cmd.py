"""``mrv keys``: create and inspect device key files (Web3 Secret Storage, keystore v3)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from mrv_core.codec import format_address
from mrv_core.errors import KeyFileError
from mrv_core.keys import (
    LIGHT_SCRYPT_N,
    PASSWORD_ENV,
    STANDARD_SCRYPT_N,
    DeviceKey,
    keystore_address,
    keystore_crypto,
    read_keystore,
    read_password,
    whole_file_password,
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
               help=f"read the key password from the first line of FILE, as geth does "
                    f"({PASSWORD_ENV} wins; else a prompt). Passwords are used as raw UTF-8, "
                    "not Unicode-normalised")


def load_key(path: Path, password_file: Path | None) -> DeviceKey:
    """Unlock the key file at ``path`` with the password from the usual sources.

    When the password file's first line does not open the key but the whole file does (a key
    made by an earlier mrv from a multi-line password file), the :class:`KeyFileError` says so
    and how to migrate (docs/keys.md). The file is read and checked as a keystore before any
    password is asked for, so a file that is no key says so first."""
    read_keystore(path)
    password = read_password(password_file=password_file)
    try:
        return DeviceKey.load(path, password)
    except KeyFileError:
        if password_file is None or os.environ.get(PASSWORD_ENV):
            raise
        whole = whole_file_password(password_file)
        if whole is None:
            raise
        try:
            DeviceKey.load(path, whole)
        except KeyFileError:
            raise KeyFileError(f"{path}: cannot decrypt with the first line of "
                               f"{password_file}; wrong password?") from None
    raise KeyFileError(
        f"{path} opens with the whole of {password_file}, not with its first line, which is "
        "all mrv (like geth) now reads: the key was made from a multi-line password file by "
        "an earlier mrv; re-encrypt it with a one-line password (docs/keys.md, migration)")


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
    kdf = keystore_crypto(read_keystore(args.file)).get("kdf", "?")
    if address is None and not args.check:
        print("address not in the file (as Foundry writes them): --check derives it from the key")
    elif address is not None:
        print(f"address {format_address(address)}")
    print(f"file    {args.file}")
    print(f"kdf     {kdf}")
    if args.check:
        key = load_key(args.file, args.password_file)
        if address is None:
            print(f"address {format_address(key.address)} (derived: the file declares none)")
            print("check   password opens the key")
        else:
            print("check   password opens the key; it matches the address")
    return EXIT_OK
