"""The mrv commands that talk to a chain, end to end: embedded, and a real anvil node."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from web3 import HTTPProvider, Web3

from accounting_rules import methodologies
from factories import fifo
from mrv_cli.main import main
from mrv_core.keys import PASSWORD_ENV

from ..conftest import free_port

OK, FAILED, USAGE = 0, 1, 2


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "test-password")


def new_key(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code, out = run(["keys", "new", "--light-kdf", "--out", str(path)], capsys)
    assert code == OK
    return out.split()[1]


def test_embedded_deploy_is_a_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["chain", "deploy"], capsys)
    assert code == OK and "dry run" in out and "gas        Consortium:" in out
    code, out = run(["chain", "deploy", "--out", str(tmp_path / "d.json")], capsys)
    assert code == USAGE and "would point at nothing" in out
    assert not (tmp_path / "d.json").exists()


def test_deploy_refuses_an_existing_out_file_before_sending_anything(
        anvil_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deployment = tmp_path / "deployment.json"
    assert run(["chain", "deploy", "--rpc", anvil_url, "--out", str(deployment)], capsys)[0] == OK
    before, head = deployment.read_bytes(), Web3(HTTPProvider(anvil_url)).eth.block_number
    code, out = run(["chain", "deploy", "--rpc", anvil_url, "--out", str(deployment)], capsys)
    assert code == USAGE
    assert out.strip().splitlines() == [
        f"mrv: error: {deployment} exists; refusing to overwrite it (it records a deployment "
        "that stores and configurations may be bound to): give another --out"]
    assert deployment.read_bytes() == before
    assert Web3(HTTPProvider(anvil_url)).eth.block_number == head


def test_deploy_sample_anchor_and_verify_on_anvil(anvil_url: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    deployment = tmp_path / "deployment.json"
    chain = ["--rpc", anvil_url, "--deployment", str(deployment)]
    code, out = run(["chain", "deploy", "--rpc", anvil_url, "--out", str(deployment)], capsys)
    assert code == OK and deployment.is_file()
    code, out = run(["chain", "info", *chain], capsys)
    assert code == OK and "artifacts  match the local build" in out
    assert "DEFAULT_ADMIN_ROLE" in out

    device_key = tmp_path / "device.json"
    device = new_key(device_key, capsys)
    for batch_seq, count in ((0, 6), (1, 3)):
        code, out = run(["bundle", "sample", "--count", str(count), "--key", str(device_key),
                         "--out", str(tmp_path / f"b{batch_seq}"), *chain], capsys)
        assert code == OK, out
        assert f"batch      #{batch_seq}: {count} readings" in out and "anchored on chainId" in out
        assert '"sample": true marks the offline SAMPLE domain (chainId 0) only' in out
    files = sorted(map(str, (tmp_path / "b0").iterdir())) + sorted(
        map(str, (tmp_path / "b1").iterdir()))
    code, out = run(["bundle", "verify", *files, *chain], capsys)
    assert code == OK, out
    assert f"{len(files)} of {len(files)} file(s) verified (offline and against the chain)" in out
    bundle = json.loads((tmp_path / "b1" / "reading-00002.json").read_text())
    assert bundle["batch"]["device"] == device and bundle["anchor"]["chainId"] == "31337"
    assert bundle["domain"]["verifyingContract"] == bundle["anchor"]["anchorRegistry"]

    # The same bundles against another deployment on the same node: the chain step refuses.
    other = tmp_path / "other.json"
    assert run(["chain", "deploy", "--rpc", anvil_url, "--out", str(other)], capsys)[0] == OK
    code, out = run(["bundle", "verify", files[0], "--rpc", anvil_url, "--deployment",
                     str(other)], capsys)
    assert code == FAILED and "step 'chain' failed" in out

    # A bundle whose header field leafCount was changed: the device's header signature catches
    # it offline. Relabelled as version 1 without that signature, offline verification can only
    # say "unsigned-header", and the chain catches it.
    doc = json.loads((tmp_path / "b0" / "reading-00001.json").read_text())
    doc["batch"]["leafCount"] = "7"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc))
    code, out = run(["bundle", "verify", str(tampered)], capsys)
    assert code == FAILED and "step 'header' failed" in out
    doc["format"] = "trustmrv-proof/1"
    del doc["batch"]["signature"]
    tampered.write_text(json.dumps(doc))
    code, out = run(["bundle", "verify", str(tampered)], capsys)
    assert code == OK and "note: unsigned-header" in out
    code, out = run(["bundle", "verify", str(tampered), *chain], capsys)
    assert code == FAILED and "step 'anchor' failed" in out
    legacy = json.loads((tmp_path / "b0" / "reading-00001.json").read_text())
    legacy["format"] = "trustmrv-proof/1"
    del legacy["batch"]["signature"]
    tampered.write_text(json.dumps(legacy))  # untouched header: the chain vouches for it
    code, out = run(["bundle", "verify", "--json", str(tampered), *chain], capsys)
    (line,) = (json.loads(text) for text in out.splitlines())
    assert code == OK and (line["headerSigned"], line["chainChecked"]) == (False, True)
    assert line["notes"] == ["unsigned-header: a version 1 document; its header was checked "
                             "against the chain's BatchAnchored event instead"]


def test_revoking_the_enterprise_role_stops_its_devices_until_reactivated(
        anvil_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The admin (anvil's first account, also the sample enterprise) revokes its own enterprise
    role: the sample device's next anchor is refused even though `bundle sample` grants the role
    again, until `mrv chain reactivate`."""
    deployment = tmp_path / "deployment.json"
    chain = ["--rpc", anvil_url, "--deployment", str(deployment)]
    assert run(["chain", "deploy", "--rpc", anvil_url, "--out", str(deployment)], capsys)[0] == OK
    admin = Web3(HTTPProvider(anvil_url)).eth.accounts[0]
    device_key = tmp_path / "device.json"
    new_key(device_key, capsys)
    sample = ["bundle", "sample", "--count", "2", "--key", str(device_key), *chain]
    assert run([*sample, "--out", str(tmp_path / "b0")], capsys)[0] == OK

    code, out = run(["chain", "revoke", "enterprise", admin, *chain], capsys)
    assert code == OK and f"revoked    ENTERPRISE_ROLE from {admin}" in out
    assert f"`mrv chain reactivate {admin}`" in out
    code, out = run(["chain", "revoke", "enterprise", admin, *chain], capsys)  # again: no-op
    assert (code, out.strip()) == (OK, f"unchanged  {admin} does not hold ENTERPRISE_ROLE; "
                                       "nothing changed, nothing sent")
    code, out = run(["chain", "reactivate", admin, *chain], capsys)  # the role first
    assert code != OK and "Traceback" not in out
    assert out.strip() == (f"mrv: error: reactivate enterprise {admin}: reverted with "
                           f"DeviceRegistryMissingRole(account={admin}, "
                           f"role=ENTERPRISE_ROLE); {admin} must hold ENTERPRISE_ROLE first: the "
                           "consortium admin grants it with "
                           f"`mrv chain grant enterprise {admin}`")
    code, out = run([*sample, "--out", str(tmp_path / "b1")], capsys)  # re-grants the role
    assert code != OK and "AnchorRegistryEnterpriseStopped" in out and "Traceback" not in out
    assert "`mrv chain reactivate ADDRESS`" in out, out
    code, out = run(["chain", "grant", "enterprise", admin, *chain], capsys)  # held already
    assert (code, out.strip()) == (OK, f"unchanged  {admin} already holds ENTERPRISE_ROLE; "
                                       "nothing changed, nothing sent")
    for action in ("grant", "revoke"):
        code, out = run(["chain", action, "regulator", "0x" + "00" * 20, *chain], capsys)
        assert (code, out.strip()) == (USAGE, "mrv: error: ADDRESS is the zero address: no "
                                              "account holds it; nothing sent")
    code, out = run(["chain", "reactivate", admin, *chain], capsys)
    assert code == OK and f"reactivated {admin}" in out
    code, out = run([*sample, "--out", str(tmp_path / "b1")], capsys)
    assert code == OK and "batch      #1: 2 readings" in out, out


def test_keystore_deployer_with_a_nonce_file(anvil_url: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    deployer_key = tmp_path / "deployer.json"
    deployer = new_key(deployer_key, capsys)
    w3 = Web3(HTTPProvider(anvil_url))
    funding = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": deployer,
                                       "value": 10**20})
    w3.eth.wait_for_transaction_receipt(funding)
    nonce_file = tmp_path / "nonce.json"
    code, out = run(["chain", "deploy", "--rpc", anvil_url, "--key", str(deployer_key),
                     "--nonce-file", str(nonce_file), "--out", str(tmp_path / "d.json")], capsys)
    assert code == OK and f"admin      {deployer}" in out
    assert json.loads(nonce_file.read_text())["nextNonce"] == "5"  # four deployments, one binding


def test_a_nonce_file_that_is_a_fifo_is_refused_without_blocking(
        anvil_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deployer_key = tmp_path / "deployer.json"
    new_key(deployer_key, capsys)
    with fifo(tmp_path / "nonce.json") as pipe:
        code, out = run(["chain", "deploy", "--rpc", anvil_url, "--key", str(deployer_key),
                         "--nonce-file", str(pipe), "--out", str(tmp_path / "d.json")], capsys)
    assert (code, out.strip()) == (USAGE, f"mrv: error: nonce file {pipe}: not a regular file "
                                          "(a FIFO)")


def test_demo_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # as a new user's shell: the venv not activated
    out_dir = tmp_path / "demo"
    (out_dir / "bundles").mkdir(parents=True)  # an earlier demo's leftovers are replaced
    (out_dir / "demo.json").write_text("{}")
    (out_dir / "bundles" / "stale.json").write_text("{}")
    argv = ["demo", "--month", "2025-02", "--interval", "720", "--out", str(out_dir)]
    code, out = run(argv, capsys)
    assert code == OK, out
    # February 2025: 28 days x 2 rounds x 4 meters; a batch, a multiproof and 8 readings a day.
    assert "224 signed readings" in out and "28 batches anchored" in out
    # Every anchor's gas, as one figure or a min-max range (the first anchor writes a cold slot).
    (gas,) = re.findall(r"28 batches anchored \(batchSeq 0\.\.27\), ([\d,-]+) gas per anchor",
                        out)
    low, _, high = gas.partition("-")
    assert int(low.replace(",", "")) <= int((high or low).replace(",", "")) <= 60_000
    # The closing line's command works in the user's shell as printed.
    (command,) = re.findall(r"re-check offline any time: `(\S+) bundle verify ", out)
    assert shutil.which(command) is not None, command
    assert "280 of 280 file(s) verified (offline" in out
    assert "56 of 56 file(s) verified (offline and against the chain)" in out
    versions = len(methodologies())
    assert f"audit: {versions} of {versions} published versions hold exactly" in out
    assert "cn.machinery v1 (in force at the month's start)" in out
    assert "AGREE to the gram" in out
    assert "step 'signature' failed" in out and "0 of 1 file(s) verified, 1 FAILED" in out
    assert "OK    280 file(s), not listed one by one" in out and "more OK\n" in out
    assert out.index("...   and") > out.index("on chain, every batch file")  # after OK lines
    assert '"sample": true marks the offline SAMPLE domain (chainId 0) only' in out
    assert '"sample": false' in json.loads((out_dir / "demo.json").read_text())["note"]
    bundles = sorted(map(str, (out_dir / "bundles").glob("day-*/*.json")))
    assert len(bundles) == 280
    documents = [json.loads(Path(b).read_text()) for b in bundles]
    assert {d["format"] for d in documents} == {"trustmrv-proof/2", "trustmrv-batch/2"}
    assert all(d["batch"]["signature"].startswith("0x") for d in documents)
    code, out = run(["bundle", "verify", str(out_dir / "bundles")], capsys)  # a directory
    assert code == OK and "280 of 280 file(s) verified" in out  # offline, chain long gone
    assert "unsigned-header" not in out
    assert not (out_dir / "bundles" / "stale.json").exists()
    (tmp_path / "precious").mkdir()
    code, out = run(["demo", "--out", str(tmp_path / "precious")], capsys)
    assert code == USAGE and "holds no earlier demo" in out
    code, out = run(["demo", "--month", "2999-01", "--out", str(tmp_path / "future")], capsys)
    assert code == USAGE and "has not ended" in out
    code, out = run(["demo", "--interval", "7", "--out", str(tmp_path / "odd")], capsys)
    assert code == USAGE and "--interval" in out


@pytest.mark.parametrize(("month", "message"), [
    ("2026-13", "no month 13"), ("2026-00", "no month 00"), ("0000-01", "year 0000"),
    ("1900-01", "year 1900"), ("2020-12", "from 2021-01 on"), ("2026-1", "YYYY-MM"),
    ("", "YYYY-MM"), ("२०२५-०१", "YYYY-MM"), ("9999-12", "year 9999"),
])
def test_demo_refuses_a_bad_month_before_any_work(month: str, message: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--month", month, "--out", str(tmp_path / "demo")])
    captured = capsys.readouterr()
    assert code == USAGE and captured.out == ""  # no step started
    assert captured.err.startswith("mrv: error: --month") and message in captured.err
    assert captured.err.count("\n") == 1


def test_unreachable_node_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, out = run(["chain", "info", "--rpc", url], capsys)
    assert code == USAGE and "unreachable" in out
