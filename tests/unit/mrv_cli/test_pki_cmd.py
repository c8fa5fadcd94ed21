"""``mrv pki init / sign / show`` end to end, in-process: a device's CSR becomes a certificate
naming its address; nothing is ever overwritten; refusals are one line and exit 2."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from factories import TEST_KEY
from mrv_cli.main import main
from mrv_core.codec import format_address
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
    assert main(["pki", "show", str(tmp_path / "ca" / "ca.crt")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"mrv: error: {cert} exists; refusing to overwrite it",
                   f"mrv: error: {tmp_path / 'ca' / 'ca.key'} exists; refusing to overwrite it",
                   "mrv: error: the certificate has no subjectAltName (expected one "
                   "urn:trustmrv:device:0x... URI)"]
    assert cert.read_bytes() == before
