"""``python -m mrv_cli.demo.launch GO_FILE ARG...``: ``mrv ARG...``, started ahead of time.

Importing ``mrv`` takes seconds of CPU (web3, FastAPI, SQLAlchemy); on simulated time a real
second is a simulated day, so the demo cannot start its meter simulator, edge nodes and ledger
API when it needs them and wait for their imports. It starts them early through this launcher
instead: the launcher imports ``mrv`` while the demo deploys contracts, then waits until
``GO_FILE`` exists (the demo creates it once the clock file, configurations and database are
ready) and runs ``mrv ARG...`` in the same process, exactly as the command would run. It gives
up with exit 2 when ``GO_FILE`` does not appear within :data:`WAIT_S` seconds (a demo that died
without stopping it).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["WAIT_S", "launch"]

#: How long a launcher waits for its go file before giving up.
WAIT_S = 600.0
_POLL_S = 0.02


def launch(argv: Sequence[str]) -> int:
    """Import ``mrv``, wait for ``argv[0]`` to exist, then run ``mrv argv[1:]``; return its
    exit status (2 without arguments or when the go file never appears)."""
    if len(argv) < 2:
        print("usage: python -m mrv_cli.demo.launch GO_FILE MRV-ARGUMENT...", file=sys.stderr)
        return 2
    from mrv_cli.main import main

    go, deadline = Path(argv[0]), time.monotonic() + WAIT_S
    while not go.exists():
        if time.monotonic() > deadline:
            print(f"mrv demo launcher: {go} did not appear in {WAIT_S:.0f} s; giving up",
                  file=sys.stderr)
            return 2
        time.sleep(_POLL_S)
    return main(list(argv[1:]))


if __name__ == "__main__":
    sys.exit(launch(sys.argv[1:]))
