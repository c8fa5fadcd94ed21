"""Shared pieces of the ``mrv`` command line: exit codes and environment-backed options."""

from __future__ import annotations

import argparse
import os
from typing import Any

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "add_option"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


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
