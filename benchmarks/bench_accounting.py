"""5. Emission accounting: the Python calculator, and the same computation by the contract.

The calculator exists so that high-volume recomputation can run off chain; its figure is the
activity lines of a ``cn.machinery`` computation per second. The contract's is measured in the
same run with ``eth_call`` on the embedded chain (py-evm), where the two must return the same
result; the ratio says what running the calculator instead saves.
"""

from __future__ import annotations

from accounting_rules import Activity, activity, compute, load_methodology
from accounting_rules.publishing import assign_id, compute_on_chain, publish
from mrv_core.chain import NodeSigner, System, Transactor, connect, deploy_system, load_artifacts

from .core import Config, Row, Target, best_of, check

SECTION = "5. accounting (one core)"
#: A year of hourly lines for 1,000 meters (8.76M lines) recomputed in under a minute.
LINES_TARGET = Target(146_000)
JUNE_2023 = (1_685_548_800, 1_688_140_800)  # Beijing time
METHODOLOGY = ("cn.machinery", 1)


def _lines(count: int) -> list[Activity]:
    """Electricity (one parameter), natural gas (three) and heat (one) lines in turn."""
    kinds = [("electricity.grid", 1_000_000), ("fuel.natural_gas", 20_000),
             ("heat.purchased", 3_000_000)]
    lines = []
    for i in range(count):
        source, base = kinds[i % 3]
        lines.append(Activity(source, base + i))
    return lines


def _on_chain_system() -> tuple[System, str]:
    chain = connect(None, evm_version=load_artifacts().evm_version())
    admin_account, association_account = chain.unlocked_accounts()[:2]
    admin = Transactor(chain, NodeSigner(admin_account))
    system = System(chain, deploy_system(admin))
    association = Transactor(chain, NodeSigner(association_account))
    system.grant_role(admin, "ASSOCIATION_ROLE", association.address)
    assign_id(system, admin, METHODOLOGY[0], association.address)
    published = publish(system, association, load_methodology(*METHODOLOGY), 0)
    return system, published.address


def run(cfg: Config) -> list[Row]:
    m = load_methodology(*METHODOLOGY)
    start, end = JUNE_2023
    batch = _lines(cfg.accounting_lines)
    seconds, result = best_of(lambda: compute(m, start, end, batch), repeat=cfg.repeat)
    check(len(result.emissions) == len(batch) and result.total > 0, "calculator result")
    python_rate = len(batch) / seconds
    rows = [Row(SECTION, f"calculator, one {len(batch):,}-line cn.machinery computation",
                python_rate, "/s", LINES_TARGET, "activity lines; electricity, gas, heat in turn")]

    single = batch[:1]
    calls = cfg.accounting_calls
    seconds, _ = best_of(lambda: [compute(m, start, end, single) for _ in range(calls)],
                         repeat=cfg.repeat)
    rows.append(Row(SECTION, "calculator, one-line computations", calls / seconds, "/s",
                    note="the fixed cost of a call"))
    seconds, parsed = best_of(
        lambda: [activity(m, "fuel.natural_gas", "10000 Nm3") for _ in range(calls)],
        repeat=cfg.repeat)
    check(parsed[0].amount == 10_000_000, "10000 Nm3 is 10,000,000 dm3")
    rows.append(Row(SECTION, "activity(): '10000 Nm3' converted exactly to dm3", calls / seconds,
                    "/s"))

    system, address = _on_chain_system()
    chunk = batch[:cfg.accounting_chain_lines]
    expected = compute(m, start, end, chunk)
    seconds, on_chain = best_of(lambda: compute_on_chain(system, address, start, end, chunk),
                                repeat=max(2, cfg.repeat // 2))
    check(on_chain == expected, "the contract and the calculator differ")
    chain_rate = len(chunk) / seconds
    rows.append(Row(SECTION, f"contract via eth_call (py-evm), {len(chunk)}-line computation",
                    chain_rate, "/s", note="activity lines; same result as the calculator"))
    rows.append(Row(SECTION, "calculator vs contract on the embedded chain, lines/s",
                    python_rate / chain_rate, "x", note="same run"))
    return rows
