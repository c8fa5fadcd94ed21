"""Test support for TLS: a server certificate for 127.0.0.1 and device client certificates,
issued by a CA of ``mrv pki`` (``mrv_core.pki``)."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mrv_core.files import write_new_file
from mrv_core.pki import load_ca, make_device_tls_key_and_csr, sign_device_csr, write_certificate


def server_certificate(ca_dir: Path, out: Path) -> tuple[Path, Path]:
    """A TLS server certificate for 127.0.0.1 from the CA (the ledger API's would come from the
    enterprise's usual server PKI; mrv pki issues device certificates only)."""
    ca_key, ca_cert = load_ca(ca_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    write_new_file(out / "server.key", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    write_certificate(cert, out / "server.crt")
    return out / "server.crt", out / "server.key"


def device_certificate(ca_dir: Path, out: Path, address: bytes) -> tuple[Path, Path]:
    """A device TLS key and its certificate from the CA in ``ca_dir``, binding ``address``."""
    files = make_device_tls_key_and_csr(address, out)
    write_certificate(sign_device_csr(files.csr.read_bytes(), ca_dir), out / "device.crt")
    return out / "device.crt", files.key
