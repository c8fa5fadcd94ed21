"""The two ways a batch reaches the chain: the device's own account pays, or a relayer does.

Either path takes the signed header and an ``on_signed(nonce, tx_hash)`` callback, which it
calls before the transaction can be mined (own account: once signed, before its bytes go to
the node; relayer: when the relayer names the transaction), and returns the transaction hash
and block of the anchor once mined.
"""

from __future__ import annotations

from typing import Protocol

import httpx

from mrv_core.batch import BatchHeader
from mrv_core.chain import System, Transactor
from mrv_core.chain.transactions import OnSigned
from mrv_core.codec import parse_hex
from mrv_core.errors import ChainUnavailable, MrvError
from mrv_core.wire import encode_batch_header

from ..errors import RelayRefused

__all__ = ["RELAY_PATH", "AnchorPath", "OwnAccount", "ViaRelay"]

#: The relayer's one endpoint (docs/edge.md, "Relayer").
RELAY_PATH = "/v1/anchor"


class AnchorPath(Protocol):
    def submit(self, header: BatchHeader, signature: bytes,
               on_signed: OnSigned) -> tuple[bytes, int]:
        """Anchor the header; return (transaction hash, block number). Raises a
        :class:`~mrv_core.errors.ChainError` when it did not (or may not have) happened."""
        ...


class OwnAccount:
    """The device's own account sends ``anchor`` (``System.anchor``)."""

    def __init__(self, system: System, transactor: Transactor) -> None:
        self.system = system
        self.transactor = transactor

    def submit(self, header: BatchHeader, signature: bytes,
               on_signed: OnSigned) -> tuple[bytes, int]:
        ref = self.system.anchor(self.transactor, header, on_signed=on_signed)
        return ref.transaction_hash, ref.block_number


class ViaRelay:
    """POST the signed header to the enterprise's relayer (``mrv relay``), which sends
    ``anchorBySig`` and answers once the anchor is mined. ``client`` is an ``httpx.Client``
    (TLS verification and timeouts are its settings)."""

    def __init__(self, url: str, client: httpx.Client) -> None:
        self.url = url.rstrip("/") + RELAY_PATH
        self.client = client

    def submit(self, header: BatchHeader, signature: bytes,
               on_signed: OnSigned) -> tuple[bytes, int]:
        try:
            response = self.client.post(self.url,
                                        json={"batch": encode_batch_header(header, signature)})
        except httpx.HTTPError as exc:
            raise ChainUnavailable(f"relayer {self.url} unreachable: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code != 200:
            reason = str(body.get("error", response.reason_phrase))[:300]
            if response.status_code >= 500:
                raise ChainUnavailable(f"relayer {self.url} answered {response.status_code}: "
                                       f"{reason}")
            raise RelayRefused(response.status_code, f"relayer {self.url}: {reason}")
        try:
            tx_hash = parse_hex(body["transactionHash"], 32, field="transactionHash")
            block = int(body["blockNumber"])
        except (KeyError, TypeError, ValueError, MrvError) as exc:
            raise RelayRefused(response.status_code, f"unreadable answer: {exc}") from None
        on_signed(None, tx_hash)
        return tx_hash, block
