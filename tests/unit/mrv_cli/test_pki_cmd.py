"""``mrv pki init / sign / show`` end to end, in-process: a device's CSR becomes a certificate
naming its address; nothing is ever overwritten; refusals are one line and exit 2."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from factories import TEST_KEY
from mrv_cli.main import main
from mrv_core.codec import format_address
from mrv_core.keys import LIGHT_SCRYPT_N
from mrv_core.pki import device_address_of_certificate, make_device_tls_key_and_csr


def test_init_sign_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pki", "init", "--out", str(tmp_path / "ca"), "--name", "Demo Co CA"]) == 0
    csr = make_device_tls_key_and_csr(TEST_KEY.address, tmp_path / "device").csr
    cert = tmp_path / "device" / "device.crt"
    assert main(["pki", "sign", str(csr), "--ca", str(tmp_path / "ca"), "--out", str(cert),
                 "--days", "30"]) == 0
    assert device_address_of_certificate(cert.read_bytes()) == TEST_KEY.address
    assert stat.S_IMODE(cert.stat().st_mode) == 0o600
    assert main(["pki", "show", str(cert)]) == 0
    out = capsys.readouterr().out
    assert f"device:      {format_address(TEST_KEY.address)}" in out
    assert "issuer:      CN=Demo Co CA" in out

    before = cert.read_bytes()
    assert main(["pki", "sign", str(csr), "--ca", str(tmp_path / "ca"), "--out", str(cert)]) == 2
    assert main(["pki", "init", "--out", str(tmp_path / "ca")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"mrv: error: {cert} exists; refusing to overwrite it",
                   f"mrv: error: {tmp_path / 'ca' / 'ca.key'} exists; refusing to overwrite it"]
    assert cert.read_bytes() == before
    # The CA's own certificate is shown as what it is, not refused for binding no device.
    assert main(["pki", "show", str(tmp_path / "ca" / "ca.crt")]) == 0
    out = capsys.readouterr().out
    assert "CA:          CN=Demo Co CA (signs device certificates; binds no device)" in out
    assert "device:" not in out


@pytest.fixture
def pki_files(tmp_path: Path) -> dict[str, Path]:
    """A CA, a device's TLS key and CSR, a keystore, garbage text and binary, an empty file."""
    assert main(["pki", "init", "--out", str(tmp_path / "ca")]) == 0
    device = make_device_tls_key_and_csr(TEST_KEY.address, tmp_path / "device")
    TEST_KEY.save(tmp_path / "key.json", "pki-test", scrypt_n=LIGHT_SCRYPT_N)
    (tmp_path / "garbage.txt").write_text("not a certificate\n")
    (tmp_path / "random.bin").write_bytes(bytes(range(256)) * 2)
    (tmp_path / "empty.pem").write_bytes(b"")
    return {"ca": tmp_path / "ca", "csr": device.csr, "tls_key": device.key,
            "ca_key": tmp_path / "ca" / "ca.key", "keystore": tmp_path / "key.json",
            "garbage": tmp_path / "garbage.txt", "random": tmp_path / "random.bin",
            "empty": tmp_path / "empty.pem"}


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mrv: error: "), err
    assert "Traceback" not in err and "cryptography.io" not in err and "ParseError" not in err
    return err.removeprefix("mrv: error: ").rstrip("\n")


@pytest.mark.parametrize(("name", "got"), [
    ("tls_key", "a PEM PRIVATE KEY"), ("csr", "a PEM CERTIFICATE REQUEST"),
    ("ca_key", "a PEM PRIVATE KEY"), ("keystore", "JSON text (a keystore?)"),
    ("garbage", "text that is not PEM"), ("random", "512 bytes of binary data"),
    ("empty", "an empty file"),
])
def test_show_of_a_file_that_is_no_certificate_names_expected_and_actual(
        pki_files: dict[str, Path], capsys: pytest.CaptureFixture[str], name: str,
        got: str) -> None:
    capsys.readouterr()
    assert main(["pki", "show", str(pki_files[name])]) == 2
    assert one_error(capsys) == (f"{pki_files[name]}: expected an X.509 certificate (PEM or "
                                 f"DER), got {got}")


@pytest.mark.parametrize(("name", "got"), [
    ("tls_key", "a PEM PRIVATE KEY"), ("keystore", "JSON text (a keystore?)"),
    ("garbage", "text that is not PEM"), ("random", "512 bytes of binary data"),
    ("empty", "an empty file"),
])
def test_sign_of_a_file_that_is_no_csr_names_expected_and_actual(
        pki_files: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path,
        name: str, got: str) -> None:
    capsys.readouterr()
    assert main(["pki", "sign", str(pki_files[name]), "--ca", str(pki_files["ca"]), "--out",
                 str(tmp_path / "x.crt")]) == 2
    assert one_error(capsys) == (f"CSR {pki_files[name]}: expected a PEM CERTIFICATE REQUEST "
                                 f"(mrv edge init's device-tls.csr), got {got}")
    assert not (tmp_path / "x.crt").exists()


def test_sign_refuses_an_out_whose_directory_is_missing_and_creates_nothing(
        pki_files: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "missing" / "dir" / "x.crt"
    capsys.readouterr()
    assert main(["pki", "sign", str(pki_files["csr"]), "--ca", str(pki_files["ca"]),
                 "--out", str(out)]) == 2
    assert one_error(capsys) == (f"--out {out}: expected an existing directory {out.parent}, "
                                 "got nothing there")
    assert not (tmp_path / "missing").exists()
    under_file = pki_files["garbage"] / "x.crt"
    assert main(["pki", "sign", str(pki_files["csr"]), "--ca", str(pki_files["ca"]),
                 "--out", str(under_file)]) == 2
    assert one_error(capsys) == (f"--out {under_file}: expected an existing directory "
                                 f"{pki_files['garbage']}, got a regular file")


def test_sign_with_a_ca_directory_of_garbage_names_the_file_expected_and_actual(
        pki_files: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad-ca"
    bad.mkdir()
    (bad / "ca.key").write_bytes(pki_files["csr"].read_bytes())
    (bad / "ca.crt").write_bytes(pki_files["ca"].joinpath("ca.crt").read_bytes())
    capsys.readouterr()
    assert main(["pki", "sign", str(pki_files["csr"]), "--ca", str(bad), "--out",
                 str(tmp_path / "x.crt")]) == 2
    assert one_error(capsys) == (f"{bad / 'ca.key'}: expected the CA's unencrypted PEM PRIVATE "
                                 "KEY (mrv pki init), got a PEM CERTIFICATE REQUEST")
    (bad / "ca.key").write_bytes(pki_files["ca_key"].read_bytes())
    (bad / "ca.crt").write_bytes(b"")
    assert main(["pki", "sign", str(pki_files["csr"]), "--ca", str(bad), "--out",
                 str(tmp_path / "x.crt")]) == 2
    assert one_error(capsys) == (f"{bad / 'ca.crt'}: expected an X.509 certificate (PEM or "
                                 "DER), got an empty file")
