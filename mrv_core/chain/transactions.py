"""Sending transactions: signers, nonces that survive restarts, receipts, confirmations, reverts.

A :class:`Transactor` sends contract calls and deployments for one account:

1. It builds the transaction and estimates its gas; a call that would revert fails here, before
   anything is sent, with the contract's custom error decoded into a typed
   :class:`~mrv_core.errors.ContractRevert`.
2. A local key signs it with the next nonce from a :class:`NonceTracker`, which remembers the
   next nonce in a file when given one, so a restarted process never reuses a nonce the node
   has not seen yet. Accounts the node holds (dev chains) are signed by the node.
3. The raw transaction is sent with retries. Resending the same signed bytes is harmless: the
   node answers "already known" or the nonce is taken by this very transaction, which the
   transactor recognises by hash.
4. It waits for the receipt and for ``confirmations`` blocks, checking after the wait that the
   receipt still sits in the same block (a reorganisation sends it back to waiting). Under
   simulated time (a :class:`~mrv_core.chain.ChainClock`) the chain's clock is brought to the
   simulated now before each transaction is built and while confirmations are awaited.
5. A mined failure is replayed with ``eth_call`` at its block (that block's environment and
   end state) to recover and decode the reason; exact unless a later transaction of the same
   block changed the state the call depends on.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from web3.contract import Contract

from ..codec import format_address, format_hex, parse_address, parse_hex
from ..errors import ChainError, ConfigError, MrvError, TransactionFailed
from ..files import UnreadableFile, read_regular_file
from ..hashing import keccak256
from ..keys import DeviceKey
from .artifacts import Artifacts, load_artifacts, revert_data
from .backend import Chain, checksum
from .clock import ChainClock

#: A nonce file holds one small JSON object; anything larger is not one.
_MAX_NONCE_FILE_BYTES = 4096

__all__ = ["KeySigner", "NodeSigner", "NonceTracker", "OnSigned", "Sent", "Signer", "Transactor"]

#: ``on_signed(nonce, tx_hash)``: see :meth:`Transactor.send`.
OnSigned = Callable[[int | None, bytes], None]


class Signer(Protocol):
    """Who signs: ``sign`` returns raw transaction bytes (``None`` for a :class:`NodeSigner`,
    whose transactions the node signs)."""

    @property
    def address(self) -> str: ...

    def sign(self, transaction: dict[str, Any]) -> bytes | None: ...


@dataclass(frozen=True)
class KeySigner:
    """A local key (a device key or a keystore-file account)."""

    key: DeviceKey

    @property
    def address(self) -> str:
        return format_address(self.key.address)

    def sign(self, transaction: dict[str, Any]) -> bytes | None:
        return self.key.sign_transaction(transaction)


@dataclass(frozen=True)
class NodeSigner:
    """An account the node holds unlocked (the embedded chain's and anvil's dev accounts)."""

    address: str

    def sign(self, transaction: dict[str, Any]) -> bytes | None:
        return None


@dataclass(frozen=True)
class Sent:
    """A mined, confirmed, successful transaction."""

    tx_hash: bytes
    block_number: int
    gas_used: int
    receipt: Any
    contract_address: str | None = None


class NonceTracker:
    """Next nonce of one account, remembered across restarts when given a ``path``.

    The node's pending transaction count is the truth, except when this process sent a
    transaction the node has not counted yet (a load-balanced or restarted RPC can lag): then the
    remembered next nonce is larger and is used, so two different transactions never share a
    nonce. If the node no longer knows the last transaction remembered (it was dropped, never
    mined), its nonce is free again and the node's count wins, so a lost transaction never
    leaves a gap that would block every later one.
    """

    def __init__(self, chain: Chain, address: str, path: Path | None = None) -> None:
        self._chain = chain
        self._address = address
        self._path = path

    def next(self) -> int:
        pending = self._chain.retrying(
            "eth_getTransactionCount",
            lambda: int(self._chain.w3.eth.get_transaction_count(
                checksum(self._address), "pending")))
        remembered = self._remembered()
        if remembered is None or remembered[0] <= pending:
            return pending
        next_nonce, last_tx = remembered
        return next_nonce if self.node_knows(last_tx) else pending

    def used(self, nonce: int, tx_hash: bytes) -> None:
        """Remember that ``nonce`` went to the node in transaction ``tx_hash``."""
        if self._path is None:
            return
        record = {"chainId": str(self._chain.chain_id), "address": self._address,
                  "nextNonce": str(nonce + 1), "lastTransaction": format_hex(tx_hash)}
        tmp = self._path.with_name(f".{self._path.name}.tmp")
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self._path)

    def _remembered(self) -> tuple[int, bytes] | None:
        if self._path is None or not self._path.exists():
            return None
        try:
            raw = read_regular_file(self._path, _MAX_NONCE_FILE_BYTES)
        except UnreadableFile as exc:
            raise ConfigError(f"nonce file {self._path}: {exc.reason}") from None
        try:
            record = json.loads(raw.decode("utf-8"))
            if (record["chainId"] != str(self._chain.chain_id)
                    or parse_address(record["address"]) != parse_address(self._address)):
                return None
            return int(record["nextNonce"]), parse_hex(record["lastTransaction"], 32)
        except (ValueError, KeyError, TypeError, MrvError) as exc:
            raise ConfigError(f"nonce file {self._path} is unreadable: {exc}") from None

    def node_knows(self, tx_hash: bytes) -> bool:
        from web3.exceptions import TransactionNotFound

        def lookup() -> bool:
            try:
                self._chain.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                return False
            return True

        return self._chain.retrying("eth_getTransactionByHash", lookup)


class Transactor:
    """Sends transactions for one account on one chain."""

    def __init__(self, chain: Chain, signer: Signer, *, artifacts: Artifacts | None = None,
                 nonce_file: Path | None = None, clock: ChainClock | None = None) -> None:
        """``clock``: simulated time (demos only, ``mrv_core.chain.clock``): the chain's
        clock is advanced to the simulated now before each transaction is built, and while
        its confirmations are awaited."""
        self.chain = chain
        self.signer = signer
        self.artifacts = artifacts or load_artifacts()
        self.nonces = NonceTracker(chain, signer.address, nonce_file)
        self.clock = clock

    @property
    def address(self) -> str:
        return self.signer.address

    # -- public -----------------------------------------------------------------------------------

    def send(self, call: Any, *, description: str, value: int = 0,
             gas: int | None = None, on_signed: OnSigned | None = None) -> Sent:
        """Send a contract function call (``contract.functions.f(...)``) or constructor call.

        ``gas`` skips estimation (a call that would revert is then sent, mined and fails);
        without it, a call that would revert raises before anything is sent. A mined failure
        raises with the receipt attached as ``exc.receipt``.

        ``on_signed(nonce, tx_hash)`` is called once the transaction is signed and before its
        bytes go to the node (again if a nonce conflict makes it sign anew), so a caller can
        record the transaction durably before it can be mined (the edge node's anchoring
        outbox). For a :class:`NodeSigner` it is called after the node accepted the
        transaction, with ``nonce`` ``None`` (the node chose it).
        """
        tx_hash, transaction = self._submit(call, description, value, gas, on_signed)
        return self._await(tx_hash, transaction, description)

    def deploy(self, name: str, *args: Any) -> tuple[Contract, Sent]:
        """Deploy the artifact ``name`` with constructor ``args``."""
        factory = self.chain.w3.eth.contract(abi=self.artifacts.abi(name),
                                             bytecode=self.artifacts.bytecode(name))
        sent = self.send(factory.constructor(*args), description=f"deploy {name}")
        if sent.contract_address is None:
            raise TransactionFailed(f"deploy {name}: receipt has no contract address")
        return self.at(name, sent.contract_address), sent

    def at(self, name: str, address: str) -> Contract:
        return self.chain.w3.eth.contract(address=checksum(address),
                                          abi=self.artifacts.abi(name))

    def transfer(self, to: str, wei: int) -> Sent:
        """Send ether (to fund a device account on a chain that charges gas)."""
        w3 = self.chain.w3
        if self.clock is not None:
            self.clock.advance()
        transaction: dict[str, Any] = {"from": self.address, "to": to, "value": wei,
                                       "chainId": self.chain.chain_id, **self._fees()}
        transaction["gas"] = self.chain.retrying("eth_estimateGas",
                                                 lambda: w3.eth.estimate_gas(transaction))  # type: ignore[arg-type]
        tx_hash = self._sign_and_send(transaction, f"transfer to {to}")
        return self._await(tx_hash, transaction, f"transfer to {to}")

    # -- internals --------------------------------------------------------------------------------

    def _fees(self) -> dict[str, int]:
        """EIP-1559 fees where the chain has a base fee, else a legacy gas price (QBFT networks
        often run free gas: both may be zero)."""
        w3 = self.chain.w3
        block = self.chain.retrying("eth_getBlockByNumber", lambda: w3.eth.get_block("latest"))
        base = block.get("baseFeePerGas")
        if base is None:
            return {"gasPrice": self.chain.retrying("eth_gasPrice", lambda: int(w3.eth.gas_price))}
        tip = self.chain.retrying("eth_maxPriorityFeePerGas", lambda: int(w3.eth.max_priority_fee))
        return {"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * int(base) + tip}

    def _submit(self, call: Any, description: str, value: int, gas: int | None,
                on_signed: OnSigned | None = None) -> tuple[bytes, dict[str, Any]]:
        params: dict[str, Any] = {"from": self.address, "value": value,
                                  "chainId": self.chain.chain_id}
        if gas is not None:
            params["gas"] = gas
        if self.clock is not None:
            self.clock.advance()
        try:
            transaction: dict[str, Any] = self.chain.retrying(
                "eth_estimateGas", lambda: call.build_transaction(params))
        except MrvError:
            raise
        except Exception as exc:
            raise self._reverted(exc, description) from None
        return self._sign_and_send(transaction, description, on_signed), transaction

    def _sign_and_send(self, transaction: dict[str, Any], description: str,
                       on_signed: OnSigned | None = None) -> bytes:
        w3 = self.chain.w3
        if isinstance(self.signer, NodeSigner):  # the node signs and picks the nonce
            try:
                node_hash = bytes(self.chain.retrying(
                    "eth_sendTransaction", lambda: w3.eth.send_transaction(transaction)))  # type: ignore[arg-type]
            except MrvError:
                raise
            except Exception as exc:
                raise ChainError(f"{description}: node refused the transaction: {exc}") from None
            if on_signed is not None:
                on_signed(None, node_hash)
            return node_hash
        for _attempt in range(2):
            transaction["nonce"] = self.nonces.next()
            signed = self.signer.sign(transaction)
            assert signed is not None
            raw: bytes = signed
            tx_hash = keccak256(raw)
            if on_signed is not None:
                on_signed(transaction["nonce"], tx_hash)
            try:
                self.chain.retrying("eth_sendRawTransaction",
                                    lambda: w3.eth.send_raw_transaction(raw))  # noqa: B023
            except MrvError:
                raise
            except Exception as exc:
                message = str(exc).lower()
                if "already known" in message or self.nonces.node_knows(tx_hash):
                    pass  # a retry re-sent bytes the node already has: same transaction
                elif "nonce too low" in message:
                    continue  # another sender used this nonce: take the next one
                else:
                    raise ChainError(f"{description}: node refused the transaction: {exc}") \
                        from None
            self.nonces.used(transaction["nonce"], tx_hash)
            return tx_hash
        raise ChainError(f"{description}: nonce conflict persists; is another process sending "
                         f"from {self.address}?")

    def _await(self, tx_hash: bytes, transaction: dict[str, Any], description: str) -> Sent:
        settings = self.chain.settings
        deadline = time.monotonic() + settings.receipt_timeout_s
        while True:
            receipt = self._receipt(tx_hash)
            if receipt is not None:
                block = int(receipt["blockNumber"])
                if self.chain.block_number() - block + 1 >= settings.confirmations:
                    again = self._receipt(tx_hash)  # still in the same block after the wait?
                    if again is not None and again["blockHash"] == receipt["blockHash"]:
                        break
            if time.monotonic() > deadline:  # real seconds, whatever the simulated time
                state = "mined" if receipt is not None else "not mined"
                raise TransactionFailed(
                    f"{description}: {format_hex(tx_hash)} {state}, not confirmed by "
                    f"{settings.confirmations} block(s) within {settings.receipt_timeout_s:.0f} s")
            time.sleep(settings.poll_interval_s)
            if self.clock is not None:  # simulated time goes on: blocks follow it
                self.clock.advance()
        if receipt["status"] != 1:
            failure = self._failure_reason(transaction, block, description, tx_hash)
            failure.receipt = receipt
            raise failure
        address = receipt.get("contractAddress")
        return Sent(tx_hash=tx_hash, block_number=block, gas_used=int(receipt["gasUsed"]),
                    receipt=receipt, contract_address=str(address) if address else None)

    def _receipt(self, tx_hash: bytes) -> Any:
        from web3.exceptions import TransactionNotFound

        def fetch() -> Any:
            try:
                return self.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                return None

        return self.chain.retrying("eth_getTransactionReceipt", fetch)

    def _failure_reason(self, transaction: dict[str, Any], block: int, description: str,
                        tx_hash: bytes) -> ChainError:
        replay = {k: transaction[k] for k in ("from", "to", "data", "value", "gas")
                  if k in transaction}
        try:
            self.chain.w3.eth.call(replay, block)  # type: ignore[arg-type]
        except Exception as exc:
            return self._reverted(exc, description)
        return TransactionFailed(f"{description}: {format_hex(tx_hash)} failed in block {block}")

    def _reverted(self, exc: BaseException, description: str) -> ChainError:
        data = revert_data(exc)
        if data is None:
            return ChainError(f"{description}: {exc}")
        error = self.artifacts.decode_revert(data)
        error.args = (f"{description}: {error}",)
        return error
