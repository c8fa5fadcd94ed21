"""A proof bundle's verdict, step by step: the verifier of ``mrv bundle verify``, as a service.

:func:`bundle_verdict` parses a ``trustmrv-proof`` document (bounded, strict:
``mrv_core.bundle``), runs the offline steps (``mrv_core.verify.verify_bundle``) and, given the
API's chain, the chain steps (``mrv_core.chain.verify.verify_on_chain``). The verifier stops at
the first failure, so the verdict lists every step in order as ``passed``, the failed one as
``failed`` with its detail, and the rest as ``not_run``; without a chain the chain steps are
``not_run`` and the verdict is not valid (an unanchored proof proves nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from mrv_core.bundle import ProofBundle
from mrv_core.chain import System
from mrv_core.chain.verify import CHAIN_STEPS, verify_on_chain
from mrv_core.errors import DecodeError, FormatError, VerificationError
from mrv_core.verify import STEPS, verify_bundle

__all__ = ["ALL_STEPS", "BundleVerdict", "StepResult", "bundle_verdict"]

#: Every step, in the order they run, with what each checks.
ALL_STEPS: dict[str, str] = {**STEPS, **CHAIN_STEPS}


@dataclass(frozen=True)
class StepResult:
    """One step: ``passed``, ``failed`` (with ``detail``) or ``not_run``."""

    step: str
    description: str
    status: str
    detail: str | None = None


@dataclass(frozen=True)
class BundleVerdict:
    """``valid`` exactly when every step, chain steps included, passed."""

    valid: bool
    steps: tuple[StepResult, ...]


def bundle_verdict(document: bytes, system: System | None) -> BundleVerdict:
    """The verdict on ``document`` (the bundle's bytes). Never raises for a bad document: a
    document that does not parse fails the ``format`` step. Raises ``ChainUnavailable`` when
    the chain cannot be read (no verdict: the caller answers 503)."""
    failed: tuple[str, str] | None = None
    try:
        verified = verify_bundle(ProofBundle.loads(document))
        if system is None:
            failed = ("chain", "this ledger runs without a chain: the anchor cannot be checked")
        else:
            verify_on_chain(verified, system)
    except VerificationError as exc:
        failed = (exc.step, exc.detail)
    except (FormatError, DecodeError) as exc:
        failed = ("format", str(exc))
    results, reached = [], False
    if failed is not None and failed[0] not in ALL_STEPS:  # a step this list does not know yet
        results.append(StepResult(failed[0], "", "failed", failed[1][:2000]))
        reached = True
    for step, description in ALL_STEPS.items():
        if failed is not None and step == failed[0]:
            results.append(StepResult(step, description, "failed", failed[1][:2000]))
            reached = True
        else:
            results.append(StepResult(step, description, "not_run" if reached else "passed"))
    return BundleVerdict(valid=failed is None, steps=tuple(results))
