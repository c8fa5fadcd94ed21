"""Typed errors of the ledger API, under :class:`mrv_core.errors.MrvError`, by phase.

- :class:`ApiConfigError` (a :class:`~mrv_core.errors.ConfigError`): the service's settings or
  database cannot be used (a default secret, an unknown database URL, a schema not migrated).
- :class:`IngestRefused`: a whole uplink request is refused before any item is looked at (its
  device is unknown to the chain, its domain is another deployment's). ``status`` is the HTTP
  status it maps to and ``check`` the failed check, both carried into the problem document.
- :class:`IngestUnavailable`: the API cannot decide about a request now (the chain is
  unreachable, the database is busy): HTTP 503, the sender retries.
"""

from __future__ import annotations

from mrv_core.errors import ConfigError, MrvError

__all__ = ["ApiConfigError", "IngestRefused", "IngestUnavailable", "LedgerError"]


class LedgerError(MrvError):
    """Root of the ledger API's own errors."""


class ApiConfigError(ConfigError, LedgerError):
    """The ledger API's settings, database or migrations cannot be used as given."""


class IngestRefused(LedgerError):
    """A whole uplink request is refused: ``status`` (400, 403...), ``check`` (``domain``,
    ``device``...) and a detail naming expected and actual."""

    def __init__(self, status: int, check: str, detail: str) -> None:
        self.status = status
        self.check = check
        self.detail = detail
        super().__init__(f"{check}: {detail}")


class IngestUnavailable(LedgerError):
    """The API cannot decide about a request now; the sender should retry later."""
