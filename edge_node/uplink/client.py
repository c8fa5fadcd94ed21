"""The uplink client: deliver the store's signed items to the ledger API, at least once, in order.

Source of items and acknowledgements: :class:`edge_node.store.UplinkSource` (the store
engineer's Protocol, implemented on the SQLite store by :class:`edge_node.store.StoreUplink`)::

    acknowledged_through(stream) -> int          # last position the API acknowledged, -1 first
    items_after(stream, cursor, limit) -> list   # StoredReading | StoredRecord | StoredBatch
    acknowledge(stream, through) -> None         # durably, in one transaction

Two ordered streams: ``leaves`` (readings and records by leaf ordinal, commit order) and
``batches`` (signed headers by batchSeq). One push (:meth:`UplinkClient.push_once`):

1. read the unacknowledged batches, then the unacknowledged leaves (in that order: every batch
   read was closed before the leaves were read, so its leaves are among them);
2. take up to ``chunk_size`` leaves, and batch headers only with the rest of the chunk once the
   leaves are caught up, so no header is ever sent before its leaves;
3. POST them as one ``trustmrv-uplink/1`` request (gzip), retrying transient failures
   (connection refused or dropped, timeouts, TLS refusals, 408/425/429/5xx, an ack that does not
   decode) with exponential backoff and full jitter (tenacity), honouring Retry-After; a 413
   halves the chunk size for the rest of the client's life (a request that would exceed the
   format's compressed limit is halved before sending);
4. on the server's acknowledgement only, move each stream's cursor through the last item of its
   delivered prefix (``accepted``/``duplicate``). A ``conflict`` or ``rejected`` item stops its
   stream there, and a refused leaf keeps every header of the request unacknowledged:
   :class:`UplinkRefused` names it and :meth:`run` holds off, then sends again from that item
   (the server answers ``duplicate`` for the ones it holds).

Every attempt's outcome is also told to an :class:`~.health.UplinkHealth` (the node's
``uplink`` health check): a refusal (4xx, a refused item, the TLS handshake refused, an
acknowledgement that does not decode) until a later request is delivered, or the API being
unreachable (retried).

A crash anywhere loses nothing: cursors move only after an ack, so the items are sent again and
acknowledged as duplicates (idempotent by (device, meter, seq) and the other identity keys,
``mrv_core.uplink.item_key``). Order is kept: one request in flight, streams in position order.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from mrv_core.batch import SignedBatchHeader
from mrv_core.eip712 import Domain
from mrv_core.errors import FormatError, MrvError
from mrv_core.uplink import (
    CONTENT_TYPE,
    DOCUMENT_ORDER,
    LIMITS,
    UplinkAck,
    UplinkItem,
    UplinkRequest,
    Verdict,
    decode_ack,
    encode_request,
    item_id,
)

from ..errors import UplinkRefused, UplinkUnavailable
from ..signing.records import read_record
from ..store import StoredBatch, StoredReading, StoredRecord, Stream, UplinkSource, position
from ..store import UplinkItem as StoredItem
from .health import UplinkHealth
from .metrics import UplinkMetrics
from .settings import UplinkSettings
from .tls_probe import probe_tls_refusal

__all__ = ["PushResult", "UplinkClient", "backoff_seconds"]

_RETRYABLE = frozenset({408, 425, 429})


@dataclass(frozen=True)
class PushResult:
    """One push: items sent, and how many the server took now or held already."""

    sent: int
    accepted: int
    duplicates: int


class _TooLarge(Exception):
    """HTTP 413: the request must shrink."""


class UplinkClient:
    """Pushes a store's items to the ledger API (see the module docstring). Use as an async
    context manager, or call :meth:`aclose`."""

    def __init__(self, settings: UplinkSettings, source: UplinkSource, device: bytes,
                 domain: Domain, *, metrics: UplinkMetrics | None = None,
                 health: UplinkHealth | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._metrics = metrics
        self.health = health or UplinkHealth()
        self._source = source
        self._device = device
        self._domain = domain
        self._stopping = asyncio.Event()
        self._limit = settings.chunk_size  # lowered for good by a 413
        self._log = structlog.get_logger("edge_node.uplink")
        self._tls = settings.ssl_context() if settings.https else None
        self._http = httpx.AsyncClient(
            verify=self._tls if self._tls is not None else True,
            timeout=settings.timeout_ms / 1000, transport=transport, trust_env=False,
            headers={"Content-Type": CONTENT_TYPE, "Content-Encoding": "gzip",
                     "Accept": CONTENT_TYPE, "Accept-Encoding": "gzip"})

    async def __aenter__(self) -> UplinkClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._stopping.set()
        await self._http.aclose()

    def stop(self) -> None:
        """Ask :meth:`run` and any retry loop to end at their next pause."""
        self._stopping.set()

    # -- the loop ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Push until :meth:`stop`: drain what is pending, pause ``idle_poll_ms`` when nothing
        is, ``backoff_max_ms`` when retries ended or after an unexpected exception,
        ``refusal_holdoff_ms`` after a refusal or any other :class:`MrvError` (a stored item
        that does not decode). Failures are logged (``uplink_refused``, ``uplink_unavailable``,
        ``uplink_failed``; ``uplink_error`` with the traceback for an unexpected one, which is
        also counted and fails the ``uplink`` health check), never raised: the loop ends only
        on :meth:`stop` or cancellation."""
        while not self._stopping.is_set():
            pause = self.settings.idle_poll_ms
            try:
                if (await self.push_once()).sent:
                    continue
            except UplinkRefused as exc:
                self._log.error("uplink_refused", detail=str(exc), refused=exc.refused)
                self.health.on_refused(str(exc))  # also a single item too large (413)
                pause = self.settings.refusal_holdoff_ms
            except UplinkUnavailable as exc:
                self._log.warning("uplink_unavailable", detail=str(exc))
                pause = self.settings.backoff_max_ms
            except MrvError as exc:  # a stored item that does not decode, a store error
                self._log.error("uplink_failed", error=type(exc).__name__, detail=str(exc))
                self.health.on_refused(f"{type(exc).__name__}: {exc}")
                pause = self.settings.refusal_holdoff_ms
            except Exception as exc:  # a bug or a foreign fault: never end the task silently
                name = type(exc).__name__
                self._log.exception("uplink_error", error=name, detail=str(exc)[:500])
                if self._metrics is not None:
                    self._metrics.errors.labels(name).inc()
                self.health.on_error(f"{name}: {str(exc)[:500]}")
                pause = self.settings.backoff_max_ms
            await self._pause(pause / 1000)

    async def drain(self) -> int:
        """Push until nothing is pending; return the number of items sent."""
        total = 0
        while (result := await self.push_once()).sent:
            total += result.sent
        return total

    # -- one push ------------------------------------------------------------------------------

    async def push_once(self) -> PushResult:
        """Send the next chunk and record the acknowledgement (module docstring, steps 1-4).

        Raises :class:`UplinkUnavailable` when retries end (``max_attempts``, or :meth:`stop`)
        and :class:`UplinkRefused` for a refused request or item."""
        while True:
            chunk = self._next_chunk(self._limit)
            if not chunk:
                return PushResult(0, 0, 0)
            wired = [(stream, stored, _wire_item(stored)) for stream, stored in chunk]
            request = UplinkRequest.of(self._device, self._domain, [w for _, _, w in wired])
            body = encode_request(request)
            if len(body) > LIMITS.compressed_bytes and len(chunk) > 1:
                self._limit = max(1, len(chunk) // 2)
                continue
            try:
                ack = await self._send(body, request)
            except _TooLarge:
                if len(chunk) == 1:
                    raise UplinkRefused("the ledger API refused a single item as too large "
                                        "(HTTP 413)") from None
                self._limit = max(1, len(chunk) // 2)
                self._log.warning("uplink_chunk_halved", chunk_size=self._limit)
                continue
            return self._record(wired, request, ack.verdicts)

    def _next_chunk(self, limit: int) -> list[tuple[Stream, StoredItem]]:
        """The next request's items: unacknowledged leaves in commit order, ending before the
        first leaf of a kind the document lists earlier than the one before it (a reading
        after a gap record...), so that the document's grouping by kind keeps commit order
        (docs/protocol.md 10.5); batch headers only when every unacknowledged leaf is in."""
        source = self._source
        batches = source.items_after("batches", source.acknowledged_through("batches"), limit)
        leaves = source.items_after("leaves", source.acknowledged_through("leaves"), limit)
        kept = _in_document_order(leaves)
        chunk: list[tuple[Stream, StoredItem]] = [("leaves", item) for item in kept]
        if len(kept) == len(leaves) < limit:
            chunk += [("batches", item) for item in batches[:limit - len(leaves)]]
        return chunk

    def _record(self, chunk: list[tuple[Stream, StoredItem, UplinkItem]],
                request: UplinkRequest, verdicts: Sequence[Verdict]) -> PushResult:
        by_id = dict(zip((item_id(item) for item in request.items), verdicts, strict=True))
        accepted = duplicates = 0
        refused: list[tuple[str, int, str, str]] = []
        for stream in ("leaves", "batches"):
            if refused:  # a refused leaf: no header is acknowledged before all its leaves are
                break
            through = None
            for name, stored, wire in chunk:
                if name != stream:
                    continue
                verdict = by_id[item_id(wire)]
                if not verdict.delivered:
                    refused.append((stream, position(stored), verdict.status.value,
                                    verdict.reason or ""))
                    break
                through = position(stored)
                accepted += verdict.status == "accepted"
                duplicates += verdict.status == "duplicate"
            if through is not None:
                self._source.acknowledge(stream, through)
        if refused:
            shown = "; ".join(f"{s} position {p}: {st} ({r})" for s, p, st, r in refused)
            self.health.on_refused(f"the ledger API refused {shown}")
            raise UplinkRefused(f"the ledger API refused {shown}", tuple(refused))
        self.health.on_delivered()
        self._log.info("uplink_delivered", sent=len(chunk), accepted=accepted,
                       duplicates=duplicates)
        return PushResult(len(chunk), accepted, duplicates)

    # -- HTTP with retries ---------------------------------------------------------------------

    async def _send(self, body: bytes, request: UplinkRequest) -> UplinkAck:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(UplinkUnavailable), wait=self._wait,
            stop=self._give_up, sleep=self._pause, reraise=True,
            before_sleep=lambda state: self._log.warning(
                "uplink_retry", attempt=state.attempt_number,
                error=str(state.outcome.exception()) if state.outcome else None))
        async for attempt in retrying:
            with attempt:
                return await self._post(body, request)
        raise AssertionError("unreachable: tenacity reraises the last failure")

    async def _post(self, body: bytes, request: UplinkRequest) -> UplinkAck:
        """One attempt, counted in the metrics by outcome."""
        try:
            ack = await self._attempt(body, request)
        except _TooLarge:
            self._count("too_large")
            raise
        except UplinkRefused as exc:
            self._count("refused")
            self.health.on_refused(str(exc))
            raise
        except UplinkUnavailable as exc:
            self._count("unavailable")
            if exc.refusal:
                self.health.on_refused(str(exc))
            else:
                self.health.on_unavailable(str(exc))
            raise
        self._count("acknowledged")
        if self._metrics is not None:
            self._metrics.verdicts([v.status for v in ack.verdicts])
        return ack

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.request(outcome)

    async def _attempt(self, body: bytes, request: UplinkRequest) -> UplinkAck:
        """One attempt: the decoded acknowledgement of a 200, else the typed failure."""
        url = self.settings.endpoint
        try:
            async with self._http.stream("POST", url, content=body) as response:
                raw = await _read_bounded(response, LIMITS.ack_bytes)
        except (httpx.TransportError, ssl.SSLError, OSError) as exc:
            # With TLS 1.3 the server checks the client certificate after the client's side of
            # the handshake: its alert can surface while the response is read, as a bare
            # ssl.SSLError that httpx does not wrap, or be lost behind a reset (.tls_probe).
            detail = f"{url}: {type(exc).__name__}: {exc}"
            refusal = _is_tls_refusal(exc)
            if not refusal and self._tls is not None and \
                    (alert := await probe_tls_refusal(url, self._tls)) is not None:
                detail, refusal = f"{detail}; the TLS server refuses the device: {alert}", True
            raise UplinkUnavailable(detail, refusal=refusal) from None
        status = response.status_code
        if status == 200:
            try:
                return decode_ack(raw, response.headers.get("content-encoding"), request)
            except FormatError as exc:  # the server's bug, or a proxy's: send again later
                raise UplinkUnavailable(f"the acknowledgement does not decode: {exc}",
                                        refusal=True) from None
        if status == 413:
            raise _TooLarge
        excerpt = raw[:200].decode("utf-8", "replace")
        if status in _RETRYABLE or status >= 500:
            raise UplinkUnavailable(f"{url}: HTTP {status}: {excerpt}",
                                    _retry_after(response.headers.get("retry-after")))
        raise UplinkRefused(f"{url}: HTTP {status}: {excerpt}")

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = error.retry_after if isinstance(error, UplinkUnavailable) else None
        return backoff_seconds(state.attempt_number, self.settings, retry_after)

    def _give_up(self, state: RetryCallState) -> bool:
        attempts = self.settings.max_attempts
        return self._stopping.is_set() or 0 < attempts <= state.attempt_number

    async def _pause(self, seconds: float) -> None:
        """Sleep, ending early when :meth:`stop` is called."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


def backoff_seconds(attempt: int, settings: UplinkSettings, retry_after: int | None = None,
                    uniform: Callable[[float, float], float] = random.uniform) -> float:
    """The pause before retry ``attempt`` + 1 (attempts count from 1), in seconds: "full
    jitter", uniform in [0, min(backoff_max_ms, backoff_initial_ms * 2^(attempt-1))], raised
    to the server's Retry-After (seconds) but never past ``backoff_max_ms``."""
    ceiling = min(settings.backoff_max_ms,
                  settings.backoff_initial_ms * 2 ** min(max(attempt, 1) - 1, 32))
    wait = uniform(0, ceiling) / 1000
    if retry_after is not None:
        wait = max(wait, min(retry_after, settings.backoff_max_ms / 1000))
    return wait


def _is_tls_refusal(exc: BaseException) -> bool:
    """Whether a transport failure is TLS refusing (a certificate not trusted, a handshake
    alert): an ``ssl.SSLError`` anywhere in its chain of causes."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _wire_item(stored: StoredItem) -> UplinkItem:
    """What the store holds, as the uplink sends it."""
    if isinstance(stored, StoredReading):
        return stored.signed
    if isinstance(stored, StoredBatch):
        return SignedBatchHeader(stored.header, stored.signature)
    assert isinstance(stored, StoredRecord)
    return read_record(stored)


async def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    """The response body as sent (not decoded), at most ``limit`` bytes."""
    data = bytearray()
    async for part in response.aiter_raw():
        data += part
        if len(data) > limit:
            raise UplinkUnavailable(f"the response is larger than {limit} bytes", refusal=True)
    return bytes(data)


def _retry_after(value: str | None) -> int | None:
    """Retry-After in seconds (the delta form; an HTTP date is ignored)."""
    if value is not None and value.strip().isdigit() and len(value.strip()) <= 9:
        return int(value.strip())
    return None


#: The rank of each leaf kind in the request document (``mrv_core.uplink.KINDS``' order).
def _in_document_order(leaves: Sequence[StoredItem]) -> list[StoredItem]:
    """The longest prefix of ``leaves`` whose kinds never go back in the document's order."""
    kept: list[StoredItem] = []
    rank = 0
    for leaf in leaves:
        here = DOCUMENT_ORDER[leaf.kind] if isinstance(leaf, StoredRecord) else 0
        if here < rank:
            break
        rank = here
        kept.append(leaf)
    return kept
