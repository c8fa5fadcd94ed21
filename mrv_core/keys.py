"""Device keys: secp256k1 keys kept at rest as Web3 Secret Storage (keystore v3) files.

The files are the standard format geth, clef, MetaMask imports and eth-account read, encrypted
with scrypt (geth's standard strength by default, its "light" strength on request) and AES-128-CTR.
A device's identity on chain is the address of its key.

Passwords come from ``MRV_KEY_PASSWORD``, a password file, or an interactive prompt, in that
order; with none available the call fails with :class:`ConfigError` instead of hanging. A
password file gives its first line, as geth reads one (up to the first ``\n``, a trailing
``\r`` removed; an empty first line is the empty password, which opens keys but never makes
one); ``MRV_KEY_PASSWORD`` is used whole, newlines included. Passwords are used as their raw
UTF-8 bytes, never Unicode-normalised (geth and eth-account do the same; ethers.js normalises to
NFKC first, so a password that is not in NFKC form may not open the file there). See
docs/keys.md.

Files written by other tools are read as they are: no ``address`` field (Foundry's ``cast
wallet``), the crypto section spelled ``Crypto`` (geth's older files).
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
import stat
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coincurve import PrivateKey

from .batch import Batch, BatchHeader, build_batch
from .codec import format_address, parse_address
from .eip712 import Domain, batch_digest, reading_digest
from .errors import ConfigError, KeyFileError, MrvError
from .files import UnreadableFile, read_regular_file
from .reading import Reading, SignedReading
from .records import Record, SignedRecord, record_digest
from .signing import address_of_public_key, sign_digest

__all__ = [
    "KDF_BOUNDS",
    "LIGHT_SCRYPT_N",
    "PASSWORD_ENV",
    "STANDARD_SCRYPT_N",
    "DeviceKey",
    "keystore_address",
    "keystore_crypto",
    "read_keystore",
    "read_password",
    "read_password_file",
    "whole_file_password",
]

PASSWORD_ENV = "MRV_KEY_PASSWORD"
#: geth's StandardScryptN (2^18): about a second and 256 MiB per unlock. The default.
STANDARD_SCRYPT_N = 1 << 18
#: geth's LightScryptN (2^12): for demos and tests only, unlocks in milliseconds.
LIGHT_SCRYPT_N = 1 << 12
_MAX_KEYFILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class DeviceKey:
    """A device's private key and the address derived from it."""

    _private: PrivateKey = field(repr=False)
    address: bytes = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", address_of_public_key(self._private.public_key))

    def __repr__(self) -> str:
        return f"DeviceKey(address={format_address(self.address)})"

    # -- creation --------------------------------------------------------------------------------

    @classmethod
    def generate(cls) -> DeviceKey:
        """A new key from the OS CSPRNG."""
        return cls(PrivateKey())

    @classmethod
    def from_private_bytes(cls, secret: bytes) -> DeviceKey:
        """A key from its 32-byte secret (tests and imports)."""
        if len(secret) != 32:
            raise KeyFileError(f"private key must be 32 bytes, got {len(secret)}")
        try:
            return cls(PrivateKey(secret))
        except ValueError as exc:
            raise KeyFileError(f"invalid secp256k1 private key: {exc}") from None

    # -- signing ---------------------------------------------------------------------------------

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a 32-byte digest (65 bytes r||s||v, low s)."""
        return sign_digest(self._private, digest)

    def sign_reading(self, reading: Reading, domain: Domain, meter_path: str) -> SignedReading:
        """Sign a reading of this device under ``domain``."""
        if reading.device != self.address:
            raise KeyFileError(
                f"reading names device {format_address(reading.device)}, "
                f"this key is {format_address(self.address)}"
            )
        signature = self.sign_digest(reading_digest(reading, domain))
        return SignedReading(reading=reading, signature=signature, meter_path=meter_path)

    def sign_record(self, record: Record, domain: Domain, path: str,
                    note: str | None = None) -> SignedRecord:
        """Sign a record (gap, meter change, emission summary) of this device under ``domain``;
        ``path`` is the meter path (the site path for a site summary) and ``note`` a meter
        change's note text, which travel beside it."""
        if record.device != self.address:
            raise KeyFileError(
                f"{type(record).__name__} names device {format_address(record.device)}, "
                f"this key is {format_address(self.address)}"
            )
        signature = self.sign_digest(record_digest(record, domain))
        return SignedRecord(record=record, signature=signature, path=path, note=note)

    def sign_batch(self, header: BatchHeader, domain: Domain) -> bytes:
        """Sign this device's batch header under ``domain`` (the readings' domain): the 65-byte
        signature over :func:`mrv_core.eip712.batch_digest` that bundles, batch files and
        ``anchorBySig`` carry. Raises :class:`KeyFileError` for another device's header."""
        if header.device != self.address:
            raise KeyFileError(
                f"batch header names device {format_address(header.device)}, "
                f"this key is {format_address(self.address)}"
            )
        return self.sign_digest(batch_digest(header, domain))

    def close_batch(self, batch_seq: int, readings: Sequence[SignedReading],
                    domain: Domain, records: Sequence[SignedRecord] = ()) -> Batch:
        """Close ``readings`` and then ``records`` (this device's, in batch order) into batch
        ``batch_seq`` and sign its header under ``domain``: what every writer of version 2 and 3
        documents uses."""
        batch = build_batch(self.address, batch_seq, readings, records)
        return dataclasses.replace(batch, header_signature=self.sign_batch(batch.header, domain))

    def sign_transaction(self, transaction: dict[str, Any]) -> bytes:
        """Sign an Ethereum transaction (a web3 transaction dict); return the raw bytes to send."""
        from eth_account import Account

        signed = Account.sign_transaction(transaction, self._private.secret)
        return bytes(signed.raw_transaction)

    # -- keystore files --------------------------------------------------------------------------

    def to_keystore(self, password: str, *, scrypt_n: int = STANDARD_SCRYPT_N) -> dict[str, object]:
        """This key as a keystore v3 JSON object."""
        from eth_account import Account  # heavy import, only needed here

        keystore: dict[str, object] = Account.encrypt(
            self._private.secret, password, kdf="scrypt", iterations=scrypt_n
        )
        return keystore

    def save(self, path: Path, password: str, *, scrypt_n: int = STANDARD_SCRYPT_N) -> None:
        """Write the keystore file; never overwrites, and is readable by its owner only."""
        data = json.dumps(self.to_keystore(password, scrypt_n=scrypt_n), indent=2).encode()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyFileError(f"{path} exists; refusing to overwrite a key file") from None
        except OSError as exc:
            raise KeyFileError(f"cannot create {path}: {exc.strerror}") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(data + b"\n")
            handle.flush()
            os.fsync(handle.fileno())

    @classmethod
    def load(cls, path: Path, password: str) -> DeviceKey:
        """Read and decrypt a keystore v3 file."""
        keystore = read_keystore(path)
        from eth_account import Account

        crypto = keystore_crypto(keystore)
        try:
            secret = Account.decrypt({**keystore, "crypto": crypto}, password)
        except ValueError as exc:
            raise KeyFileError(f"{path}: cannot decrypt ({exc}); wrong password?") from None
        except (KeyError, TypeError) as exc:
            raise KeyFileError(f"{path}: not a keystore v3 file (missing {exc})") from None
        key = cls.from_private_bytes(bytes(secret))
        declared = keystore.get("address")
        if isinstance(declared, str) and parse_address("0x" + declared.removeprefix("0x"),
                                                       field="address") != key.address:
            raise KeyFileError(f"{path}: declared address does not match the decrypted key")
        return key


def read_keystore(path: Path) -> dict[str, object]:
    """Read a keystore file's JSON without decrypting it (its address is public)."""
    raw = _read_bounded(path, "key file", KeyFileError)
    try:
        keystore = json.loads(raw)
    except ValueError:
        raise KeyFileError(f"{path}: not JSON") from None
    if not isinstance(keystore, dict) or keystore.get("version") != 3:
        raise KeyFileError(f"{path}: not a keystore v3 file")
    _check_kdf(path, keystore_crypto(keystore))
    return keystore


#: The largest key-derivation parameters accepted, so a hostile file cannot make an unlock run
#: for minutes or take gigabytes before it fails: the strongest any common writer uses. scrypt:
#: geth's StandardScryptN 2^18 with r 8, p 1 (eth-keyfile writes r 1, p 8: p up to 8 admits
#: both); pbkdf2: eth-keyfile's 1,000,000 rounds (geth writes 262,144). The derived key is
#: always 32 bytes (AES-128 key and MAC key). See docs/keys.md.
KDF_BOUNDS: dict[str, dict[str, int]] = {
    "scrypt": {"n": STANDARD_SCRYPT_N, "r": 8, "p": 8, "dklen": 32},
    "pbkdf2": {"c": 1_000_000, "dklen": 32},
}


def _check_kdf(path: Path, crypto: dict[str, object]) -> None:
    """Refuse, before any key derivation, a crypto section without a known KDF or whose
    parameters lie outside :data:`KDF_BOUNDS` (``dklen`` must be exactly 32)."""
    kdf = crypto.get("kdf")
    if kdf not in KDF_BOUNDS:
        raise KeyFileError(f"{path}: not a keystore v3 file (kdf expected scrypt or pbkdf2, "
                           f"got {kdf!r:.40})")
    params = crypto.get("kdfparams")
    if not isinstance(params, dict):
        raise KeyFileError(f"{path}: not a keystore v3 file (no kdfparams object)")
    for name, high in KDF_BOUNDS[str(kdf)].items():
        value = params.get(name)
        if name == "dklen":
            expected, ok = "32", value == high
        elif name == "n":
            expected = f"a power of two within 2..{high}"
            ok = type(value) is int and 2 <= value <= high and not value & (value - 1)
        else:
            expected = f"an integer within 1..{high}"
            ok = type(value) is int and 1 <= value <= high
        if not ok or type(value) is not int:
            raise KeyFileError(f"{path}: {kdf} parameter {name} must be {expected}, "
                               f"got {value!r:.40}")


def keystore_address(path: Path) -> bytes | None:
    """The address a keystore file declares, read without the password; ``None`` when the file
    declares none (Foundry's files do not: only decrypting tells the address).

    Raises :class:`KeyFileError` when the file is unreadable or its address is malformed."""
    declared = read_keystore(path).get("address")
    if declared is None:
        return None
    if not isinstance(declared, str):
        raise KeyFileError(f"{path}: address field must be a hex string, got {declared!r}")
    return parse_address("0x" + declared.removeprefix("0x"), field=f"{path}: address")


def keystore_crypto(keystore: dict[str, object]) -> dict[str, object]:
    """The crypto section of a keystore, spelled ``crypto`` (the standard) or ``Crypto`` (geth's
    older files); an empty dict when there is none."""
    for name in ("crypto", "Crypto"):
        section = keystore.get(name)
        if isinstance(section, dict):
            return section
    return {}


def read_password(
    *,
    confirm: bool = False,
    password_file: Path | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
    interactive: bool | None = None,
) -> str:
    """The key password: ``MRV_KEY_PASSWORD`` (used whole; set but empty counts as unset, as
    for every ``MRV_`` variable), else ``password_file``'s first line, else a prompt on a TTY.

    An empty password opens a key (geth makes such keys) but never makes one: with ``confirm``
    (a new key) an empty password is refused with :class:`ConfigError`."""
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env
    if password_file is not None:
        password = read_password_file(password_file)
        if confirm and not password:
            raise ConfigError(f"password file {password_file}: its first line is empty; "
                              "an empty password is refused for a new key")
        return password
    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        raise ConfigError(
            f"no key password: set {PASSWORD_ENV}, pass --password-file, or run on a terminal"
        )
    password = _ask(prompt, "Key password: ")
    if confirm and not password:
        raise ConfigError("empty password refused for a new key")
    if confirm and _ask(prompt, "Repeat password: ") != password:
        raise ConfigError("passwords do not match")
    return password


def _ask(prompt: Callable[[str], str], text: str) -> str:
    try:
        return prompt(text)
    except EOFError:  # Ctrl-D, or stdin closed
        raise ConfigError("no password entered (end of input at the prompt)") from None


def _read_bounded(path: Path, what: str, error: type[MrvError], *, pipe_ok: bool = False
                  ) -> bytes:
    """The bytes of a small regular file (key or password file; ``pipe_ok``: a pipe too), or
    ``error`` saying why not."""
    try:
        return read_regular_file(path, _MAX_KEYFILE_BYTES, pipe_ok=pipe_ok)
    except UnreadableFile as exc:
        raise error(f"{what} {path}: {exc.reason}") from None


def _password_file_text(path: Path) -> str:
    raw = _read_bounded(path, "password file", ConfigError, pipe_ok=True)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"password file {path} is not UTF-8 (byte {exc.start})") from None


def read_password_file(path: Path) -> str:
    """The password in a password file: its first line, as geth reads it (up to the first
    ``\n``, one trailing ``\r`` removed). Raises :class:`ConfigError` when the file cannot be
    read or is not UTF-8. An empty first line (an empty file) is the empty password, as geth
    reads it: keys geth made with an empty password open with such a file."""
    return _password_file_text(path).split("\n", 1)[0].removesuffix("\r")


def whole_file_password(path: Path) -> str | None:
    """The password earlier versions of mrv read from a password file (the whole file without
    its trailing line breaks), when it differs from :func:`read_password_file`'s; else ``None``.
    Only for the migration hint of keys made from a multi-line password file; ``None`` for a
    pipe, which was read once already and cannot be read again."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
    except OSError:
        return None
    whole = _password_file_text(path).rstrip("\r\n")
    return whole if whole and whole != read_password_file(path) else None
