"""The demo's chain: the pinned anvil on 127.0.0.1 (or the node of ``--rpc``), the contracts,
the actors' keys and roles, and every shipped methodology version published and audited.

- anvil (``local_servers.anvil.ANVIL``, npm ``@foundry-rs/anvil``) runs at the contracts'
  hardfork with its genesis a day before the simulated clock starts, since block time never goes
  back (docs/edge.md, "Simulated time");
- the enterprise and the regulator act with keystore files the demo writes (light KDF, one
  password file): the enterprise key stays a file an operator's command can be given
  (``mrv report submit --key FILE``); the consortium admin and the association are the node's
  unlocked accounts 0 and 2;
- methodology versions: first versions in force from 2000, version N from ``N - 1`` days after
  the simulated period, so the period resolves to the first versions (whose factor rows cover it)
  and the later versions are still there to be resolved after it.
"""

from __future__ import annotations

from datetime import datetime

from accounting_rules import load_methodology, methodologies
from accounting_rules.publishing import assign_id, audit_registered, publish
from local_servers import free_port
from local_servers.anvil import ANVIL, AnvilUnavailable, wait_until_up
from mrv_core.chain import (
    Chain,
    Deployment,
    NodeSigner,
    System,
    Transactor,
    connect,
    deploy_system,
    load_artifacts,
)
from mrv_core.chain.transactions import KeySigner
from mrv_core.codec import format_address
from mrv_core.errors import ConfigError
from mrv_core.files import write_new_file
from mrv_core.keys import LIGHT_SCRYPT_N, DeviceKey

from ..dates import BEIJING
from .context import DemoContext, StepOutcome
from .processes import ChildProcesses

__all__ = ["FIRST_VERSIONS_FROM", "GENESIS_LEAD_S", "KEY_PASSWORD", "actor", "deploy",
           "open_system", "publish_methodologies", "start_anvil_child"]

#: The simulated clock starts this long after anvil's genesis (setup blocks fall in between).
GENESIS_LEAD_S = 86_400
#: First methodology versions are in force from 2000-01-01T00:00:00+08:00.
FIRST_VERSIONS_FROM = 946_656_000
#: The password of every keystore the demo writes (sample keys of a throw-away chain).
KEY_PASSWORD = "mrv-demo"
#: The versions the demo's period uses (``--methodologies used``): the nodes' summaries of grid
#: electricity, and the enterprise methodology of the monthly report.
USED = (("cn.electricity.location", 1), ("cn.machinery", 1))
#: Ether sent to each keystore account for its gas (anvil charges gas).
FUNDING_WEI = 10**21


def start_anvil_child(processes: ChildProcesses, genesis: int) -> str:
    """anvil in the demo's process group on a free 127.0.0.1 port (three ports tried), genesis
    at ``genesis`` (Unix s); returns its URL. Raises :class:`AnvilUnavailable`."""
    if not ANVIL.exists():
        raise AnvilUnavailable(f"anvil not found at {ANVIL}: run `make setup`")
    for attempt in range(3):
        port = free_port()
        child = processes.start(f"anvil-{attempt}", [
            str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--silent",
            "--hardfork", load_artifacts().evm_version(), "--timestamp", str(genesis),
            "--balance", "1000000"])
        url = f"http://127.0.0.1:{port}"
        if wait_until_up(url, child.process, timeout=30):
            return url
        processes.stop(child)
    raise AnvilUnavailable("anvil did not start on 127.0.0.1 (three ports tried)")


def open_system(context: DemoContext) -> System:
    """The demo's chain and deployment (after :func:`deploy`)."""
    return System(connect(context.chain_url), Deployment.read(context.deployment))


def actor(context: DemoContext, chain: Chain, role: str) -> Transactor:
    """The transactor of ``role``'s keystore (``enterprise``, ``regulator``), made and funded
    on first use."""
    path = context.keys.get(role)
    if path is None:
        path = context.out / "keys" / f"{role}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        key = DeviceKey.generate()
        key.save(path, KEY_PASSWORD, scrypt_n=LIGHT_SCRYPT_N)
        context.keys[role] = path
        funder = Transactor(chain, NodeSigner(chain.unlocked_accounts()[0]))
        funder.transfer(format_address(key.address), FUNDING_WEI)
        return Transactor(chain, KeySigner(key))
    return Transactor(chain, KeySigner(DeviceKey.load(path, KEY_PASSWORD)))


def deploy(context: DemoContext) -> StepOutcome:
    """Deploy the consortium contracts with anvil's first account as admin, write the
    deployment file, and give the enterprise, the association and the regulator their roles."""
    chain = connect(context.chain_url)
    accounts = chain.unlocked_accounts()
    if len(accounts) < 3:
        raise ConfigError(f"{context.chain_url} holds {len(accounts)} unlocked accounts; the "
                          "demo needs 3 (a development node such as anvil)")
    admin = Transactor(chain, NodeSigner(accounts[0]))
    deployment = deploy_system(admin, max_clock_skew=context.plan.max_clock_skew)
    deployment.write(context.deployment)
    system = System(chain, deployment)
    # Readable by its owner only, as the key files it opens (a fresh-clone user found it 0644).
    write_new_file(context.password_file, (KEY_PASSWORD + "\n").encode("utf-8"))
    enterprise, regulator = actor(context, chain, "enterprise"), actor(context, chain, "regulator")
    context.enterprise = bytes.fromhex(enterprise.address[2:])
    system.grant_role(admin, "ENTERPRISE_ROLE", enterprise.address)
    system.grant_role(admin, "REGULATOR_ROLE", regulator.address)
    system.grant_role(admin, "ASSOCIATION_ROLE", accounts[2])
    lines = [f"chainId {deployment.chain_id} at {context.chain_url}, admin {admin.address}, "
             f"maxClockSkew {context.plan.max_clock_skew:,} s",
             *(f"{name:<20} {format_address(address)}"
               for name, address in deployment.contracts.items()),
             f"ENTERPRISE_ROLE -> {enterprise.address} (key {context.keys['enterprise']})",
             f"REGULATOR_ROLE  -> {regulator.address} (key {context.keys['regulator']})",
             f"ASSOCIATION_ROLE -> {accounts[2]}"]
    gas = sum(deployment.gas_used.values())
    return StepOutcome(True, tuple(lines), (("deployment gas", f"{gas:,}"),))


def publish_methodologies(context: DemoContext) -> StepOutcome:
    """The admin assigns every methodology id to the association, which publishes every shipped
    version (or only :data:`USED`); a regulator then audits each registered contract against
    its data file and pinned code hash (what ``mrv accounting audit`` does)."""
    chain = connect(context.chain_url)
    system = System(chain, Deployment.read(context.deployment))
    admin = Transactor(chain, NodeSigner(chain.unlocked_accounts()[0]))
    association = Transactor(chain, NodeSigner(chain.unlocked_accounts()[2]))
    versions = list(methodologies()) if context.plan.all_methodologies else list(USED)
    ids = list(dict.fromkeys(i for i, _ in versions))
    for methodology_id in ids:
        assign_id(system, admin, methodology_id, association.address)
    lines, gas = [], 0
    for methodology_id, version in versions:
        m = load_methodology(methodology_id, version)
        effective = FIRST_VERSIONS_FROM if version == 1 \
            else context.plan.period_end + 86_400 * (version - 1)
        published = publish(system, association, m, effective)
        gas += published.deploy_gas + sum(published.load_gas)
        lines.append(f"{m.id:<26} v{m.version} from "
                     f"{datetime.fromtimestamp(effective, BEIJING).date().isoformat()} "
                     f"{published.address}")
    outcomes = audit_registered(system, dict.fromkeys(ids))
    equal = sum(problems == [] for _, problems in outcomes)
    lines += [f"DIFFERS {v.methodology_id} v{v.version}: "
              + "; ".join(problems or ["no data file for this version"])
              for v, problems in outcomes if problems != []]
    lines.append(f"audit: {equal} of {len(outcomes)} published versions hold exactly their "
                 "data files (sources, factor rows, citations, spec hash)")
    return StepOutcome(equal == len(outcomes), tuple(lines),
                       (("methodology versions", f"{len(outcomes)} published, {equal} audited"),
                        ("publishing gas", f"{gas:,}")))
