"""The enterprise's small PKI for the uplink's TLS client certificates (``mrv pki``).

* :func:`init_ca` makes the enterprise CA: an ECDSA P-256 key and a self-signed certificate
  (``CA:TRUE, pathlen:0`` critical, key usage ``keyCertSign, cRLSign`` critical, 10 years by
  default), as ``ca.key`` and ``ca.crt`` in a directory.
* :func:`make_device_tls_key_and_csr` makes a device's TLS key (ECDSA P-256, separate from its
  secp256k1 signing key) and a certificate signing request naming the device's Ethereum
  address, as ``device-tls.key`` and ``device-tls.csr`` (``mrv edge init`` calls it).
* :func:`sign_device_csr` checks a CSR (its self-signature, a P-256/P-384 or RSA >= 2048 key,
  exactly one device URI) and issues a client certificate: ``CA:FALSE`` critical, key usage
  ``digitalSignature`` critical, extended key usage ``clientAuth``, 825 days by default and
  never past the CA's own expiry.
* :func:`device_address_of_certificate` is the API side: the 20-byte address a certificate binds.

Where the address lives (docs/protocol.md 10.8): the certificate's subjectAltName holds exactly
one URI ``urn:trustmrv:device:0x<40 hex digits, EIP-55 checksummed>`` (RFC 5280 4.2.1.6 URIs;
the subject's commonName repeats the address for people, and is never read by software). The
ledger API refuses a certificate whose address differs from the readings' signer.

Every file is created with mode 0600 and never overwritten. Keys are unencrypted PKCS#8 PEM: the
node and the API start unattended; keep the CA directory offline (docs/edge.md).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .codec import format_address, parse_address
from .errors import CertificateError, DecodeError
from .files import UnreadableFile, read_regular_file, write_new_file

__all__ = [
    "CA_CERT_FILE",
    "CA_KEY_FILE",
    "DEVICE_CSR_FILE",
    "DEVICE_KEY_FILE",
    "DEVICE_URI_PREFIX",
    "MAX_TLS_FILE_BYTES",
    "CaFiles",
    "DeviceTlsFiles",
    "describe_contents",
    "device_address_of_certificate",
    "device_uri",
    "init_ca",
    "load_ca",
    "load_certificate",
    "make_device_tls_key_and_csr",
    "pem_path",
    "read_pem_file",
    "refuse_existing",
    "sign_device_csr",
    "write_certificate",
]

DEVICE_URI_PREFIX = "urn:trustmrv:device:"
CA_KEY_FILE, CA_CERT_FILE = "ca.key", "ca.crt"
DEVICE_KEY_FILE, DEVICE_CSR_FILE = "device-tls.key", "device-tls.csr"
CA_DAYS, DEVICE_DAYS, MAX_DAYS = 3650, 825, 36500
#: Backdating of notBefore, for verifiers whose clocks lag a little.
_SKEW = datetime.timedelta(minutes=5)
_MAX_PEM_BYTES = 64 * 1024
#: TLS files handed to OpenSSL: a certificate chain, its key, a CA bundle.
MAX_TLS_FILE_BYTES = 1024 * 1024
_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,40})-----")


@dataclass(frozen=True)
class CaFiles:
    key: Path
    certificate: Path


@dataclass(frozen=True)
class DeviceTlsFiles:
    key: Path
    csr: Path


def device_uri(device_address: bytes) -> str:
    """``urn:trustmrv:device:0x...`` with the EIP-55 checksummed address."""
    return DEVICE_URI_PREFIX + format_address(device_address)


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now if now is not None else datetime.datetime.now(datetime.UTC)


def _check_days(days: int) -> None:
    if type(days) is not int or not 1 <= days <= MAX_DAYS:
        raise CertificateError(f"validity must be 1..{MAX_DAYS} days, got {days!r}")


def refuse_existing(*paths: Path) -> None:
    """Raise :class:`CertificateError` when any of ``paths`` exists (or is a link): checked
    before any work, so nothing is made that could not be written."""
    for path in paths:
        if path.exists() or path.is_symlink():
            raise CertificateError(f"{path} exists; refusing to overwrite it")


def _write(path: Path, data: bytes) -> None:
    try:
        write_new_file(path, data)
    except FileExistsError:
        raise CertificateError(f"{path} exists; refusing to overwrite it") from None
    except OSError as exc:
        raise CertificateError(f"cannot create {path}: {exc.strerror or exc}") from None


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _key_usage(*allowed: str) -> x509.KeyUsage:
    """A keyUsage extension with exactly the ``allowed`` bits set."""
    bits = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
            "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{bit: bit in allowed for bit in bits})


def write_certificate(certificate: x509.Certificate, path: Path) -> None:
    """Write a certificate as PEM (mode 0600, never overwriting)."""
    _write(path, certificate.public_bytes(serialization.Encoding.PEM))


def describe_contents(raw: bytes) -> str:
    """What a file's bytes look like, for an error's "got ...": ``an empty file``, the labels
    of its PEM blocks (``a PEM PRIVATE KEY``, ``PEM blocks PRIVATE KEY, CERTIFICATE``), ``JSON
    text (a keystore?)``, ``text that is not PEM`` or ``N bytes of binary data``."""
    labels = list(dict.fromkeys(m.decode() for m in _PEM_LABEL.findall(raw)))
    if not raw.strip():
        return "an empty file"
    if len(labels) == 1:
        return f"a PEM {labels[0]}"
    if labels:
        return f"PEM blocks {', '.join(labels[:4])}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = "\x00"
    if not text.replace("\n", "").replace("\r", "").replace("\t", "").isprintable():
        return f"{len(raw)} bytes of binary data"
    return "JSON text (a keystore?)" if text.lstrip().startswith("{") else "text that is not PEM"


def _expected(what: str, raw: bytes, label: str) -> str:
    """``expected WHAT, got ...``; a block with the right label that does not parse is
    ``a malformed PEM LABEL``."""
    got = describe_contents(raw)
    return f"expected {what}, got " + (f"a malformed PEM {label}" if got == f"a PEM {label}"
                                       else got)


def load_certificate(raw: bytes, source: str = "the certificate") -> x509.Certificate:
    """An X.509 certificate from PEM (the first ``CERTIFICATE`` block) or DER bytes. Raises
    :class:`CertificateError` naming ``source``, what was expected and what the bytes are."""
    try:
        if raw[:1] == b"\x30":  # DER: an ASN.1 SEQUENCE
            return x509.load_der_x509_certificate(raw)
        return x509.load_pem_x509_certificate(raw)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CertificateError(f"{source}: " + _expected("an X.509 certificate (PEM or DER)",
                                                         raw, "CERTIFICATE")) from None


def read_pem_file(path: Path, what: str, *, limit: int = _MAX_PEM_BYTES) -> bytes:
    """A small PEM file's bytes (a regular file, at most ``limit`` bytes, 64 KiB by default),
    or :class:`CertificateError` naming ``what`` and ``path``: a FIFO, a device, a directory or
    a larger file is refused before anything blocks or is read past the limit
    (:func:`mrv_core.files.read_regular_file`)."""
    try:
        return read_regular_file(path, limit)
    except UnreadableFile as exc:
        raise CertificateError(f"{what} {path}: {exc.reason}") from None


def pem_path(path: Path, what: str, *, limit: int = MAX_TLS_FILE_BYTES) -> str:
    """``path`` as text for a reader that opens the file itself (OpenSSL's
    ``load_cert_chain``, ``cafile=``), once :func:`read_pem_file` has checked it: a FIFO would
    block OpenSSL's open, ``/dev/zero`` never end. The default limit (1 MiB) leaves room for a
    CA bundle. Raises :class:`CertificateError`."""
    read_pem_file(path, what, limit=limit)
    return str(path)


# -- the CA --------------------------------------------------------------------------------------


def init_ca(out_dir: Path, *, name: str = "TrustMRV enterprise CA", days: int = CA_DAYS,
            now: datetime.datetime | None = None) -> CaFiles:
    """Create the CA key and self-signed certificate in ``out_dir`` (created if missing).

    Raises :class:`CertificateError` when either file exists, ``name`` is not 1-64 characters
    or ``days`` is outside 1..36500."""
    _check_days(days)
    if not isinstance(name, str) or not 1 <= len(name) <= 64 or not name.isprintable():
        raise CertificateError(f"CA name must be 1-64 printable characters, got {name!r:.80}")
    files = CaFiles(out_dir / CA_KEY_FILE, out_dir / CA_CERT_FILE)
    refuse_existing(files.key, files.certificate)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = _now(now) - _SKEW
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage("key_cert_sign", "crl_sign"), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                       critical=False)
        .sign(key, hashes.SHA256()))
    _write(files.key, _key_pem(key))
    write_certificate(certificate, files.certificate)
    return files


def load_ca(ca_dir: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The CA key and certificate of ``ca_dir``; they must belong together and the
    certificate must be a CA's. Raises :class:`CertificateError` otherwise."""
    key_pem = read_pem_file(ca_dir / CA_KEY_FILE, "CA key")
    cert_pem = read_pem_file(ca_dir / CA_CERT_FILE, "CA certificate")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CertificateError(f"{ca_dir / CA_KEY_FILE}: " + _expected(
            "the CA's unencrypted PEM PRIVATE KEY (mrv pki init)", key_pem, "PRIVATE KEY")
        ) from None
    certificate = load_certificate(cert_pem, str(ca_dir / CA_CERT_FILE))
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateError(f"{ca_dir / CA_KEY_FILE}: expected an EC key, got "
                               f"{type(key).__name__.removesuffix('PrivateKey') or 'another'} "
                               "key")
    if key.public_key() != certificate.public_key():
        raise CertificateError(f"{ca_dir}: {CA_KEY_FILE} does not match {CA_CERT_FILE}")
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        raise CertificateError(f"{ca_dir / CA_CERT_FILE}: not a CA certificate") from None
    if not constraints.value.ca:
        raise CertificateError(f"{ca_dir / CA_CERT_FILE}: not a CA certificate (CA:FALSE)")
    return key, certificate


# -- devices -------------------------------------------------------------------------------------


def make_device_tls_key_and_csr(device_address: bytes, out_dir: Path) -> DeviceTlsFiles:
    """Create the device's TLS key and a CSR binding ``device_address`` (20 bytes) in
    ``out_dir``: subjectAltName URI ``urn:trustmrv:device:0x...`` and commonName the address.
    Raises :class:`CertificateError` when a file exists or the address is not 20 bytes."""
    if type(device_address) is not bytes or len(device_address) != 20:
        raise CertificateError(f"a device address is 20 bytes, got {device_address!r:.60}")
    files = DeviceTlsFiles(out_dir / DEVICE_KEY_FILE, out_dir / DEVICE_CSR_FILE)
    refuse_existing(files.key, files.csr)
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                       format_address(device_address))]))
           .add_extension(x509.SubjectAlternativeName(
               [x509.UniformResourceIdentifier(device_uri(device_address))]), critical=False)
           .sign(key, hashes.SHA256()))
    _write(files.key, _key_pem(key))
    _write(files.csr, csr.public_bytes(serialization.Encoding.PEM))
    return files


def sign_device_csr(csr_pem: bytes, ca_dir: Path, *, days: int = DEVICE_DAYS,
                    now: datetime.datetime | None = None,
                    source: str = "the CSR") -> x509.Certificate:
    """Issue the client certificate for a device CSR (PEM) with the CA in ``ca_dir``.

    Only the device address (from the CSR's one device URI) and the public key are taken from
    the CSR; every other field is the CA's choice. Raises :class:`CertificateError` for a CSR
    that is malformed, badly self-signed, has a weak key or not exactly one device URI, naming
    it as ``source`` (its file, say)."""
    _check_days(days)
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
        valid = csr.is_signature_valid
        public_key = csr.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CertificateError(f"{source}: " + _expected(
            "a PEM CERTIFICATE REQUEST (mrv edge init's device-tls.csr)", csr_pem,
            "CERTIFICATE REQUEST")) from None
    if not valid:
        raise CertificateError(f"{source}: its self-signature does not verify")
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if public_key.curve.name not in ("secp256r1", "secp384r1"):
            raise CertificateError(f"{source}: its EC key is on {public_key.curve.name}; "
                                   "expected P-256 or P-384")
    elif not (isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size >= 2048):
        raise CertificateError(f"{source}: its key must be EC P-256/P-384 or RSA of 2048 "
                               "bits or more")
    device = _device_of_extensions(csr.extensions, source)
    ca_key, ca_cert = load_ca(ca_dir)
    start = _now(now) - _SKEW
    end = min(start + datetime.timedelta(days=days), ca_cert.not_valid_after_utc)
    if end <= start + _SKEW:
        raise CertificateError(f"the CA expired on {ca_cert.not_valid_after_utc:%Y-%m-%d}")
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                    format_address(device))]))
        .issuer_name(ca_cert.subject).public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage("digital_signature"), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(
            [x509.UniformResourceIdentifier(device_uri(device))]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_authority_key_id(ca_cert), critical=False)
        .sign(ca_key, hashes.SHA256()))


def _authority_key_id(ca_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    """The CA's own subject key identifier as the issued certificate's authority key id, or
    one computed from its key when the CA (made by another tool) has none."""
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_cert.public_key())  # type: ignore[arg-type]
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def device_address_of_certificate(certificate: x509.Certificate | bytes,
                                  source: str = "the certificate") -> bytes:
    """The 20-byte device address a certificate (object, DER or PEM bytes) binds: its one
    ``urn:trustmrv:device:`` URI, EIP-55 checksummed. This reads the binding only: chain,
    validity and revocation are the TLS stack's checks. Raises :class:`CertificateError`
    naming the certificate as ``source``."""
    if isinstance(certificate, bytes):
        certificate = load_certificate(certificate, source)
    return _device_of_extensions(certificate.extensions, source)


def _device_of_extensions(extensions: x509.Extensions, what: str) -> bytes:
    try:
        san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise CertificateError(f"{what} has no subjectAltName (expected one "
                               f"{DEVICE_URI_PREFIX}0x... URI)") from None
    uris = [u for u in san.get_values_for_type(x509.UniformResourceIdentifier)
            if u.lower().startswith(DEVICE_URI_PREFIX)]
    if len(uris) != 1:
        raise CertificateError(f"{what} has {len(uris)} {DEVICE_URI_PREFIX} URIs, expected "
                               "exactly one")
    text = uris[0][len(DEVICE_URI_PREFIX):]
    try:
        address = parse_address(text, field="device")
    except DecodeError as exc:
        raise CertificateError(f"{what}: {exc}") from None
    if uris[0] != device_uri(address):
        raise CertificateError(f"{what}: expected the URI {device_uri(address)} (EIP-55), got "
                               f"{uris[0]!r:.80}")
    return address
