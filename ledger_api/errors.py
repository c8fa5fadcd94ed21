"""Typed errors of the ledger API, each under the phase class of :mod:`mrv_core.errors` it
belongs to.

Configuration and requests:

- :class:`ApiConfigError` (a :class:`~mrv_core.errors.ConfigError`): the service's settings or
  database cannot be used (an unknown database URL, a schema not migrated).
- :class:`IngestRefused`: a whole uplink request is refused before any item is looked at (its
  device is unknown to the chain, its domain is another deployment's). ``status`` is the HTTP
  status it maps to and ``check`` the failed check, both carried into the problem document.

Access (``ledger_api.access``):

- :class:`AccessRefused`: a request is refused before its route runs: 401 (no key, a key that is
  malformed, unknown or revoked; check ``credentials``), 403 (a role the route does not admit,
  check ``role``; data the principal may not see, check ``scope``) or 503 (the database cannot
  be asked to check the key now, check ``unavailable``).
- :class:`PrincipalRefused` (also a ``ValueError``): a principal or grant cannot be made or
  changed as asked (an unknown id, an enterprise given to a role that has none, a grant to a
  principal that is not a regulator); ``mrv api principal`` answers it with exit 2.

Retention (``ledger_api.retention``): :class:`RetentionRefused`, a purge refused as asked: 400
``retention`` (a cutoff younger than the minimum retention), 400 ``reason`` (no reason given),
404 ``enterprise`` (an enterprise with no device in this ledger), 422 ``date`` (a cutoff that is
not a ``YYYY-MM-DD`` date); ``mrv api retention purge`` answers it with exit 2.

Storage: :class:`StorageError` and below, a value the exact integer columns refuse
(:class:`InvalidColumnValue`), one they hold but cannot decode (:class:`CorruptColumnValue`), a
database engine the ledger does not support (:class:`UnsupportedDatabase`).

Chain reads (:class:`~mrv_core.errors.ChainError` and below):

- :class:`ChainReadFailed`: a read the ledger needs from the chain failed (logs of a block range,
  a block, a view call); the message names the call, the contract or block range and the cause.
- :class:`ChainReadUnavailable` (also a :class:`~mrv_core.errors.ChainUnavailable`): the same,
  because the node stayed unreachable after the chain's retries; worth answering 503 and trying
  again later.
- :class:`DeviceEventsInconsistent`: the DeviceRegistry's events contradict the contract's own
  rules (a device registered twice, suspended while revoked, blocks going back in time): the
  events were read from the wrong contract, from the middle of its history, or are corrupt.
"""

from __future__ import annotations

from mrv_core.errors import ChainError, ChainUnavailable, ConfigError, MrvError

__all__ = ["AccessRefused", "ApiConfigError", "ApiRequestFailed", "BodyRefused",
           "ChainReadFailed",
           "ChainReadUnavailable",
           "CorruptColumnValue", "DeviceEventsInconsistent", "IngestRefused", "InvalidColumnValue",
           "LedgerError", "PrincipalRefused", "ProofUnavailable", "ReportRefused", "RequestRefused",
           "RetentionRefused", "StorageError",
           "UnsupportedDatabase"]


class LedgerError(MrvError):
    """Root of the ledger API's own errors that belong to no phase of :mod:`mrv_core.errors`."""


class ApiConfigError(ConfigError):
    """The ledger API's settings, database or migrations cannot be used as given."""


class RequestRefused(LedgerError):
    """A request the API answers with a problem document: ``status`` (the HTTP status),
    ``check`` (the failed check, ``urn:trustmrv:problem:<check>``) and a detail naming
    expected and actual."""

    def __init__(self, status: int, check: str, detail: str, *, path: str | None = None) -> None:
        self.status = status
        self.check = check
        self.detail = detail
        #: The JSON path of the offending value in the request, when there is one.
        self.path = path
        super().__init__(f"{check}: {detail}")


class IngestRefused(RequestRefused):
    """A whole uplink request is refused (400 ``domain``, 403 ``device``...)."""


class ProofUnavailable(RequestRefused):
    """A proof bundle cannot be built as asked (400 ``readings``, 404 ``reading``, 409
    ``batch``, 500 ``integrity``)."""


class BodyRefused(RequestRefused):
    """A request body that is too large (413 ``too_large``), not strict JSON (400 ``format``)
    or not the route's model (422 ``format``); ``path`` names where."""


class AccessRefused(RequestRefused):
    """A request refused by the access rules: ``status`` 401 (``check`` ``credentials``), 403
    (``role``, ``scope``, ``certificate``) or 503 (``unavailable``), with a detail naming what
    was expected and what came (never the key itself)."""


class RetentionRefused(RequestRefused):
    """A retention purge refused before anything is deleted (400 ``retention``, 400
    ``reason``, 404 ``enterprise``, 422 ``date``), the detail naming expected and actual."""


class PrincipalRefused(LedgerError, ValueError):
    """A principal or grant operation refused as asked (message: expected and actual)."""


class ChainReadFailed(ChainError):
    """Reading ``what`` from the chain failed; ``cause`` says why."""

    def __init__(self, what: str, cause: str) -> None:
        self.what = what
        self.cause = cause
        super().__init__(f"{what}: {cause}")


class ChainReadUnavailable(ChainReadFailed, ChainUnavailable):
    """Reading ``what`` failed because the node could not be reached, even after retries."""


class DeviceEventsInconsistent(ChainError):
    """A DeviceRegistry event contradicts the events before it (``event`` describes it,
    ``problem`` says what was expected instead)."""

    def __init__(self, event: str, problem: str) -> None:
        self.event = event
        self.problem = problem
        super().__init__(f"{event}: {problem}")


class StorageError(MrvError):
    """The ledger's database refused a value, or holds one it cannot decode."""


class InvalidColumnValue(StorageError, ValueError):
    """A value written to an exact integer column (``ledger_api.db.types``) is not an ``int``
    (``bool`` included) or lies outside the column's range; nothing is written."""


class CorruptColumnValue(StorageError):
    """A value read from an exact integer column is not in the column's stored encoding (a row
    written around the ORM, or a damaged file): the database's content cannot be trusted."""


class UnsupportedDatabase(StorageError, ConfigError):
    """The database engine is neither SQLite nor PostgreSQL, the two the ledger supports."""


class ApiRequestFailed(LedgerError):
    """A client's call to the ledger API failed (``mrv report ... --api``): the API could not be
    reached, or answered ``status`` with a problem document (``check``, ``detail``), or with
    something that is not what the route returns."""

    def __init__(self, what: str, problem: str, status: int | None = None) -> None:
        self.what = what
        self.problem = problem
        self.status = status
        super().__init__(f"{what}: {problem}")


class ReportRefused(RequestRefused):
    """A report, manual activity, evidence file or attestation statement refused as asked
    (``ledger_api.reports``): 400 ``evidence`` (no PDF, PNG or JPEG), 404 ``evidence``,
    ``activity``, ``report``, 409 ``withdrawn``, ``chain`` (no such attestation on chain),
    413 ``too_large``, 415 ``media_type`` (a Content-Type the bytes contradict), 422
    ``format``, ``source``, ``period``, ``methodology``, ``plan`` (a meter the devices'
    summaries name, left out of the report)."""

class PlanRefused(RequestRefused):
    """A monitoring plan that cannot be stored (422 ``plan``: a line's path, source, quantity
    or counter rule; 409 ``plan``: its enterprise level belongs to another enterprise's plan),
    with the JSON path of the offending line (``ledger_api.recompute.plan``)."""


class RecomputeRefused(RequestRefused):
    """A recompute that cannot be done as asked (400 ``period``, 404 ``plan``: nothing planned
    there, 409 ``methodology``: no checked version in force), the detail naming expected and
    actual (``ledger_api.recompute``)."""
