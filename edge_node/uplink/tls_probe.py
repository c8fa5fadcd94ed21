"""Tell a TLS refusal from a dropped connection after an https request failed.

With TLS 1.3 the server checks the client's certificate after the client has finished its side
of the handshake, so the client may already have written its request when the server's alert
("unknown CA", "certificate required") arrives; the server then closes a socket with unread
data, the peer's kernel answers with a reset, and the alert is lost behind it: the request
fails like any dropped connection. :func:`probe_tls_refusal` asks once more without writing
anything: it completes a handshake with the client's own TLS context and waits a moment for the
server's word. A server that refuses the certificate sends its alert, which the read raises;
a server that accepts it sends nothing (or only session tickets, which the TLS layer consumes)
and the wait ends quietly.

Used by the uplink client only after a transport failure over https (rare), so the probe's
extra connection costs nothing in normal operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

__all__ = ["probe_tls_refusal"]


async def probe_tls_refusal(url: str, context: ssl.SSLContext, *,
                            wait_s: float = 1.0) -> str | None:
    """The TLS error with which the server at ``url`` refuses ``context`` (its certificate
    check, or the server's alert read within ``wait_s`` seconds), or ``None`` when it does not
    refuse or cannot be reached at all (an outage, not a refusal)."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 443
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=host),
            timeout=max(wait_s, 5.0))
    except ssl.SSLError as exc:
        return f"{type(exc).__name__}: {exc}"
    except (OSError, TimeoutError):
        return None
    try:
        await asyncio.wait_for(reader.read(1), timeout=wait_s)
        return None
    except ssl.SSLError as exc:
        return f"{type(exc).__name__}: {exc}"
    except (OSError, TimeoutError):
        return None
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), timeout=wait_s)
