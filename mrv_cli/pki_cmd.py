"""``mrv pki``: the enterprise's small CA for the uplink's TLS client certificates
(``mrv_core.pki``; docs/edge.md, section "Uplink")."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from mrv_core.codec import format_address
from mrv_core.files import require_parent_directory
from mrv_core.pki import (
    CA_DAYS,
    DEVICE_DAYS,
    MAX_DAYS,
    device_address_of_certificate,
    init_ca,
    load_certificate,
    read_pem_file,
    refuse_existing,
    sign_device_csr,
    write_certificate,
)

from .options import EXIT_OK, add_option

__all__ = ["register"]


def register(commands: Any) -> None:
    pki = commands.add_parser(
        "pki", help="run the enterprise CA that signs devices' TLS client certificates",
        description="A small CA for the uplink: its certificates bind a device's Ethereum "
                    "address (subjectAltName URI urn:trustmrv:device:0x...). Files are created "
                    "with mode 0600 and never overwritten.")
    sub = pki.add_subparsers(dest="pki_command", metavar="ACTION", required=True)

    init = sub.add_parser("init", help="create the CA key and self-signed certificate",
                          description="Create DIR/ca.key and DIR/ca.crt (ECDSA P-256, CA:TRUE "
                                      "pathlen 0). Keep DIR offline: its key is unencrypted.")
    add_option(init, "--out", "MRV_PKI_CA_DIR", type=Path, required=True, metavar="DIR",
               help="directory for ca.key and ca.crt (created if missing)")
    init.add_argument("--name", default="TrustMRV enterprise CA",
                      help="the CA's common name (1-64 characters)")
    init.add_argument("--days", type=int, default=CA_DAYS,
                      help=f"validity in days, 1..{MAX_DAYS} (default {CA_DAYS})")
    init.set_defaults(handler=_init)

    sign = sub.add_parser("sign", help="issue a device's client certificate from its CSR",
                          description="Check a device CSR (made by mrv edge init) and issue a "
                                      "client certificate binding its device address.")
    sign.add_argument("csr", type=Path, metavar="CSR", help="the device's CSR (PEM)")
    add_option(sign, "--ca", "MRV_PKI_CA_DIR", type=Path, required=True, metavar="DIR",
               help="the CA directory (mrv pki init)")
    sign.add_argument("--out", type=Path, required=True, metavar="CERT",
                      help="certificate file to create (PEM; never overwritten) in an "
                           "existing directory")
    sign.add_argument("--days", type=int, default=DEVICE_DAYS,
                      help=f"validity in days, 1..{MAX_DAYS}, never past the CA's "
                           f"(default {DEVICE_DAYS})")
    sign.set_defaults(handler=_sign)

    show = sub.add_parser("show", help="print the device address a certificate binds")
    show.add_argument("certificate", type=Path, metavar="CERT", help="certificate (PEM or DER)")
    show.set_defaults(handler=_show)


def _init(args: argparse.Namespace) -> int:
    files = init_ca(args.out, name=args.name, days=args.days)
    print(f"CA key:         {files.key}")
    print(f"CA certificate: {files.certificate}")
    return EXIT_OK


def _sign(args: argparse.Namespace) -> int:
    refuse_existing(args.out)
    require_parent_directory(args.out, "--out")
    certificate = sign_device_csr(read_pem_file(args.csr, "CSR"), args.ca, days=args.days,
                                  source=f"CSR {args.csr}")
    write_certificate(certificate, args.out)
    _describe(certificate, args.out)
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    raw = read_pem_file(args.certificate, "certificate")
    certificate = load_certificate(raw, str(args.certificate))
    _describe(certificate, args.certificate)
    return EXIT_OK


def _describe(certificate: x509.Certificate, path: Path) -> None:
    print(f"certificate: {path}")
    if _is_ca(certificate):  # the enterprise's CA (mrv pki init): it binds no device
        print(f"CA:          {certificate.subject.rfc4514_string()} (signs device "
              f"certificates; binds no device)")
    else:
        device = device_address_of_certificate(certificate, str(path))  # raises: binds none
        print(f"device:      {format_address(device)}")
    print(f"issuer:      {certificate.issuer.rfc4514_string()}")
    print(f"valid:       {certificate.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ} .. "
          f"{certificate.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}")
    print(f"serial:      {certificate.serial_number:x}")
    print(f"sha256:      {certificate.fingerprint(hashes.SHA256()).hex()}")


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False
