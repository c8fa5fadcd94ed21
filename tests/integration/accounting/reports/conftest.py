"""A chain for the report tests: the embedded chain (py-evm, in this process) with the system
deployed, cn.machinery v1 published in force since 2021, one enterprise and one regulator; set up
once per session (about 7 s)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from integration.accounting.support import shallow
from report_factories import sample_report

from accounting_rules import load_methodology
from accounting_rules.codes import ZERO32
from accounting_rules.publishing import Published, assign_id, publish
from accounting_rules.reports import ReportDocument
from factories import beijing
from mrv_core.chain import Chain, NodeSigner, System, Transactor, connect, deploy_system
from mrv_core.codec import parse_address


@dataclass(frozen=True)
class ReportChain:
    """The deployed system and the accounts that act on it (unlocked node accounts)."""

    chain: Chain
    system: System
    admin: Transactor
    enterprise: Transactor
    regulator: Transactor
    other_enterprise: Transactor
    machinery: Published


def _deploy() -> ReportChain:
    chain = connect(None)
    accounts = chain.unlocked_accounts()
    admin, association, enterprise, regulator, other = (
        Transactor(chain, NodeSigner(account)) for account in accounts[:5])
    system = System(chain, deploy_system(admin))
    system.grant_role(admin, "ASSOCIATION_ROLE", association.address)
    system.grant_role(admin, "ENTERPRISE_ROLE", enterprise.address)
    system.grant_role(admin, "ENTERPRISE_ROLE", other.address)
    system.grant_role(admin, "REGULATOR_ROLE", regulator.address)
    assign_id(system, admin, "cn.machinery", association.address)
    machinery = publish(system, association, load_methodology("cn.machinery", 1), beijing(2021))
    return ReportChain(chain, system, admin, enterprise, regulator, other, machinery)


@pytest.fixture(scope="session")
def report_chain() -> ReportChain:
    """The session's report chain (:class:`ReportChain`)."""
    return shallow(_deploy)


def chain_report(rc: ReportChain, *, created_at: int = 1793500000, supersedes: bytes = ZERO32,
                 enterprise: Transactor | None = None, **period: int) -> ReportDocument:
    """The sample report of ``rc``'s enterprise (or ``enterprise``) under the published
    cn.machinery v1; ``period`` may replace ``start``/``end``."""
    doc = sample_report(created_at=created_at, supersedes=supersedes)
    return replace(doc, enterprise=parse_address((enterprise or rc.enterprise).address),
                   methodology=replace(doc.methodology,
                                       address=parse_address(rc.machinery.address)),
                   period=replace(doc.period, **period))
