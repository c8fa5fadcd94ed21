"""``mrv accounting`` end to end: list, show and compute offline; publish and compute against a
real anvil node, where the contract in force must agree with the calculator to the gram."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from web3 import HTTPProvider, Web3
from web3.logs import DISCARD

from accounting_rules import latest_version, load_methodology, methodologies
from accounting_rules.onchain import constructor_args
from accounting_rules.publishing import assign_id, publish
from factories import beijing
from mrv_cli.main import main
from mrv_core.chain import Deployment, NodeSigner, System, Transactor, connect, load_artifacts
from mrv_core.keys import PASSWORD_ENV

OK, FAILED, USAGE = 0, 1, 2
MACHINERY_JUNE_2023 = ["--methodology", "cn.machinery", "--period", "2023-06",
                       "--activity", "electricity.grid=120MWh",
                       "--activity", "fuel.natural_gas=10000Nm3"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def report(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any],
                                                                          str]:
    """Run ``mrv accounting compute``; its JSON report and its standard error."""
    code = main(["accounting", "compute", *argv])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def grams(result: dict[str, Any]) -> list[int]:
    return [int(line["grams"]) for line in result["activities"]]


# -- offline --------------------------------------------------------------------------------------

def test_list_names_every_shipped_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["accounting", "list"], capsys)
    assert code == OK
    rows = out.splitlines()[1:]
    assert [tuple(row.split()[:2]) for row in rows] == [(i, str(v)) for i, v in methodologies()]


def test_show_prints_every_factor_with_its_source(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["accounting", "show", "cn.combustion.stationary"], capsys)
    assert code == OK
    m = load_methodology("cn.combustion.stationary")
    assert f"spec hash  0x{m.spec_hash.hex()}" in out
    for row in m.factors:
        assert row.key in out and f"source: {row.citation.text()}" in out
    code, out = run(["accounting", "show", "ipcc.fugitive", "--version", "1"], capsys)
    assert code == OK and "ipcc.fugitive v1" in out and "AR5" in out
    code, out = run(["accounting", "show", "cn.nothing"], capsys)
    assert code == USAGE and "cn.nothing" in out


def test_compute_offline_known_answer(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc, _ = report(MACHINERY_JUNE_2023, capsys)
    assert code == OK  # offline, without --version: the latest version
    assert (doc["methodology"], doc["version"]) == ("cn.machinery", latest_version("cn.machinery"))
    assert grams(doc["python"]) == [63_672_000, 21_621_888]
    assert (doc["python"]["scope1"], doc["python"]["scope2"]) == ("21621888", "63672000")
    assert doc["python"]["total"] == "85293888"
    assert "contract" not in doc and "agree" not in doc


@pytest.mark.parametrize(("argv", "message"), [
    (["--activity", "electricity.grid"], "SOURCE=AMOUNT"),
    (["--activity", "electricity.grid=12 parsecs"], "electricity.grid"),
    (["--activity", "fuel.plutonium=1t"], "fuel.plutonium"),
    (["--activity", "electricity.grid=-5MWh"], "electricity.grid"),
    (["--activity", "electricity.grid=5MWh@0x12"], "evidence"),
])
def test_bad_activity_is_a_usage_error(argv: list[str], message: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["accounting", "compute", "--methodology", "cn.machinery",
                     "--period", "2023-06", *argv], capsys)
    assert code == USAGE and message in out


def test_computing_outside_every_factor_period_is_an_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, doc, err = report(["--methodology", "cn.electricity.location", "--period", "2019",
                             "--activity", "electricity.grid=1MWh"], capsys)
    assert code == USAGE
    assert doc["python"]["error"] == "NoFactorForPeriod" and "NoFactorForPeriod" not in err
    assert "no factor" in err.lower()


def test_at_needs_a_chain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["accounting", "compute", *MACHINERY_JUNE_2023, "--at", "2024-01-01"], capsys)
    assert code == USAGE and "--at" in out and "--rpc" in out


@pytest.mark.parametrize(("period", "message"), [
    ("2026-10/2026-09", "is reversed: START 2026-10 is after END 2026-09"),
    ("2023-06-15/2023-06-01", "is reversed"),
    ("2023-06/2023-06", "is empty"),
    ("2026-13", "no month 13"),
    ("2026-00", "no month 00"),
    ("0000", "year 0000 is out of range"),
    ("9999", "year 9999 is out of range"),
    ("1969-12-31", "before 1970-01-01"),
])
def test_a_bad_period_says_what_is_wrong(period: str, message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["accounting", "compute", "--methodology", "cn.machinery", "--period", period,
                     "--activity", "electricity.grid=1MWh"], capsys)
    assert code == USAGE and message in out and "Traceback" not in out
    assert out.count("\n") == 1  # one line


def test_a_month_range_is_a_period(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc, _ = report(["--methodology", "cn.machinery", "--period", "2023-06/2023-08",
                           "--activity", "electricity.grid=1MWh"], capsys)
    assert code == OK
    assert doc["period"] == {"start": beijing(2023, 6), "end": beijing(2023, 8)}


# -- on anvil -------------------------------------------------------------------------------------

@pytest.fixture
def deployed(anvil_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """A fresh system on the session's anvil node; the chain options that point at it."""
    deployment = tmp_path / "deployment.json"
    code, out = run(["chain", "deploy", "--rpc", anvil_url, "--out", str(deployment)], capsys)
    assert code == OK, out
    return ["--rpc", anvil_url, "--deployment", str(deployment)]


def association_key(anvil_url: str, path: Path, capsys: pytest.CaptureFixture[str],
                    monkeypatch: pytest.MonkeyPatch) -> str:
    """A funded keystore account (no role yet); its address."""
    monkeypatch.setenv(PASSWORD_ENV, "test-password")
    code, out = run(["keys", "new", "--light-kdf", "--out", str(path)], capsys)
    assert code == OK
    address = out.split()[1]
    w3 = Web3(HTTPProvider(anvil_url))
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": address, "value": 10**21}))
    return address


def test_compute_before_any_version_is_published_says_to_publish_first(
        deployed: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["accounting", "compute", *MACHINERY_JUNE_2023, *deployed], capsys)
    assert code == USAGE and "Traceback" not in out
    assert "no version of cn.machinery is in force" in out
    assert "mrv accounting publish cn.machinery" in out
    assert "MethodologyRegistryNoVersionInForce" not in out


def test_publish_then_compute_both_ways(anvil_url: str, deployed: list[str], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "association.json"
    address = association_key(anvil_url, key, capsys, monkeypatch)
    publish_machinery = ["accounting", "publish", "cn.machinery", "--version", "1",
                         "--effective-from", "2021-01-01", "--key", str(key), *deployed]

    code, out = run(publish_machinery, capsys)
    assert code == USAGE and "lacks ASSOCIATION_ROLE" in out and "mrv chain grant" in out
    assign = ["accounting", "assign", "cn.machinery", address, *deployed]
    code, out = run(assign, capsys)  # the admin (the node's first account) assigns ids
    assert code == USAGE and "lacks ASSOCIATION_ROLE" in out
    code, out = run(["chain", "grant", "association", address, *deployed], capsys)
    assert code == OK, out
    code, out = run(publish_machinery, capsys)  # an association, but the id is not its own
    assert code == USAGE and "assigned to no association" in out
    assert f"mrv accounting assign cn.machinery {address}" in out
    code, out = run([*assign, "--key", str(key)], capsys)  # only the admin assigns
    assert code == USAGE and "MethodologyRegistryMissingRole" in out
    for methodology_id in ("cn.machinery", "ipcc.fugitive"):
        code, out = run(["accounting", "assign", methodology_id, address, *deployed], capsys)
        assert code == OK and f"assigned   {methodology_id} to {address}" in out, out
    code, out = run(publish_machinery, capsys)
    assert code == OK, out
    assert "published  cn.machinery v1 at 0x" in out
    # 39 factor rows: sources and the first rows fill EIP-3860's initcode, the rest follow.
    assert "gas        deploy" in out and "in 3 transaction(s)" in out
    assert "code hash  0x" in out and "(pinned by the registry)" in out

    code, doc, err = report([*MACHINERY_JUNE_2023, *deployed], capsys)
    assert code == OK, err
    assert doc["agree"] is True and doc["contract"]["specHashMatches"] is True
    assert doc["contract"]["result"] == doc["python"]
    assert grams(doc["contract"]["result"]) == [63_672_000, 21_621_888]
    assert doc["contract"]["effectiveFrom"] == beijing(2021)

    # --at: the version in force at another time; before the first one there is none.
    code, doc, _ = report([*MACHINERY_JUNE_2023, "--at", "2026-01-01", *deployed], capsys)
    assert code == OK and doc["version"] == 1
    code, out = run(["accounting", "compute", *MACHINERY_JUNE_2023, "--at", "2020-12-31",
                     *deployed], capsys)
    assert code == USAGE and "no version of cn.machinery is in force at 2020-12-31" in out
    assert "the first published one takes effect at 2021-01-01" in out
    # --version N: that registered version, or a clear error.
    code, doc, _ = report([*MACHINERY_JUNE_2023, "--version", "1", *deployed], capsys)
    assert code == OK and doc["agree"] is True
    code, out = run(["accounting", "compute", *MACHINERY_JUNE_2023, "--version", "2",
                     *deployed], capsys)
    assert code == USAGE and "not published on this chain" in out

    # Versions: a later one in the past is refused; in the future, it is registered.
    ar = ["accounting", "publish", "ipcc.fugitive", "--key", str(key), *deployed]
    assert run([*ar, "--version", "1", "--effective-from", "2000-01-01"], capsys)[0] == OK
    code, out = run([*ar, "--version", "2", "--effective-from", "2024-01-01"], capsys)
    assert code == USAGE and "MethodologyRegistryEffectiveTimeInPast" in out
    code, out = run([*ar, "--version", "2", "--effective-from", "9999-12-31T23:59:59-12:00"],
                    capsys)  # past the bound: it would freeze the id for ever
    assert code == USAGE and "Traceback" not in out and len(out.splitlines()) == 1
    assert "more than the 315,360,000 s (10 years) allowed" in out and "nothing was sent" in out
    code, out = run([*ar, "--version", "2", "--effective-from", "2030-01-01"], capsys)
    assert code == OK and "ipcc.fugitive v2" in out
    assert out.startswith("created    ipcc.fugitive v2 at 0x")  # as soon as create is mined

    # The audit: every published version equals its data file.
    code, out = run(["accounting", "audit", *deployed], capsys)
    assert code == OK, out
    assert out.count("\nOK ") + out.startswith("OK ") == 3
    assert "ipcc.fugitive v2 at 0x" in out and "in force from 2030-01-01" in out
    assert "3 of 3 published version(s) equal their data files" in out
    assert out.count("code hash  pinned 0x") == 3 and out.count("live   0x") == 3
    code, out = run(["accounting", "audit", "cn.heat.purchased", *deployed], capsys)
    assert code == USAGE and "no version of cn.heat.purchased is published" in out


def test_a_contract_that_computes_otherwise_is_caught(
        anvil_url: str, deployed: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A publisher registers a contract that claims cn.heat.purchased v1's spec hash but carries
    a different factor: compute against the chain exits 1 and says the two differ."""
    chain = connect(anvil_url, evm_version=load_artifacts().evm_version())
    system = System(chain, Deployment.read(Path(deployed[3])))
    admin = Transactor(chain, NodeSigner(chain.unlocked_accounts()[0]))
    system.grant_role(admin, "ASSOCIATION_ROLE", admin.address)
    assign_id(system, admin, "cn.heat.purchased", admin.address)
    honest = load_methodology("cn.heat.purchased", 1)
    rows = tuple(dataclasses.replace(row, value=row.value + 1) for row in honest.factors)
    publish(system, admin, dataclasses.replace(honest, factors=rows), beijing(2000))

    code = main(["accounting", "compute", "--methodology", "cn.heat.purchased",
                 "--period", "2023-06", "--activity", "heat.purchased=500GJ", *deployed])
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert code == FAILED and "DIFFER" in captured.err
    assert doc["agree"] is False and doc["contract"]["specHashMatches"] is True
    assert grams(doc["python"]) == [55_000_000]  # 500 GJ x 0.11 t/GJ
    assert grams(doc["contract"]["result"]) == [55_000_500]

    code, out = run(["accounting", "audit", "cn.heat.purchased", *deployed], capsys)
    assert code == FAILED
    assert out.startswith("DIFFERS cn.heat.purchased v1 at 0x")
    assert "factor heat.purchased.EF: EF 110001 gCO2/GJ" in out
    assert "0 of 1 published version(s) equal their data files" in out


def test_a_version_in_force_after_year_9999_is_shown_in_unix_seconds(
        anvil_url: str, deployed: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """The registry takes any uint64 effective time (mrv accounting publish refuses one more
    than 10 years ahead, the contract does not): audit and compute show it as Unix seconds in one
    line, with no traceback."""
    chain = connect(anvil_url, evm_version=load_artifacts().evm_version())
    system = System(chain, Deployment.read(Path(deployed[3])))
    admin = Transactor(chain, NodeSigner(chain.unlocked_accounts()[0]))
    system.grant_role(admin, "ASSOCIATION_ROLE", admin.address)
    assign_id(system, admin, "cn.heat.purchased", admin.address)
    identity, version, spec_hash, specs, rows = constructor_args(
        load_methodology("cn.heat.purchased", 1))
    factory = system.at("MethodologyFactory", system.methodologies.functions.factory().call())
    sent = admin.send(factory.functions.create(identity, version, spec_hash, specs, rows, False),
                      description="create")
    (created,) = factory.events.MethodologyCreated().process_receipt(sent.receipt, errors=DISCARD)
    last = 2**64 - 1
    admin.send(system.methodologies.functions.publish(identity, created.args.methodology, last),
               description="publish")

    code, out = run(["accounting", "audit", "cn.heat.purchased", *deployed], capsys)
    assert code == OK and "Traceback" not in out, out
    assert f"in force from Unix time {last} (after year 9999)" in out.splitlines()[0]
    code, out = run(["accounting", "compute", "--methodology", "cn.heat.purchased",
                     "--period", "2023-06", "--activity", "heat.purchased=500GJ", *deployed],
                    capsys)
    assert code == USAGE and "Traceback" not in out and len(out.splitlines()) == 1
    assert f"the first published one takes effect at Unix time {last} (after year 9999)" in out


def test_audit_shows_pinned_and_live_code_hashes_and_fails_on_changed_code(
        anvil_url: str, deployed: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    chain = connect(anvil_url, evm_version=load_artifacts().evm_version())
    system = System(chain, Deployment.read(Path(deployed[3])))
    admin = Transactor(chain, NodeSigner(chain.unlocked_accounts()[0]))
    system.grant_role(admin, "ASSOCIATION_ROLE", admin.address)
    for methodology_id in ("cn.heat.purchased", "ipcc.fugitive"):
        assign_id(system, admin, methodology_id, admin.address)
    heat = publish(system, admin, load_methodology("cn.heat.purchased", 1), beijing(2000))
    other = publish(system, admin, load_methodology("ipcc.fugitive", 1), beijing(2000))
    code, out = run(["accounting", "audit", "cn.heat.purchased", *deployed], capsys)
    pinned = "0x" + heat.code_hash.hex()
    assert code == OK, out
    assert f"code hash  pinned {pinned}\n                   live   {pinned}" in out
    replacement = chain.w3.eth.get_code(Web3.to_checksum_address(other.address))
    chain.w3.provider.make_request("anvil_setCode",  # type: ignore[arg-type]
                                   [heat.address, "0x" + bytes(replacement).hex()])
    code, out = run(["accounting", "audit", "cn.heat.purchased", *deployed], capsys)
    live = "0x" + other.code_hash.hex()
    assert code == FAILED
    assert out.startswith("DIFFERS cn.heat.purchased v1 at 0x")
    assert f"code hash  pinned {pinned}\n                   live   {live}" in out
    assert "pinned at publication: the contract changed" in out
    code, out = run(["accounting", "compute", "--methodology", "cn.heat.purchased",
                     "--period", "2023-06", "--activity", "heat.purchased=500GJ", *deployed],
                    capsys)
    assert code == USAGE and "MethodologyRegistryCodeChanged" in out


def test_audit_needs_a_chain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["accounting", "audit"], capsys)
    assert code == USAGE and "--rpc" in out


def test_a_key_that_is_no_keystore_is_named_before_any_password(
        deployed: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)  # the old code asked for one first
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"not": "a key"}')
    code, out = run(["accounting", "assign", "cn.machinery", "0x" + "11" * 20, *deployed,
                     "--key", str(garbage)], capsys)
    assert (code, out.strip()) == (USAGE, f"mrv: error: {garbage}: not a keystore v3 file")
