"""ledger_api: the off-chain API that stores, re-verifies and recomputes signed data.

Not built yet; see the project's issues. Nothing here pretends to work.
"""
