"""The ledger's database: exact integer column types (:mod:`ledger_api.db.types`)."""

from .types import Int256, Uint64

__all__ = ["Int256", "Uint64"]
