"""A render context for the sample report of ``report_factories`` (shared by the render tests:
HTML, PDF, browser and CLI). Importable from any test: ``from render_support import
sample_context``."""

from __future__ import annotations

from report_factories import DEVICE_A, DEVICE_B, sample_report

from accounting_rules.reports.render_context import (
    AnchorRef,
    AttestationRef,
    RenderContext,
    TxRef,
    VerifyHints,
)
from accounting_rules.reports.statement import AttestationStatement, Verdict, statement_hash
from accounting_rules.reports.struct import report_hash
from mrv_core.hashing import keccak256

__all__ = ["ANCHOR_TX", "REGULATOR", "REPORT_HASH", "STATEMENT", "sample_context"]

#: The report hash of ``sample_report()`` (its EIP-712 struct hash).
REPORT_HASH = report_hash(sample_report())
ANCHOR_TX = keccak256(b"anchor of device A batch 12")
REGULATOR = bytes.fromhex("15d34aaf54267db7d7c367839aaf71a00a2c6a65")


#: The sample's regulator statement: Qualified, two reasons, a bilingual comment.
STATEMENT = AttestationStatement(REPORT_HASH, REGULATOR, Verdict.QUALIFIED,
                                 ("DATA_GAP", "IMPROVEMENT_RECOMMENDED"),
                                 "核查无误 / gaps bridged as reported", 1_793_600_000)


def _attested(statement: AttestationStatement, tx: TxRef | None) -> AttestationRef:
    """The registry's record of ``statement`` (attested a minute after it was written)."""
    return AttestationRef(statement.regulator, statement.verdict, statement.created_at + 60,
                          statement_hash(statement), statement, tx)


def sample_context() -> RenderContext:
    """Submitted, attested (Qualified), two of the sample's three batches with anchors, and the
    verify command's names (a bundle path with a space and Chinese characters)."""
    return RenderContext(
        submission=TxRef(keccak256(b"submission"), 1_234),
        superseded_by=None,
        attestations=(_attested(STATEMENT, TxRef(keccak256(b"attest"), 1_300)),),
        anchors=(AnchorRef(DEVICE_A, 12, TxRef(ANCHOR_TX, 345)),
                 AnchorRef(DEVICE_B, 3, TxRef(keccak256(b"anchor b3"), 346))),
        verify=VerifyHints("out/报告 bundle.json", "http://127.0.0.1:8545",
                           "out/deployment.json"),
    )
