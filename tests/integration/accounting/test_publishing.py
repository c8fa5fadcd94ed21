"""accounting_rules.publishing on every backend (the embedded chain, anvil at paris, anvil at its
newest hardfork with EIP-7825's gas cap): every shipped version publishes within 2**24 gas per
transaction, what a published contract holds equals its data file, the registry resolves the
version in force around each effective time, a past effective time is refused, an id is
published only by the association it is assigned to, changed code fails closed, and
``compute_on_chain`` (through web3) returns the calculator's results and raises the calculator's
typed errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from integration.accounting.support import Deployed, Key, deploy_and_grant, shallow

from accounting_rules import (
    ZERO32,
    AccountingError,
    AccountingOverflow,
    Activity,
    DuplicateOverride,
    InvalidPeriod,
    MissingEvidence,
    NoFactorForPeriod,
    Result,
    UnknownSource,
    compute,
    load_methodology,
    methodologies,
)
from accounting_rules.codes import decode_code, encode_code
from accounting_rules.onchain import CONSTRUCTOR_TYPES, constructor_args, source_spec_tuple
from accounting_rules.publishing import (
    CHUNK_ROWS,
    ENGINE,
    MAX_EFFECTIVE_AHEAD,
    MAX_INITCODE_BYTES,
    MAX_TX_GAS,
    Resolved,
    audit,
    audit_registered,
    chunks,
    citations,
    compute_on_chain,
    live_code_hash,
    publish,
    registered,
    resolve,
)
from factories import EVIDENCE, beijing
from mrv_core.chain import connect, load_artifacts
from mrv_core.codec import UINT256_MAX
from mrv_core.errors import ChainError, ConfigError, ContractRevert, RefusedBeforeSending

JUNE_2023 = (beijing(2023, 6), beijing(2023, 7))
NO_VERSION = ContractRevert.named("MethodologyRegistryNoVersionInForce")
IN_PAST = ContractRevert.named("MethodologyRegistryEffectiveTimeInPast")
CODE_CHANGED = ContractRevert.named("MethodologyRegistryCodeChanged")
NOT_INCREASING = ContractRevert.named("MethodologyRegistryVersionNotIncreasing")
NOT_AFTER_PREVIOUS = ContractRevert.named("MethodologyRegistryEffectiveTimeNotAfterPrevious")
MISSING_ROLE = ContractRevert.named("MethodologyRegistryMissingRole")


@pytest.mark.parametrize("key", methodologies(), ids=lambda key: f"{key[0]}-v{key[1]}")
def test_the_contract_holds_its_data_file(deployed: Deployed, key: Key) -> None:
    """Identity, spec hash, sources and every factor row (value, period, unit) read back from the
    contract, and the citations its constructor emitted, equal the data file's."""
    m = load_methodology(*key)
    functions = deployed.system.at(ENGINE, deployed.address(key)).functions

    def view() -> dict[str, Any]:
        return {
            "id": decode_code(functions.methodologyId().call()),
            "version": functions.version().call(),
            "specHash": bytes(functions.specHash().call()),
            "sources": [decode_code(code) for code in functions.sources().call()],
            "specs": [functions.sourceSpec(encode_code(s.source)).call() for s in m.sources],
            "units": [decode_code(functions.activityUnit(encode_code(s.source)).call())
                      for s in m.sources],
            "keys": [decode_code(k) for k in functions.factorKeys().call()],
            "rows": [functions.factor(encode_code(row.key)).call() for row in m.factors],
            "citations": citations(deployed.system, deployed.address(key)),
        }

    chain = shallow(view)
    assert (chain["id"], chain["version"], chain["specHash"]) == (m.id, m.version, m.spec_hash)
    assert chain["sources"] == list(m.source_codes)
    assert [tuple(spec) for spec in chain["specs"]] == [source_spec_tuple(s) for s in m.sources]
    assert chain["units"] == [s.unit for s in m.sources]
    assert chain["keys"] == list(m.factor_keys)
    for row, (source, parameter, valid_from, valid_until, value, decimals,
              unit) in zip(m.factors, chain["rows"], strict=True):
        assert (decode_code(source), decode_code(parameter), valid_from, valid_until) == (
            row.source, row.parameter, row.valid_from, row.valid_until)
        assert (value, decimals, decode_code(unit)) == (row.value, row.decimals, row.unit)
    assert chain["citations"] == {row.key: row.citation.text() for row in m.factors}
    for row in m.factors:
        assert row.citation.publication in chain["citations"][row.key]


@pytest.mark.parametrize("key", methodologies(), ids=lambda key: f"{key[0]}-v{key[1]}")
def test_audit_finds_every_published_version_equal_to_its_data_file(deployed: Deployed,
                                                                    key: Key) -> None:
    assert shallow(lambda: audit(deployed.system, deployed.address(key),
                                 load_methodology(*key))) == []


def test_audit_names_what_differs() -> None:
    """A contract built from an altered data file but claiming the original spec hash: the audit
    names the altered row and citation; against another methodology, everything differs."""
    def run() -> tuple[list[str], list[str], list[str]]:
        chain = connect(None, evm_version=load_artifacts().evm_version())
        system, _admin, association = deploy_and_grant(chain)
        honest = load_methodology("cn.heat.purchased", 1)
        (row,) = honest.factors
        altered = dataclasses.replace(honest, factors=(dataclasses.replace(
            row, value=row.value + 1,
            citation=dataclasses.replace(row.citation, year=row.citation.year + 1)),))
        forged = publish(system, association, altered, beijing(2000))
        listed = [r.address for r in registered(system, "cn.heat.purchased")]
        assert listed == [forged.address]
        other = load_methodology("ipcc.fugitive", 1)
        return (audit(system, forged.address, honest), audit(system, forged.address, altered),
                audit(system, forged.address, other))

    against_honest, against_altered, against_other = shallow(run)
    assert against_honest == [
        "factor heat.purchased.EF: EF 110001 gCO2/GJ (decimals 0) [946656000, 18446744073709551615)"
        " on chain, EF 110000 gCO2/GJ (decimals 0) [946656000, 18446744073709551615) in the data "
        "file",
        "factor heat.purchased.EF: its citation differs"]
    assert against_altered == []  # the contract is exactly what was deployed
    assert [p.split(":")[0] for p in against_other] == [
        "methodologyId", "specHash", "sources", "factor keys"]


def in_force(deployed: Deployed, methodology_id: str, timestamp: int) -> Resolved:
    return shallow(lambda: resolve(deployed.system, methodology_id, timestamp))


def test_the_version_in_force_around_each_effective_time(deployed: Deployed) -> None:
    for (methodology_id, version), published in deployed.published.items():
        later = [p for (i, v), p in deployed.published.items()
                 if i == methodology_id and v > version]
        effective = published.effective_from
        at_start = in_force(deployed, methodology_id, effective)
        assert (at_start.version, at_start.address) == (version, published.address)
        assert at_start.effective_from == effective
        if version == 1:
            with pytest.raises(NO_VERSION):
                in_force(deployed, methodology_id, effective - 1)
        else:
            assert in_force(deployed, methodology_id, effective - 1).version == version - 1
        until = later[0].effective_from - 1 if later else 2**64 - 1
        assert in_force(deployed, methodology_id, until).version == version
    # ipcc.fugitive: AR5 (v1) for data of today, AR6 (v2) from its effective time on.
    v2 = deployed.effective(("ipcc.fugitive", 2))
    assert in_force(deployed, "ipcc.fugitive", deployed.latest_timestamp()).version == 1
    assert in_force(deployed, "ipcc.fugitive", v2).version == 2


def test_unknown_methodology_has_no_version_in_force(embedded: Deployed) -> None:
    with pytest.raises(NO_VERSION) as caught:
        in_force(embedded, "cn.unpublished", JUNE_2023[0])
    assert caught.value.args_by_name["timestamp"] == JUNE_2023[0]


def test_a_past_effective_time_is_refused_and_changes_nothing() -> None:
    def run() -> None:
        chain = connect(None, evm_version=load_artifacts().evm_version())
        system, _admin, association = deploy_and_grant(chain)
        ar5, ar6 = (load_methodology("ipcc.fugitive", v) for v in (1, 2))
        first = publish(system, association, ar5, beijing(2000))  # a first version may
        now = int(chain.w3.eth.get_block("latest")["timestamp"])
        for past in (beijing(2000), now - 86_400, now - 1):
            with pytest.raises(IN_PAST) as caught:
                publish(system, association, ar6, past)
            assert caught.value.args_by_name["effectiveFrom"] == past
        code = encode_code("ipcc.fugitive")
        assert system.methodologies.functions.versionCount(code).call() == 1
        assert resolve(system, "ipcc.fugitive", now + 10**6).address == first.address
        later = publish(system, association, ar6, now + 3_600)
        assert resolve(system, "ipcc.fugitive", now + 3_599).version == 1
        assert resolve(system, "ipcc.fugitive", now + 3_600).address == later.address

    shallow(run)


def test_a_publication_the_registry_would_refuse_sends_nothing() -> None:
    """A re-run of a published version, a later version in the past or not after the previous
    one, and an effective time more than MAX_EFFECTIVE_AHEAD ahead are refused with the
    registry's typed error (or RefusedBeforeSending) before create, chunks and seal are sent."""
    def run() -> None:
        chain = connect(None, evm_version=load_artifacts().evm_version())
        system, _admin, association = deploy_and_grant(chain)
        ar5, ar6 = (load_methodology("ipcc.fugitive", v) for v in (1, 2))
        now = int(chain.w3.eth.get_block("latest")["timestamp"])
        publish(system, association, ar5, now + 10**6)  # a first version takes effect any time

        def nonce() -> int:
            return int(chain.w3.eth.get_transaction_count(association.address))

        def latest() -> int:
            return int(chain.w3.eth.get_block("latest")["timestamp"])

        before = nonce()
        cases: list[tuple[Any, int, type[Exception], dict[str, object], str]] = [
            (ar5, now + 2 * 10**6, NOT_INCREASING,
             {"id": encode_code("ipcc.fugitive"), "previous": 1, "given": 1},
             "v1 is the latest published version, so the next must be above it, not v1"),
            (ar6, now - 1, IN_PAST, {"effectiveFrom": now - 1},
             "a later version takes effect at or after the latest block's time"),
            (ar6, now + 3_600, NOT_AFTER_PREVIOUS,
             {"previous": now + 10**6, "given": now + 3_600},
             f"v1 takes effect at {now + 10**6}, so this version must take effect after it"),
        ]
        for m, effective, error, args, why in cases:
            with pytest.raises(error) as caught:
                publish(system, association, m, effective)
            assert isinstance(caught.value, ContractRevert)
            assert {k: caught.value.args_by_name[k] for k in args} == args
            assert "refused before sending anything" in str(caught.value)
            assert why in str(caught.value)
            assert nonce() == before
        with pytest.raises(RefusedBeforeSending, match=r"more than the 315,360,000 s \(10 years\)"
                           r" allowed.*the id would be frozen; nothing was sent"):
            publish(system, association, ar6, latest() + MAX_EFFECTIVE_AHEAD + 3_600)
        assert nonce() == before
        assert system.methodologies.functions.versionCount(encode_code("ipcc.fugitive")).call() == 1
        assert publish(system, association, ar6, latest() + MAX_EFFECTIVE_AHEAD).version == 2

    shallow(run)


def test_an_association_that_lost_its_role_sends_nothing() -> None:
    def run() -> None:
        chain = connect(None, evm_version=load_artifacts().evm_version())
        system, admin, association = deploy_and_grant(chain)
        system.revoke_role(admin, "ASSOCIATION_ROLE", association.address)
        before = chain.w3.eth.get_transaction_count(association.address)
        with pytest.raises(MISSING_ROLE, match=r"refused before sending anything.*no longer holds"):
            publish(system, association, load_methodology("cn.heat.purchased", 1), beijing(2000))
        assert chain.w3.eth.get_transaction_count(association.address) == before

    shallow(run)


def test_a_failure_after_create_names_the_contract_left_on_chain() -> None:
    """The association loses its role once create is mined (a real refusal of the final
    publish): the progress lines gave the new contract's address at once, and the error names
    it and says a re-run starts over."""
    def run() -> None:
        chain = connect(None, evm_version=load_artifacts().evm_version())
        system, admin, association = deploy_and_grant(chain)
        m = load_methodology("cn.heat.purchased", 1)
        lines: list[str] = []

        def progress(line: str) -> None:
            lines.append(line)
            if line.startswith("created"):
                system.revoke_role(admin, "ASSOCIATION_ROLE", association.address)

        with pytest.raises(MISSING_ROLE) as caught:
            publish(system, association, m, beijing(2000), progress=progress)
        factory = system.at("MethodologyFactory", system.methodologies.functions.factory().call())
        (created,) = factory.events.MethodologyCreated().get_logs(from_block=0)
        address = str(created.args.methodology)
        assert created.args.creator == association.address
        assert lines == [f"created    cn.heat.purchased v1 at {address} "
                         f"(block {created.blockNumber}, chunk 1 of 1)"]
        assert str(caught.value).endswith(
            f"; cn.heat.purchased v1 is left unpublished at {address} (created, not "
            "registered); a re-run starts over with a new contract")
        assert registered(system, "cn.heat.purchased") == []

    shallow(run)


def test_an_interruption_after_create_names_the_contract_left_on_chain() -> None:
    """Ctrl-C once create is mined: the KeyboardInterrupt names the contract (mrv prints it)."""
    def run() -> None:
        chain = connect(None, evm_version=load_artifacts().evm_version())
        system, _admin, association = deploy_and_grant(chain)
        m = load_methodology("cn.machinery", 1)  # three transactions: create, a chunk, seal

        def progress(line: str) -> None:
            if line.startswith("created"):
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt) as caught:
            publish(system, association, m, beijing(2000), progress=progress)
        factory = system.at("MethodologyFactory", system.methodologies.functions.factory().call())
        (created,) = factory.events.MethodologyCreated().get_logs(from_block=0)
        assert str(caught.value) == (
            f"cn.machinery v1 is left unpublished at {created.args.methodology} (created, not "
            "registered); a re-run starts over with a new contract")
        assert registered(system, "cn.machinery") == []

    shallow(run)


# -- compute_on_chain: the production path through web3 ------------------------------------------

def both(deployed: Deployed, key: Key, period: tuple[int, int],
         lines: list[Activity]) -> tuple[Result | AccountingError, Result | AccountingError]:
    m = load_methodology(*key)

    def attempt(run: Callable[[], Result]) -> Result | AccountingError:
        try:
            return run()
        except AccountingError as exc:
            return exc

    python = attempt(lambda: compute(m, *period, lines))
    contract = attempt(lambda: shallow(
        lambda: compute_on_chain(deployed.system, deployed.address(key), *period, lines)))
    return python, contract


def test_known_answers_through_web3(deployed: Deployed) -> None:
    gas = [Activity("fuel.natural_gas", 10_000_000)]  # 10,000 Nm3 in dm3
    python, contract = both(deployed, ("cn.combustion.stationary", 1), JUNE_2023, gas)
    assert isinstance(contract, Result) and contract == python
    assert (contract.scope1, contract.scope2) == (21_621_888, 0)
    machinery = [Activity("electricity.grid", 120 * 10**6),  # 120 MWh in Wh
                 Activity("fuel.natural_gas", 10_000_000)]
    python, contract = both(deployed, ("cn.machinery", 1), JUNE_2023, machinery)
    assert contract == python
    assert isinstance(contract, Result)
    assert [e.grams for e in contract.emissions] == [63_672_000, 21_621_888]


# One input per typed error: (methodology, period, lines, expected class).
FAILURES: list[tuple[Key, tuple[int, int], list[Activity], type[AccountingError]]] = [
    (("cn.heat.purchased", 1), (JUNE_2023[1], JUNE_2023[0]), [], InvalidPeriod),
    (("cn.heat.purchased", 1), JUNE_2023, [Activity("electricity.grid", 1)], UnknownSource),
    (("cn.electricity.location", 1), (beijing(2019), beijing(2019, 2)),
     [Activity("electricity.grid", 1)], NoFactorForPeriod),
    (("cn.electricity.market", 1), JUNE_2023,
     [Activity("electricity.grid", 5), Activity("electricity.gec", 1, ZERO32)], MissingEvidence),
    (("cn.heat.purchased", 1), JUNE_2023,
     [Activity("heat.purchased#EF", 1, EVIDENCE), Activity("heat.purchased#EF", 2, EVIDENCE)],
     DuplicateOverride),
    (("ipcc.fugitive", 1), JUNE_2023, [Activity("gas.sf6", UINT256_MAX)], AccountingOverflow),
]


@pytest.mark.parametrize(("key", "period", "lines", "expected"), FAILURES,
                         ids=[f[3].__name__ for f in FAILURES])
def test_reverts_come_back_as_the_calculators_errors(
        deployed: Deployed, key: Key, period: tuple[int, int], lines: list[Activity],
        expected: type[AccountingError]) -> None:
    python, contract = both(deployed, key, period, lines)
    assert type(python) is expected, python
    assert type(contract) is expected, contract
    assert isinstance(python, AccountingError) and isinstance(contract, AccountingError)
    assert contract.contract_args() == python.contract_args()


def test_an_address_without_a_published_methodology_is_a_chain_error(
        embedded: Deployed) -> None:
    """compute_on_chain computes only with a published version: an account, another contract
    and an unpublished FactorMethodology are all refused by the registry."""
    system = embedded.system
    unpublished = publish_free(embedded)
    for address in (embedded.association.address, system.methodologies.address, unpublished):
        with pytest.raises(ContractRevert.named("MethodologyRegistryNotPublished")) as caught:
            shallow(lambda: compute_on_chain(system, address, *JUNE_2023, []))  # noqa: B023
        assert isinstance(caught.value, ChainError)
        assert not isinstance(caught.value, AccountingError)


def publish_free(deployed: Deployed) -> str:
    """A FactorMethodology deployed directly (never published): its address."""
    m = load_methodology("cn.heat.purchased", 1)
    contract, _ = shallow(lambda: deployed.association.deploy(
        ENGINE, *constructor_args(m)))
    return str(contract.address)


def test_every_publishing_transaction_fits_eip_7825(
        deployed: Deployed, record_property: Callable[..., None]) -> None:
    """Every transaction that publishes a shipped version (create with the first rows, each
    further chunk, seal, register) uses at most 2**24 gas (EIP-7825; the node under
    ``anvil-latest`` refuses more), and every version's creating initcode fits EIP-3860. On the
    old one-transaction deployment cn.electricity.location v2 took 22.98 M gas and its initcode
    exceeded 49,152 bytes. The figures are printed at the end of the run."""
    creation = len(deployed.system.artifacts.bytecode(ENGINE))
    for (methodology_id, version), published in deployed.published.items():
        record_property("figure", (f"TrustMRV methodology publishing gas ({deployed.backend})",
                                   f"{methodology_id} v{version}",
                                   "transactions " + " + ".join(f"{g:,}"
                                                                for g in published.load_gas)
                                   + f", register {published.publish_gas:,}"))
        assert max(*published.load_gas, published.publish_gas) <= MAX_TX_GAS, published
        assert sum(published.load_gas) == published.deploy_gas
        m = load_methodology(methodology_id, version)
        parts = chunks(constructor_args(m), creation)
        assert len(published.load_gas) == len(parts) + (len(parts) > 1)  # + seal
        assert [row for part in parts for row in part] == constructor_args(m)[4]
    # The two versions that could not be published before are loaded in several transactions.
    for key in (("cn.electricity.location", 2), ("cn.machinery", 1)):
        assert len(deployed.published[key].load_gas) > 2, key


def test_chunks_respect_eip_3860() -> None:
    """The first chunk rides in the constructor: creation code plus encoded sources and rows stay
    within 49,152 bytes; a table too large for it continues in later chunks."""
    creation = len(load_artifacts().bytecode(ENGINE))
    for key in methodologies():
        m = load_methodology(*key)
        identity, version, spec_hash, specs, rows = constructor_args(m)
        first = chunks((identity, version, spec_hash, specs, rows), creation)[0]
        size = creation + len(abi_encode(CONSTRUCTOR_TYPES, (identity, version, spec_hash, specs,
                                                             first)))
        assert size <= MAX_INITCODE_BYTES, key
        if len(first) < len(rows):  # the next row would not have fitted, or the chunk is full
            more = creation + len(abi_encode(CONSTRUCTOR_TYPES, (
                identity, version, spec_hash, specs, rows[:len(first) + 1])))
            assert more > MAX_INITCODE_BYTES or len(first) == CHUNK_ROWS, key
    whole = creation + len(abi_encode(CONSTRUCTOR_TYPES, constructor_args(
        load_methodology("cn.machinery", 1))))
    assert whole > MAX_INITCODE_BYTES  # why cn.machinery v1 failed on anvil's default hardfork


# -- ids are assigned; a published version cannot change ------------------------------------------

def test_publishing_an_id_assigned_to_another_account_sends_nothing(
        embedded: Deployed) -> None:
    system, admin = embedded.system, embedded.admin
    before = embedded.chain.block_number()
    m = load_methodology("cn.heat.purchased", 1)
    with pytest.raises(ConfigError, match=r"assigned to 0x.*not to .*mrv accounting assign"):
        shallow(lambda: publish(system, admin, m, beijing(2000)))
    assert embedded.chain.block_number() == before


@pytest.mark.parametrize("node", ["anvil_paris", "anvil_latest"])
def test_changed_code_fails_closed_in_resolve_compute_and_audit(
        node: str, request: pytest.FixtureRequest) -> None:
    """anvil_setCode replaces the code at a published address with another version's code (a
    contract that changes its answer): resolution, compute_on_chain and the audit catch it."""
    deployed: Deployed = request.getfixturevalue(node)
    provider = deployed.chain.w3.provider
    snapshot = provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        key, other = ("cn.heat.purchased", 1), ("ipcc.fugitive", 1)
        address = deployed.address(key)
        pinned = live_code_hash(deployed.system, address)
        (listed,) = registered(deployed.system, key[0])
        assert listed.code_hash == pinned
        lines = [Activity("heat.purchased", 10**6)]
        assert isinstance(compute_on_chain(deployed.system, address, *JUNE_2023, lines), Result)
        replacement = deployed.chain.w3.eth.get_code(deployed.address(other))  # type: ignore[arg-type]
        response = provider.make_request(  # type: ignore[arg-type]
            "anvil_setCode", [address, "0x" + bytes(replacement).hex()])
        assert "error" not in response, response
        changed = live_code_hash(deployed.system, address)
        assert changed != pinned
        for run in (lambda: resolve(deployed.system, key[0], JUNE_2023[0]),
                    lambda: compute_on_chain(deployed.system, address, *JUNE_2023, lines)):
            with pytest.raises(CODE_CHANGED) as caught:
                run()
            assert caught.value.args_by_name == {"methodology": address, "pinned": pinned,
                                                 "actual": changed}
        ((version, problems),) = audit_registered(deployed.system, [key[0]])
        assert version.code_hash == pinned
        assert problems == [f"code hash: 0x{changed.hex()} at the address, 0x{pinned.hex()} "
                            "pinned at publication: the contract changed"]
    finally:
        provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
