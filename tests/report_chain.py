"""A chain for the report tests: the embedded chain (py-evm, in this process) with the system
deployed, cn.machinery v1 published in force since 2021, two enterprises and one regulator
(:func:`deploy_report_chain`, about 7 s; ``tests/integration/conftest.py`` makes it once per
session as the fixture ``report_chain``), and the sample report of its enterprise
(:func:`chain_report`).

Importable from any test (``pythonpath = ["tests"]``): ``from report_chain import ...``."""

from __future__ import annotations

from dataclasses import dataclass, replace

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


def deploy_report_chain() -> ReportChain:
    """Deploy the system and its actors on a new embedded chain."""
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


def chain_report(rc: ReportChain, *, created_at: int = 1793500000, supersedes: bytes = ZERO32,
                 enterprise: Transactor | None = None, **period: int) -> ReportDocument:
    """The sample report of ``rc``'s enterprise (or ``enterprise``) under the published
    cn.machinery v1; ``period`` may replace ``start``/``end``."""
    doc = sample_report(created_at=created_at, supersedes=supersedes)
    return replace(doc, enterprise=parse_address((enterprise or rc.enterprise).address),
                   methodology=replace(doc.methodology,
                                       address=parse_address(rc.machinery.address)),
                   period=replace(doc.period, **period))
