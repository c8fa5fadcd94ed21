"""Errors of the edge node, each under the phase class of :mod:`mrv_core.errors` it belongs to.

Profiles and decoding:

- :class:`ProfileError` (a :class:`~mrv_core.errors.ConfigError`): a meter profile file is
  unusable; the message names the file, the key and the problem.
- :class:`ValueUnavailable` (a :class:`~mrv_core.errors.DecodeError`): the meter answered, but
  with its "no value" pattern, a NaN or infinity, or a negative value of an unsigned quantity.
  The edge node records such a poll as a gap of class ``not_available``, never as a reading.
- :class:`RegisterError` (a :class:`~mrv_core.errors.DecodeError`): registers that cannot be
  decoded at all (wrong count, a word outside 0..65535).
- :class:`NotRepresentable` (a :class:`~mrv_core.errors.DecodeError`): a value cannot be encoded
  exactly into a point's registers (the simulator's inverse direction).
- :class:`SimulatorError` (a :class:`~mrv_core.errors.ConfigError`): the meter simulator was
  asked for something it cannot do (unknown unit id, a fault it does not know).

Emission summaries: :class:`SummaryConfigError` (a :class:`~mrv_core.errors.ConfigError`): the
``[summaries]`` settings cannot be honoured (a source no shipped methodology covers
unambiguously, a meter with no or several cumulative points in the source's unit).

The trusted pipeline (:class:`EdgeError` and below): the store, signer, batcher, anchorer and
relayer. The CLI's one handler turns any :class:`~mrv_core.errors.MrvError` into a one-line
message. Messages name the expected and the actual value.
"""

from __future__ import annotations

from mrv_core.errors import ChainError, ConfigError, DecodeError, MrvError

__all__ = [
    "AnchorConflict",
    "ClockWentBackwards",
    "EdgeError",
    "NotRepresentable",
    "ProfileError",
    "RegisterError",
    "RelayRefused",
    "SchemaTooNew",
    "SimulatorError",
    "StoreError",
    "StoreMismatch",
    "SummaryConfigError",
    "UplinkError",
    "UplinkItemInvalid",
    "UplinkRefused",
    "UplinkUnavailable",
    "ValueUnavailable",
]


class ProfileError(ConfigError):
    """A meter profile file is malformed: ``file``, the ``key`` (a dotted path such as
    ``points[3].scale``) and the ``problem`` are named in the message."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {problem}")


class ValueUnavailable(DecodeError):
    """The registers hold the vendor's "not available" pattern, a NaN or an infinity, or a
    negative value of an unsigned quantity: there is no value to record."""


class RegisterError(DecodeError):
    """Registers that do not fit the point: wrong count, or a word outside 0..65535."""


class NotRepresentable(DecodeError):
    """A value has no exact encoding in the point's registers (out of range, or between two
    representable values)."""


class SimulatorError(ConfigError):
    """The meter simulator cannot do what was asked (unknown unit id or fault kind)."""


class EdgeError(MrvError):
    """A failure in the edge node's own pipeline (store, signer, batcher)."""


class StoreError(EdgeError):
    """The edge store cannot be opened or used as asked."""


class SchemaTooNew(StoreError, ConfigError):
    """The store was written by a newer edge node (its schema version is above this code's)."""

    def __init__(self, path: str, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(f"store {path} has schema version {found}, this edge node knows up to "
                         f"{supported}: run the newer edge node, or restore a matching backup")


class StoreMismatch(StoreError, ConfigError):
    """The store belongs to another device or signing domain than the one configured."""


class ClockWentBackwards(EdgeError, ValueError):
    """A sample's timestamp is earlier than the last one signed for its meter: refused
    (THREATS.md: the node never signs a reading whose timestamp goes backwards per meter)."""

    def __init__(self, meter_path: str, previous: int, actual: int) -> None:
        self.meter_path = meter_path
        self.previous = previous
        self.actual = actual
        super().__init__(f"meter {meter_path}: timestamp {actual} is before the last signed "
                         f"timestamp {previous}")


class AnchorConflict(ChainError):
    """The chain holds another root for one of this device's batch sequence numbers: the store
    and the chain disagree, and nothing will be sent until an operator looks."""

    def __init__(self, batch_seq: int, expected: bytes, actual: bytes) -> None:
        self.batch_seq = batch_seq
        super().__init__(f"batch {batch_seq}: the chain holds root 0x{actual.hex()}, the store "
                         f"has 0x{expected.hex()}")


class RelayRefused(ChainError):
    """The relayer refused (or, on the edge node's side, was answered a refusal for) a batch
    header: ``status`` is the HTTP status of the answer, ``reason`` its text."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"{reason} (HTTP {status})")


class UplinkError(EdgeError):
    """Delivering items to the ledger API failed."""


class UplinkUnavailable(UplinkError):
    """The ledger API could not be reached or answered a transient failure (connection refused
    or dropped, timeout, TLS handshake refused, HTTP 408/425/429/5xx, an acknowledgement that
    does not decode): the uplink retries with backoff. ``retry_after`` is the server's
    Retry-After in seconds, if it gave one. ``refusal`` is true when the failure is a refusal
    all the same (TLS refusing the server's or the device's certificate, an acknowledgement
    that does not decode or match): it is retried, and the node's ``uplink`` health check
    fails at once."""

    def __init__(self, detail: str, retry_after: int | None = None, *,
                 refusal: bool = False) -> None:
        self.retry_after = retry_after
        self.refusal = refusal
        super().__init__(detail)


class UplinkRefused(UplinkError):
    """The ledger API refused a request as a whole (HTTP 4xx other than 408/413/425/429, or 413
    for a single item) or gave an item a ``conflict``/``rejected`` verdict. The uplink
    acknowledges the delivered prefix of each stream, stops before the refused item and holds
    off; nothing after it is skipped. ``refused`` lists ``(stream, position, status, reason)``.
    """

    def __init__(self, detail: str,
                 refused: tuple[tuple[str, int, str, str], ...] = ()) -> None:
        self.refused = refused
        super().__init__(detail)


class UplinkItemInvalid(UplinkError):
    """An item in the store fails its own verification (its signature does not recover the
    device under the store's domain, its leaf hash is not the stored one, or it does not
    decode): it was changed after it was signed. ``item`` names it (device, meter and seq of a
    reading; kind, meter and leaf ordinal of a record; batchSeq of a header). The uplink never
    skips or deletes it: delivery stays stalled at it, and the ``uplink`` health check fails
    naming it."""

    def __init__(self, item: str, problem: str) -> None:
        self.item = item
        self.problem = problem
        super().__init__(f"{item} fails its own verification: {problem}")


class SummaryConfigError(ConfigError):
    """The ``[summaries]`` settings cannot be honoured: the message names the meter or emission
    source, what was expected and what was found."""
