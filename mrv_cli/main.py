"""``mrv``: the one command of TrustMRV, composition root of every part.

Exit codes: 0 success; 1 verification failed (at least one bundle did not verify); 2 usage or
input error (bad arguments, missing file, a path that cannot be read or written as asked, wrong
password, unusable configuration); 130
interrupted (Ctrl-C); 141 the reader of the output went away (``mrv ... | head``).
Every option can also come from the ``MRV_*`` environment variable named in its help.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from mrv_core.errors import MrvError

from . import (
    accounting_cmd,
    api_cmd,
    bundle_cmd,
    chain_cmd,
    contracts_build,
    demo,
    edge_cmd,
    keys_cmd,
    pki_cmd,
    relay_cmd,
    report_cmd,
    simulate_cmd,
)
from .options import EXIT_USAGE
from .reverts import describe

#: As a shell reports a process killed by SIGPIPE (128 + 13).
EXIT_BROKEN_PIPE = 141

__all__ = ["build_parser", "main"]


def _version() -> str:
    try:
        return version("trustmrv")
    except PackageNotFoundError:  # running from a source tree without installation
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mrv",
        description="TrustMRV: trusted measurement, reporting and verification of energy and "
                    "carbon data, anchored on an EVM chain.",
        epilog="Exit codes: 0 ok, 1 verification failed, 2 usage or input error, 130 interrupted, "
               "141 output pipe closed.",
    )
    parser.add_argument("--version", action="version", version=f"mrv {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo.register(commands)
    keys_cmd.register(commands)
    bundle_cmd.register(commands)
    chain_cmd.register(commands)
    contracts_build.register(commands)
    accounting_cmd.register(commands)
    edge_cmd.register(commands)
    simulate_cmd.register(commands)
    relay_cmd.register(commands)
    pki_cmd.register(commands)
    api_cmd.register(commands)
    report_cmd.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except MrvError as exc:
        print(f"mrv: error: {describe(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        detail = f": {exc}" if str(exc) else ""  # what an interrupted step left behind
        print(f"mrv: interrupted{detail}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader closed the pipe: stop quietly, and keep the interpreter's final flush of
        # stdout from raising again at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        # A path given on the command line that cannot be used as asked (a directory where a
        # file belongs, a file where a directory belongs, no permission, a full disk): input.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"mrv: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
