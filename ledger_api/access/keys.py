"""API keys: made from the OS's CSPRNG, shown once, stored only as an HMAC under the server's
secret.

A key is 64 ASCII characters, ``mrv_<id>_<secret>``: ``<id>`` 16 lowercase hex digits (8 random
bytes), stored in clear so the ledger can find the key's row; ``<secret>`` 43 base64url
characters (32 random bytes, 256 bits). The ledger stores ``HMAC-SHA256(server secret,
"trustmrv-api-key/1" || 0x00 || key)`` (32 bytes) and compares it in constant time
(:func:`hmac.compare_digest`). Without the server secret a stolen database gives no key back, and
HMAC-SHA256 of a 256-bit random key needs no slow KDF: there is no guessable password to stretch.

The server secret (``MRV_API_SECRET``) must be at least :data:`MIN_SECRET_BYTES` bytes and no
placeholder: :func:`check_server_secret` refuses an empty one, a shorter one, one made of a
single repeated character, of fewer than :data:`MIN_DISTINCT_CHARACTERS` distinct characters, or
of a known placeholder word repeated (``changeme``, ``secret``, ``password``...).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from ..errors import ApiConfigError

__all__ = [
    "KEY_PATTERN",
    "MIN_DISTINCT_CHARACTERS",
    "MIN_SECRET_BYTES",
    "NewKey",
    "check_server_secret",
    "key_id_of",
    "key_mac",
    "macs_equal",
    "new_key",
]

#: The shortest server secret accepted, in bytes (UTF-8): 256 bits, the HMAC-SHA256 key size.
MIN_SECRET_BYTES = 32
#: A secret of fewer distinct characters is a pattern, not a random value.
MIN_DISTINCT_CHARACTERS = 8
#: Words a secret left at an example or default value is made of (compared lowercased, with
#: everything but letters and digits removed: the secret is refused when it is the word
#: repeated, the last repetition possibly cut short).
PLACEHOLDERS = ("changeme", "secret", "password", "default", "example", "placeholder",
                "trustmrv", "mrvapisecret", "apisecret", "test", "0123456789", "abcdef",
                "qwerty", "letmein", "admin", "xxx", "todo", "replaceme")

KEY_PATTERN = re.compile(r"mrv_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_MAC_CONTEXT = b"trustmrv-api-key/1\x00"


@dataclass(frozen=True)
class NewKey:
    """A key just made: ``text`` is shown once to whoever asked and never stored; ``key_id``
    and ``mac`` are what the ledger keeps."""

    key_id: str
    text: str
    mac: bytes

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        return f"NewKey(key_id={self.key_id!r}, text=<hidden>)"


def check_server_secret(secret: bytes | None) -> bytes:
    """``secret`` if it is usable as the server secret, else raise :class:`ApiConfigError`
    naming the rule it breaks (never the value)."""
    if secret is None or not secret:
        raise ApiConfigError("MRV_API_SECRET is not set: the API needs a secret of at least "
                             f"{MIN_SECRET_BYTES} random bytes to check its keys (for example "
                             "`openssl rand -base64 48`)")
    if len(secret) < MIN_SECRET_BYTES:
        raise ApiConfigError(f"MRV_API_SECRET is {len(secret)} bytes: expected at least "
                             f"{MIN_SECRET_BYTES} random bytes (`openssl rand -base64 48`)")
    letters = re.sub(rb"[^a-z0-9]", b"", secret.lower()).decode("ascii")
    for word in PLACEHOLDERS:
        if letters and (word * (len(letters) // len(word) + 1)).startswith(letters):
            raise ApiConfigError(f"MRV_API_SECRET is the placeholder {word!r} (repeated): "
                                 "expected a random value (`openssl rand -base64 48`)")
    if len(set(secret)) < MIN_DISTINCT_CHARACTERS:
        raise ApiConfigError(f"MRV_API_SECRET has {len(set(secret))} distinct characters: "
                             f"expected a random value (at least {MIN_DISTINCT_CHARACTERS}), not "
                             "a pattern")
    period = next((p for p in range(1, len(secret) // 2 + 1)
                   if all(secret[i] == secret[i % p] for i in range(len(secret)))), None)
    if period is not None:
        raise ApiConfigError(f"MRV_API_SECRET repeats a {period}-character pattern: expected a "
                             "random value (`openssl rand -base64 48`)")
    return secret


def new_key(server_secret: bytes) -> NewKey:
    """A fresh key (``secrets``, the OS's CSPRNG) and its MAC under ``server_secret``."""
    key_id = secrets.token_bytes(8).hex()
    text = f"mrv_{key_id}_{secrets.token_urlsafe(32)}"
    assert KEY_PATTERN.fullmatch(text)
    return NewKey(key_id, text, key_mac(server_secret, text))


def key_id_of(text: str) -> str | None:
    """The id of a key in its text form, ``None`` when ``text`` is no key at all."""
    match = KEY_PATTERN.fullmatch(text)
    return match.group(1) if match else None


def key_mac(server_secret: bytes, text: str) -> bytes:
    """``HMAC-SHA256(server_secret, context || key)``: what the ledger stores of a key."""
    return hmac.new(server_secret, _MAC_CONTEXT + text.encode("ascii"), hashlib.sha256).digest()


def macs_equal(stored: bytes, offered: bytes) -> bool:
    """Whether two MACs are equal, in time independent of where they differ."""
    return hmac.compare_digest(stored, offered)
