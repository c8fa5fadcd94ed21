"""The device's TLS client certificate check and the TLS options (ledger_api.access.device_tls);
the handshake itself runs in tests/integration/ledger_api/test_uplink_tls_to_api.py."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from factories import OTHER_KEY, TEST_KEY
from ledger_api.access.device_tls import (
    PeerCertificateH11,
    certified_device,
    check_certified,
    uvicorn_tls_options,
)
from ledger_api.errors import AccessRefused, ApiConfigError
from ledger_api.settings import get_settings
from mrv_core.errors import CertificateError
from mrv_core.pki import init_ca, make_device_tls_key_and_csr, sign_device_csr


def scope_with(pem: str | None) -> dict[str, object]:
    return {"extensions": {"tls": {"client_cert_chain": [pem] if pem else []}}}


@pytest.fixture(scope="module")
def device_pem(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("pki")
    init_ca(root / "ca")
    files = make_device_tls_key_and_csr(TEST_KEY.address, root / "device")
    certificate = sign_device_csr(files.csr.read_bytes(), root / "ca")
    return certificate.public_bytes(Encoding.PEM).decode("ascii")


def test_the_certificate_of_the_requests_device_passes(device_pem: str) -> None:
    assert certified_device(scope_with(device_pem)) == TEST_KEY.address
    check_certified(TEST_KEY.address, TEST_KEY.address)


@pytest.mark.parametrize(("scope", "message"), [
    ({}, "none was presented"),
    (scope_with(None), "none was presented"),
    (scope_with("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"),
     "the client certificate"),
])
def test_no_certificate_or_a_malformed_one_is_a_403(scope: dict[str, object],
                                                    message: str) -> None:
    with pytest.raises(AccessRefused, match=message) as refused:
        certified_device(scope)
    assert (refused.value.status, refused.value.check) == (403, "certificate")


def test_another_devices_certificate_is_a_403_naming_both(device_pem: str) -> None:
    with pytest.raises(AccessRefused, match="binds device 0x7E5F") as refused:
        check_certified(certified_device(scope_with(device_pem)), OTHER_KEY.address)
    assert refused.value.check == "certificate"


def test_client_certificates_are_verified_when_presented_never_demanded(
        tmp_path: Path, device_pem: str) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text(device_pem)  # any certificate will do for the options
    options = uvicorn_tls_options(ca, ca, ca)
    assert options["ssl_cert_reqs"] == ssl.CERT_OPTIONAL and options["http"] is PeerCertificateH11
    assert "ssl_ca_certs" not in uvicorn_tls_options(ca, ca, None)


def test_a_client_ca_that_is_no_certificate_or_no_file_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    for path in (garbage, tmp_path, tmp_path / "missing.pem"):
        with pytest.raises(CertificateError, match="--client-ca"):
            uvicorn_tls_options(garbage, garbage, path)


def test_a_client_ca_needs_tls(tmp_path: Path) -> None:
    with pytest.raises(ApiConfigError, match="--client-ca needs TLS"):
        get_settings(client_ca=tmp_path / "ca.crt").check_listen()
