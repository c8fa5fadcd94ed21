"""mrv_core.pki: the CA's constraints, device certificates binding the address, refusals of
CSRs that bind none or several, files 0600 and never overwritten."""

from __future__ import annotations

import datetime
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import TEST_KEY
from mrv_core.codec import format_address
from mrv_core.errors import CertificateError
from mrv_core.pki import (
    DEVICE_URI_PREFIX,
    describe_contents,
    device_address_of_certificate,
    device_uri,
    init_ca,
    load_ca,
    make_device_tls_key_and_csr,
    sign_device_csr,
)

ADDRESS = TEST_KEY.address


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki") / "ca"
    init_ca(directory)
    return directory


def _csr(uris: list[str], key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None
         ) -> bytes:
    key = key or ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device")]))
    if uris:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.UniformResourceIdentifier(u) for u in uris]), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def test_the_ca_is_a_constrained_self_signed_p256_ca_in_files_0600(ca: Path) -> None:
    key, cert = load_ca(ca)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)
    assert 3649 <= (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 3650
    for name in ("ca.key", "ca.crt"):
        assert stat.S_IMODE((ca / name).stat().st_mode) == 0o600


def test_init_never_overwrites(ca: Path) -> None:
    before = (ca / "ca.key").read_bytes()
    with pytest.raises(CertificateError, match="exists; refusing to overwrite"):
        init_ca(ca)
    assert (ca / "ca.key").read_bytes() == before


@settings(max_examples=10, deadline=None)
@given(address=st.binary(min_size=20, max_size=20))
def test_a_device_certificate_binds_the_address_of_its_csr(ca: Path, tmp_path_factory:
                                                           pytest.TempPathFactory,
                                                           address: bytes) -> None:
    out = tmp_path_factory.mktemp("device")
    files = make_device_tls_key_and_csr(address, out)
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    cert = sign_device_csr(files.csr.read_bytes(), ca)
    assert device_address_of_certificate(cert) == address
    assert device_address_of_certificate(cert.public_bytes(serialization.Encoding.DER)) == address
    assert device_address_of_certificate(cert.public_bytes(serialization.Encoding.PEM)) == address
    _, ca_cert = load_ca(ca)
    cert.verify_directly_issued_by(ca_cert)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == \
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    uris = cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.UniformResourceIdentifier)
    assert uris == [DEVICE_URI_PREFIX + format_address(address)]
    with pytest.raises(CertificateError, match="exists"):
        make_device_tls_key_and_csr(address, out)


@pytest.mark.parametrize(("uris", "match"), [
    ([], "no subjectAltName"),
    (["https://example.com"], "0 urn:trustmrv:device: URIs"),
    ([device_uri(ADDRESS), device_uri(bytes(20))], "2 urn:trustmrv:device: URIs"),
    ([DEVICE_URI_PREFIX + "0x" + "zz" * 20], "not 0x-prefixed hex"),
    ([DEVICE_URI_PREFIX + format_address(ADDRESS)[:-1]], "odd number"),
    ([DEVICE_URI_PREFIX + "0x" + ADDRESS.hex()], "EIP-55"),  # lowercase: not the one spelling
    ([DEVICE_URI_PREFIX + format_address(ADDRESS).swapcase().replace("0X", "0x")], "checksum"),
])
def test_csrs_binding_no_device_or_several_are_refused(ca: Path, uris: list[str],
                                                        match: str) -> None:
    with pytest.raises(CertificateError, match=match):
        sign_device_csr(_csr(uris), ca)


def test_weak_keys_bad_signatures_and_garbage_are_refused(ca: Path) -> None:
    with pytest.raises(CertificateError, match="secp256k1"):
        sign_device_csr(_csr([device_uri(ADDRESS)], ec.generate_private_key(ec.SECP256K1())), ca)
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(CertificateError, match="RSA of 2048"):
        sign_device_csr(_csr([device_uri(ADDRESS)], weak), ca)
    with pytest.raises(CertificateError, match=r"expected a PEM CERTIFICATE REQUEST .*, got a "
                                               r"malformed PEM CERTIFICATE REQUEST"):
        sign_device_csr(b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n", ca)
    der = x509.load_pem_x509_csr(_csr([device_uri(ADDRESS)])).public_bytes(
        serialization.Encoding.DER)
    tampered = x509.load_der_x509_csr(der[:-1] + bytes([der[-1] ^ 1])).public_bytes(
        serialization.Encoding.PEM)  # the signature's last byte flipped
    with pytest.raises(CertificateError, match="self-signature does not verify"):
        sign_device_csr(tampered, ca)


def test_a_certificate_never_outlives_its_ca(tmp_path: Path) -> None:
    init_ca(tmp_path / "short", days=10)
    files = make_device_tls_key_and_csr(ADDRESS, tmp_path / "device")
    cert = sign_device_csr(files.csr.read_bytes(), tmp_path / "short", days=825)
    _, ca_cert = load_ca(tmp_path / "short")
    assert cert.not_valid_after_utc == ca_cert.not_valid_after_utc
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=11)
    with pytest.raises(CertificateError, match="the CA expired"):
        sign_device_csr(files.csr.read_bytes(), tmp_path / "short", now=later)


def test_a_ca_whose_key_does_not_match_is_refused(tmp_path: Path) -> None:
    init_ca(tmp_path / "a")
    init_ca(tmp_path / "b")
    (tmp_path / "a" / "ca.crt").chmod(0o600)
    (tmp_path / "a" / "ca.crt").write_bytes((tmp_path / "b" / "ca.crt").read_bytes())
    with pytest.raises(CertificateError, match="does not match"):
        load_ca(tmp_path / "a")


@pytest.mark.parametrize("days", [0, -1, 36501])
def test_validity_out_of_range_is_refused(tmp_path: Path, days: int) -> None:
    with pytest.raises(CertificateError, match="validity"):
        init_ca(tmp_path / "ca", days=days)
    assert not (tmp_path / "ca").exists() or not any((tmp_path / "ca").iterdir())


def test_garbage_is_no_certificate() -> None:
    with pytest.raises(CertificateError, match=r"expected an X\.509 certificate \(PEM or DER\), "
                                               "got 5 bytes of binary data"):
        device_address_of_certificate(b"\x30\x03\x02\x01\x00")


@pytest.mark.parametrize(("raw", "described"), [
    (b"", "an empty file"),
    (b" \n\t", "an empty file"),
    (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "a PEM PRIVATE KEY"),
    (b"-----BEGIN PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----",
     "PEM blocks PRIVATE KEY, CERTIFICATE"),
    (b'{"address": "7e5f", "crypto": {}}', "JSON text (a keystore?)"),
    (b"hello\n", "text that is not PEM"),
    (b"\xff\xfe\x00", "3 bytes of binary data"),
])
def test_describe_contents_names_what_the_bytes_are(raw: bytes, described: str) -> None:
    assert describe_contents(raw) == described


@given(st.binary(max_size=300))
def test_describe_contents_describes_any_bytes_in_one_short_line(raw: bytes) -> None:
    described = describe_contents(raw)
    assert described and "\n" not in described and len(described) < 200


def test_a_ca_made_elsewhere_without_a_subject_key_id_still_signs(tmp_path: Path) -> None:
    # cryptography's own builder, no SubjectKeyIdentifier: the issued certificate's authority
    # key id is computed from the CA key instead of a traceback (ExtensionNotFound).
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other tool CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    ca = tmp_path / "other"
    ca.mkdir()
    (ca / "ca.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    (ca / "ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    issued = sign_device_csr(make_device_tls_key_and_csr(ADDRESS, tmp_path / "d").csr
                             .read_bytes(), ca)
    aki = issued.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == x509.SubjectKeyIdentifier.from_public_key(
        key.public_key()).digest
    assert device_address_of_certificate(issued) == ADDRESS
