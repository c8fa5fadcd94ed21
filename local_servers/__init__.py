"""Real servers on 127.0.0.1 for the tests and the benchmarks (not part of the installed
package): a PostgreSQL cluster (:mod:`local_servers.postgres`) and anvil, the JSON-RPC chain node
(:mod:`local_servers.anvil`). Both are started in scratch directories, listen on loopback only,
and are stopped by the code that started them.

Imported from the repository's root (``python -m pytest``, ``python -m benchmarks`` run there),
like ``benchmarks``; mypy checks it strictly with the packages.
"""

from __future__ import annotations

import socket

__all__ = ["free_port"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel's pick). Another process can take it
    before the caller binds it: callers that start a server retry on a fresh port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
