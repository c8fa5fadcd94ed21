"""The mrv commands that talk to a chain, end to end: embedded, and a real anvil node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web3 import HTTPProvider, Web3

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
    assert out.splitlines()[-1] == (f"{len(files)} of {len(files)} file(s) VALID offline and "
                                    "against the chain")
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


def test_unreachable_node_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, out = run(["chain", "info", "--rpc", url], capsys)
    assert code == USAGE and "unreachable" in out
