"""The mrv command: keys, sample bundles, verification and its exit codes."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from factories import fifo
from mrv_cli.main import main
from mrv_core import bundle
from mrv_core.keys import PASSWORD_ENV, DeviceKey

OK, FAILED, USAGE = 0, 1, 2


@pytest.fixture()
def password(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(PASSWORD_ENV, "test-password")
    return "test-password"


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "bundles"
    assert main(["bundle", "sample", "--count", "16", "--out", str(out), "--seed", "1"]) == OK
    return out


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(["--help"])
    assert excinfo.value.code == 0
    out = capsys.readouterr().out
    assert "keys" in out and "bundle" in out and "simulate" in out and "Exit codes" in out
    for group, actions in (("keys", ("new", "show")),
                           ("bundle", ("sample", "verify", "typed-data")),
                           ("simulate", ("meters",))):
        with pytest.raises(SystemExit):
            main([group, "--help"])
        text = capsys.readouterr().out
        assert all(action in text for action in actions)


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(["bundle", "frobnicate"])
    assert excinfo.value.code == USAGE


def test_keys_new_and_show(tmp_path: Path, password: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "device.json"
    code, out = run(["keys", "new", "--light-kdf", "--out", str(key_file)], capsys)
    assert code == OK and "address 0x" in out and "light KDF" in out
    address = out.split()[1]
    code, out = run(["keys", "show", str(key_file), "--check"], capsys)
    assert code == OK and address in out and "password opens the key" in out
    secret_hex = json.loads(key_file.read_text())["crypto"]["ciphertext"]
    assert secret_hex not in out
    code, out = run(["keys", "new", "--light-kdf", "--out", str(key_file)], capsys)
    assert code == USAGE and "refusing to overwrite" in out


def test_wrong_password_is_a_clear_error(tmp_path: Path, password: str,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "device.json"
    assert run(["keys", "new", "--light-kdf", "--out", str(key_file)], capsys)[0] == OK
    monkeypatch.setenv(PASSWORD_ENV, "not-it")
    code, out = run(["keys", "show", str(key_file), "--check"], capsys)
    assert code == USAGE and "wrong password" in out


def test_password_file_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    (tmp_path / "pw").write_text("from-file\n")
    key_file = tmp_path / "k.json"
    argv = ["keys", "new", "--light-kdf", "--out", str(key_file), "--password-file",
            str(tmp_path / "pw")]
    assert run(argv, capsys)[0] == OK
    monkeypatch.setenv("MRV_KEY_PASSWORD_FILE", str(tmp_path / "pw"))
    assert run(["keys", "show", str(key_file), "--check"], capsys)[0] == OK


def test_sample_with_a_key_file(tmp_path: Path, password: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "device.json"
    run(["keys", "new", "--light-kdf", "--out", str(key_file)], capsys)
    address = json.loads(key_file.read_text())["address"].lower().removeprefix("0x")
    out_dir = tmp_path / "out"
    code, out = run(["bundle", "sample", "--count", "5", "--key", str(key_file), "--out",
                     str(out_dir)], capsys)
    assert code == OK and "SAMPLE DATA" in out
    bundle = json.loads((out_dir / "reading-00004.json").read_text())
    assert bundle["batch"]["device"].lower() == "0x" + address
    assert bundle["sample"] is True and bundle["domain"]["chainId"] == "0"


def test_sample_writes_bundles_batch_and_multiproof(sample_dir: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    names = sorted(p.name for p in sample_dir.iterdir())
    assert names == ["batch-0.json", "multiproof.json",
                     *[f"reading-{i:05d}.json" for i in range(16)]]
    code, out = run(["bundle", "verify", *map(str, sorted(sample_dir.iterdir()))], capsys)
    assert code == OK and "FAIL" not in out
    assert out.splitlines()[-1] == ("18 of 18 file(s) VALID offline: chain not checked (give "
                                    "--rpc and --deployment)")


def test_sample_refuses_to_mix_with_existing_files(sample_dir: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["bundle", "sample", "--count", "2", "--out", str(sample_dir)], capsys)
    assert code == USAGE and "not an empty directory" in out


@pytest.mark.parametrize("count", ["0", "1000001"])
def test_sample_count_is_bounded(tmp_path: Path, count: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["bundle", "sample", "--count", count, "--out", str(tmp_path / "x")], capsys)
    assert code == USAGE and "--count" in out


def test_verify_missing_file_is_usage_error(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["bundle", "verify", str(tmp_path / "absent.json")], capsys)
    assert code == USAGE and "no such file" in out


def test_verify_takes_directories_recursively(sample_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (nested / "copy.json").write_bytes((sample_dir / "reading-00003.json").read_bytes())
    (nested / "notes.txt").write_text("not a document")
    code, out = run(["bundle", "verify", str(sample_dir), str(tmp_path / "a")], capsys)
    assert code == OK and "19 of 19 file(s) VALID offline: chain not checked" in out, out
    assert str(nested / "copy.json") in out and "notes.txt" not in out


def test_verify_an_empty_directory_is_a_usage_error(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    code, out = run(["bundle", "verify", str(tmp_path / "empty")], capsys)
    assert code == USAGE
    assert out.strip() == f"mrv: error: directory {tmp_path / 'empty'} holds no *.json file " \
                          "(searched recursively)"


def test_sample_writes_version_2_documents_with_a_signed_header(sample_dir: Path) -> None:
    formats = {json.loads(p.read_text())["format"] for p in sample_dir.iterdir()}
    assert formats == {"trustmrv-proof/2", "trustmrv-batch/2"}
    for path in sample_dir.iterdir():
        assert json.loads(path.read_text())["batch"]["signature"].startswith("0x")


def test_version_1_documents_verify_with_a_visible_unsigned_header_note(
        sample_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    legacy = json.loads((sample_dir / "reading-00002.json").read_text())
    legacy["format"] = "trustmrv-proof/1"
    del legacy["batch"]["signature"]
    legacy["batch"]["leafCount"] = _bump(legacy["batch"]["leafCount"])  # nothing can tell
    path = tmp_path / "legacy.json"
    path.write_text(json.dumps(legacy))
    code, out = run(["bundle", "verify", str(path), str(sample_dir / "reading-00001.json")],
                    capsys)
    assert code == OK
    assert f"OK    {path}" in out and "note: unsigned-header: a version 1 document" in out
    assert "NOTE  1 verified file(s) unsigned-header (version 1)" in out
    code, out = run(["bundle", "verify", "--json", str(path),
                     str(sample_dir / "reading-00001.json")], capsys)
    old, new = (json.loads(line) for line in out.splitlines())
    assert (old["ok"], old["headerSigned"], old["format"]) == (True, False, "trustmrv-proof/1")
    assert old["notes"] and old["notes"][0].startswith("unsigned-header")
    assert (new["headerSigned"], new["notes"], new["format"]) == (True, [], "trustmrv-proof/2")


def test_summary_never_says_more_without_lines_before_it(
        sample_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mrv_cli.flows import print_outcomes, verify_files

    outcomes = verify_files(sorted(sample_dir.iterdir()), None)
    print_outcomes(outcomes, as_json=False, chain_checked=False, max_ok_lines=0)
    out = capsys.readouterr().out
    assert "more OK" not in out and "OK    18 file(s), not listed one by one" in out
    print_outcomes(outcomes, as_json=False, chain_checked=False, max_ok_lines=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("OK    ") and lines[1].startswith("OK    ")
    assert lines[2] == "...   and 16 more OK"


def test_typed_data_prints_every_document_a_wallet_can_hash(
        sample_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from eth_account import Account
    from eth_account.messages import _hash_eip191_message, encode_typed_data

    code, out = run(["bundle", "typed-data", str(sample_dir / "multiproof.json")], capsys)
    assert code == OK
    printed = json.loads(out)
    documents = [printed["batch"], *printed["readings"]]
    assert len(printed["readings"]) == 16 and printed["format"] == "trustmrv-proof/2"
    device = json.loads((sample_dir / "batch-0.json").read_text())["batch"]["device"]
    for entry in documents:
        message = entry["typedData"]["message"]
        assert all(isinstance(v, str) for v in message.values())
        assert isinstance(entry["typedData"]["domain"]["chainId"], str)
        signable = encode_typed_data(full_message=entry["typedData"])
        assert "0x" + _hash_eip191_message(signable).hex() == entry["digest"]
        assert Account.recover_message(signable, signature=entry["signature"]) == device
    code, out = run(["bundle", "typed-data", str(sample_dir / "batch-0.json")], capsys)
    assert code == OK and json.loads(out)["readings"] == []
    code, out = run(["bundle", "typed-data", str(sample_dir / "absent.json")], capsys)
    assert code == USAGE and out.startswith("mrv: error:") and len(out.splitlines()) == 1


def test_verify_json_output(sample_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["bundle", "verify", "--json", str(sample_dir / "reading-00000.json"),
                     str(sample_dir / "batch-0.json")], capsys)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == OK and [x["ok"] for x in lines] == [True, True]
    assert lines[0]["kind"] == "bundle" and lines[1]["kind"] == "batch"


def _flip_hex(text: str, position: int = -1) -> str:
    digit = text[position]
    flipped = "0" if digit != "0" else "1"
    return text[:position] + flipped + (text[position + 1:] if position != -1 else "")


def _bump(text: str) -> str:
    return str(int(text) + 1)


# (what is tampered, how, the step that must fail). Reading 5 sits mid-batch, so a timestamp
# one second later stays inside the batch span and only its signature can catch it.
TAMPERING: list[tuple[str, Any, str]] = [
    ("value", lambda b: b["readings"][0].update(value=_bump(b["readings"][0]["value"])),
     "signature"),
    ("salt", lambda b: b["readings"][0].update(salt=_flip_hex(b["readings"][0]["salt"])),
     "signature"),
    ("timestamp", lambda b: b["readings"][0].update(timestamp=_bump(b["readings"][0]["timestamp"])),
     "signature"),
    ("seq", lambda b: b["readings"][0].update(seq=_bump(b["readings"][0]["seq"])), "signature"),
    ("quantity", lambda b: b["readings"][0].update(quantity="volume.water:dm3"), "signature"),
    ("device", lambda b: b["readings"][0].update(device=_flip_hex(b["batch"]["device"].lower())),
     "batch"),
    ("meter", lambda b: b["readings"][0].update(meter=_flip_hex(b["readings"][0]["meter"])),
     "meter"),
    ("meterPath", lambda b: b["readings"][0].update(
        meterPath=b["readings"][0]["meterPath"].replace("demo-co", "demo-co2")), "meter"),
    ("signature byte", lambda b: b["readings"][0].update(
        signature=_flip_hex(b["readings"][0]["signature"], 10)), "signature"),
    ("signature v", lambda b: b["readings"][0].update(
        signature=b["readings"][0]["signature"][:-2] + "1d"), "signature"),
    ("proof element", lambda b: b["proof"]["path"].__setitem__(
        1, _flip_hex(b["proof"]["path"][1])), "root"),
    ("root", lambda b: b["batch"].update(root=_flip_hex(b["batch"]["root"])), "header"),
    ("batchSeq", lambda b: b["batch"].update(batchSeq=_bump(b["batch"]["batchSeq"])), "header"),
    ("leafCount", lambda b: b["batch"].update(leafCount=_bump(b["batch"]["leafCount"])),
     "header"),
    ("fromTimestamp", lambda b: b["batch"].update(
        fromTimestamp=_bump(b["batch"]["fromTimestamp"])), "header"),
    ("toTimestamp", lambda b: b["batch"].update(toTimestamp=_bump(b["batch"]["toTimestamp"])),
     "header"),
    ("batch device", lambda b: b["batch"].update(device=_flip_hex(b["batch"]["device"].lower())),
     "header"),
    ("header signature", lambda b: b["batch"].update(
        signature=_flip_hex(b["batch"]["signature"], 10)), "header"),
    ("domain chainId", lambda b: b["domain"].update(chainId="1"), "format"),
    ("format", lambda b: b.update(format="trustmrv-proof/0"), "format"),
]


@pytest.mark.parametrize("name,tamper,step", TAMPERING, ids=[t[0] for t in TAMPERING])
def test_tampering_with_any_field_fails_naming_the_step(
        sample_dir: Path, tmp_path: Path, name: str, tamper: Any, step: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    bundle = json.loads((sample_dir / "reading-00005.json").read_text())
    tamper(bundle)
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(bundle))
    code, out = run(["bundle", "verify", str(sample_dir / "reading-00004.json"), str(path)],
                    capsys)
    assert code == FAILED
    assert f"FAIL  {path}: step '{step}' failed" in out
    assert out.splitlines()[-1] == ("1 of 2 file(s) VALID offline, 1 FAILED: chain not checked "
                                    "(give --rpc and --deployment)")


def test_tampering_with_a_multiproof_flag_fails(sample_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    bundle = json.loads((sample_dir / "multiproof.json").read_text())
    flags = bundle["proof"]["proofFlags"]
    assert flags == [True] * len(flags)  # all readings: nothing but queue nodes
    bundle["readings"] = bundle["readings"][1:]
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(bundle))
    code, out = run(["bundle", "verify", str(path)], capsys)
    assert code == FAILED and "step 'proof' failed" in out


def test_a_closed_output_pipe_ends_quietly() -> None:
    """`mrv ... | head`: the reader goes away before mrv writes; no traceback, exit 141."""
    proc = subprocess.Popen([sys.executable, "-m", "mrv_cli.main", "accounting", "list"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, stderr
    assert stderr == ""


def test_verify_refuses_a_directory_tree_too_large_to_walk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from mrv_cli import bundle_cmd

    for i in range(6):
        (tmp_path / f"{i}.json").write_text("{}")
    monkeypatch.setattr(bundle_cmd, "MAX_DIRECTORY_ENTRIES", 5)
    code, out = run(["bundle", "verify", str(tmp_path)], capsys)
    assert code == USAGE and out.strip() == (f"mrv: error: {tmp_path} holds more than 5 entries; "
                                             "name the directory of the documents")


def _eth_keyfile(tmp_path: Path, password: str, **reshape: Any) -> Path:
    """A light-KDF keystore written by eth_keyfile; ``drop_address`` as Foundry writes them,
    ``crypto_name="Crypto"`` as geth's older files."""
    from eth_keyfile import create_keyfile_json

    document = create_keyfile_json((7).to_bytes(32, "big"), password.encode(), kdf="scrypt",
                                   iterations=1024)
    if reshape.get("drop_address"):
        del document["address"]
    document[reshape.get("crypto_name", "crypto")] = document.pop("crypto")
    path = tmp_path / "foreign.json"
    path.write_text(json.dumps(document))
    return path


SEVEN = "0x" + DeviceKey.from_private_bytes((7).to_bytes(32, "big")).address.hex()


def test_keys_show_check_derives_the_address_of_a_foundry_file(
        tmp_path: Path, password: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = _eth_keyfile(tmp_path, password, drop_address=True)
    code, out = run(["keys", "show", str(path), "--check"], capsys)
    assert code == OK, out
    assert SEVEN in out.lower() and "derived" in out and "password opens the key" in out
    code, out = run(["keys", "show", str(path)], capsys)
    assert code == OK and "not in the file" in out and "--check" in out


def test_keys_show_names_the_kdf_of_a_capitalised_crypto_section(
        tmp_path: Path, password: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = _eth_keyfile(tmp_path, password, crypto_name="Crypto")
    code, out = run(["keys", "show", str(path), "--check"], capsys)
    assert code == OK and "kdf     scrypt" in out and SEVEN in out.lower()


def test_a_key_of_a_multi_line_password_file_gets_the_migration_hint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    (tmp_path / "pw").write_text("line one\nline two\n")
    made_by_old_mrv = _eth_keyfile(tmp_path, "line one\nline two")
    argv = ["keys", "show", str(made_by_old_mrv), "--check", "--password-file",
            str(tmp_path / "pw")]
    code, out = run(argv, capsys)
    assert code == USAGE
    assert "whole of" in out and "first line" in out and "docs/keys.md" in out
    lines = out.strip().splitlines()  # address, file, kdf, then the error on one line
    assert len(lines) == 4 and lines[-1].startswith("mrv: error: ")
    made_by_geth = tmp_path / "geth"
    made_by_geth.mkdir()
    _eth_keyfile(made_by_geth, "line one")
    argv[2] = str(made_by_geth / "foreign.json")
    assert run(argv, capsys)[0] == OK  # the first line, as geth reads it, opens it


def test_ctrl_d_at_the_password_prompt_is_one_line_and_exit_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from mrv_core.keys import read_password

    def ctrl_d(_: str) -> str:
        raise EOFError

    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    assert read_password.__kwdefaults__ is not None
    monkeypatch.setitem(read_password.__kwdefaults__, "prompt", ctrl_d)  # the terminal's answer
    monkeypatch.setitem(read_password.__kwdefaults__, "interactive", True)
    code = main(["keys", "new", "--light-kdf", "--out", str(tmp_path / "k.json")])
    captured = capsys.readouterr()
    assert code == USAGE and captured.err.count("\n") == 1
    assert "no password entered" in captured.err and not (tmp_path / "k.json").exists()


def test_verify_says_not_a_regular_file_for_a_fifo_or_device(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    with fifo(tmp_path / "pipe.json") as pipe:
        code, out = run(["bundle", "verify", str(zero), str(pipe)], capsys)
    assert code == USAGE
    assert out.strip() == (f"mrv: error: not a regular file or directory: {zero} (a character "
                           f"device), {pipe} (a FIFO)")


def test_verify_of_a_directory_reports_its_special_json_entries(
        sample_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "copy.json").write_bytes((sample_dir / "reading-00003.json").read_bytes())
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    with fifo(tmp_path / "pipe.json") as pipe:
        code, out = run(["bundle", "verify", str(tmp_path)], capsys)
    assert code == FAILED and "1 of 3 file(s) VALID offline, 2 FAILED: chain not" in out, out
    assert f"FAIL  {pipe}: step 'format' failed: not a regular file (a FIFO)\n" in out
    assert (f"FAIL  {tmp_path / 'zero.json'}: step 'format' failed: not a regular file "
            "(a character device)\n") in out


def test_typed_data_names_an_unreadable_file_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    absent = tmp_path / "absent.json"
    code, out = run(["bundle", "typed-data", str(absent)], capsys)
    assert (code, out.strip()) == (USAGE, f"mrv: error: {absent}: cannot read: No such file or "
                                          "directory")
    monkeypatch.setattr(bundle, "LIMITS", dataclasses.replace(bundle.LIMITS,
                                                              batch_file_bytes=1_000))
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 1_001)
    code, out = run(["bundle", "typed-data", str(big)], capsys)
    assert (code, out.strip()) == (USAGE, f"mrv: error: {big}: larger than 1000 bytes")
    with fifo(tmp_path / "pipe.json") as pipe:
        code, out = run(["bundle", "typed-data", str(pipe)], capsys)
    assert (code, out.strip()) == (USAGE, f"mrv: error: {pipe}: not a regular file (a FIFO)")


def test_keys_show_of_a_fifo_is_refused_without_blocking(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with fifo(tmp_path / "key.json") as pipe:
        code, out = run(["keys", "show", str(pipe), "--check"], capsys)
    assert (code, out.strip()) == (USAGE, f"mrv: error: key file {pipe}: not a regular file "
                                          "(a FIFO)")


def test_keys_show_refuses_scrypt_parameters_beyond_the_bounds_before_deriving(
        tmp_path: Path, password: str, capsys: pytest.CaptureFixture[str]) -> None:
    # r just past the bound (r = 10**9 derives for minutes in the old code; the unit tests of
    # mrv_core.keys refuse it)
    path = _eth_keyfile(tmp_path, password)
    doc = json.loads(path.read_text())
    doc["crypto"]["kdfparams"].update(r=9)
    path.write_text(json.dumps(doc))
    code, out = run(["keys", "show", str(path), "--check"], capsys)
    assert (code, out.strip()) == (USAGE, f"mrv: error: {path}: scrypt parameter r must be an "
                                          "integer within 1..8, got 9")


@pytest.mark.parametrize("command", [
    ["bundle", "sample", "--count", "1", "--out", "OUT"],
    ["keys", "show", "--check"],
])
def test_a_key_option_that_is_no_keystore_says_so_before_asking_a_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        command: list[str]) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"hello": "world"}')
    for key, expected in ((garbage, f"{garbage}: not a keystore v3 file"),
                          (tmp_path, f"key file {tmp_path}: not a regular file (a directory)")):
        argv = [a.replace("OUT", str(tmp_path / "out")) for a in command]
        argv += [str(key)] if command[0] == "keys" else ["--key", str(key)]
        code, out = run(argv, capsys)
        assert (code, out.strip()) == (USAGE, f"mrv: error: {expected}"), argv
