"""Shared pieces of the ``mrv`` command line: exit codes and environment-backed options."""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "add_option", "decimal_seconds"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?|\.[0-9]+")


def decimal_seconds(text: str) -> float:
    """An argparse ``type`` for a duration in seconds written as a plain ASCII decimal (``5``,
    ``0.25``): Python's ``float`` also takes ``5_0`` (50), full-width digits, ``1e3``, ``inf``
    and ``nan``, where a typo would silently become another interval. Range checks stay with
    the setting that takes the value."""
    if not _DECIMAL.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected seconds as a plain decimal such as 5 or "
                                         f"0.25, got {text!r:.40}")
    return float(text)


def add_option(parser: argparse.ArgumentParser, flag: str, env: str, **kwargs: Any) -> None:
    """Add ``flag`` whose default comes from the environment variable ``env`` when set.

    The variable is named in the help text, so ``--help`` documents it.
    """
    value = os.environ.get(env)
    if value:
        # Left as text: argparse converts a string default with the option's ``type`` only
        # when the command runs without the option, so a bad value is that command's usage
        # error (exit 2), not a crash of every command while the parser is built.
        kwargs["default"] = value
        kwargs["required"] = False
    help_text = kwargs.get("help", "")
    kwargs["help"] = f"{help_text} [env {env}]".strip()
    parser.add_argument(flag, **kwargs)
