"""Device keys as Web3 Secret Storage (keystore v3) files, readable by standard wallets."""

import json
import os
import stat
import unicodedata
from pathlib import Path

import pytest
from eth_account import Account
from eth_keyfile import create_keyfile_json

from factories import TEST_KEY, fifo
from mrv_core.errors import ConfigError, KeyFileError
from mrv_core.keys import (
    LIGHT_SCRYPT_N,
    PASSWORD_ENV,
    STANDARD_SCRYPT_N,
    DeviceKey,
    keystore_address,
    keystore_crypto,
    read_keystore,
    read_password,
    whole_file_password,
)

TEST_KEY_SECRET = (1).to_bytes(32, "big")  # the secret of factories.TEST_KEY


def test_round_trip_and_standard_tools_read_our_file(tmp_path: Path) -> None:
    key = DeviceKey.generate()
    path = tmp_path / "k.json"
    key.save(path, "pw", scrypt_n=LIGHT_SCRYPT_N)
    assert DeviceKey.load(path, "pw").address == key.address
    assert keystore_address(path) == key.address
    doc = json.loads(path.read_text())
    assert doc["version"] == 3 and doc["crypto"]["kdf"] == "scrypt"
    assert doc["crypto"]["cipher"] == "aes-128-ctr"
    assert Account.from_key(Account.decrypt(doc, "pw")).address.lower() == \
        "0x" + key.address.hex()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("kdf", ["scrypt", "pbkdf2"])
def test_we_read_files_written_by_eth_account(tmp_path: Path, kdf: str) -> None:
    secret = (0xC0FFEE).to_bytes(32, "big")
    path = tmp_path / "k.json"
    path.write_text(json.dumps(Account.encrypt(secret, "pw", kdf=kdf, iterations=1024)))
    assert DeviceKey.load(path, "pw").address == DeviceKey.from_private_bytes(secret).address


@pytest.mark.slow
def test_standard_strength_is_the_default(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    TEST_KEY.save(path, "pw")
    assert json.loads(path.read_text())["crypto"]["kdfparams"]["n"] == STANDARD_SCRYPT_N


def test_wrong_password_is_a_key_file_error(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    TEST_KEY.save(path, "right", scrypt_n=LIGHT_SCRYPT_N)
    with pytest.raises(KeyFileError, match="wrong password"):
        DeviceKey.load(path, "wrong")


def test_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text("precious")
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        TEST_KEY.save(path, "pw", scrypt_n=LIGHT_SCRYPT_N)
    assert path.read_text() == "precious"


@pytest.mark.parametrize("content", [b"", b"not json", b"[]", b'{"version": 2}', b"x" * 70_000])
def test_garbage_key_files_are_rejected(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "k.json"
    path.write_bytes(content)
    with pytest.raises(KeyFileError):
        DeviceKey.load(path, "pw")


def test_declared_address_must_match_the_key(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    TEST_KEY.save(path, "pw", scrypt_n=LIGHT_SCRYPT_N)
    doc = json.loads(path.read_text())
    doc["address"] = "00" * 20
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError, match="does not match"):
        DeviceKey.load(path, "pw")


def test_missing_file_is_a_key_file_error(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cannot read"):
        DeviceKey.load(tmp_path / "absent.json", "pw")


def test_private_key_never_appears_in_repr() -> None:
    assert (1).to_bytes(32, "big").hex() not in repr(TEST_KEY)
    assert "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf" in repr(TEST_KEY)


def test_invalid_secrets_are_rejected() -> None:
    with pytest.raises(KeyFileError):
        DeviceKey.from_private_bytes(bytes(32))
    with pytest.raises(KeyFileError):
        DeviceKey.from_private_bytes(bytes(31))


class TestPasswordSources:
    def test_environment_wins(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.setenv(PASSWORD_ENV, "from-env")
        assert read_password(password_file=tmp_path / "unused", interactive=False) == "from-env"

    def test_password_file(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.delenv(PASSWORD_ENV, raising=False)
        (tmp_path / "pw").write_text("from-file\n")
        assert read_password(password_file=tmp_path / "pw") == "from-file"
        (tmp_path / "empty").write_text("\n")
        with pytest.raises(ConfigError, match="empty password is refused for a new key"):
            read_password(password_file=tmp_path / "empty", confirm=True)

    def test_prompt_with_confirmation(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(PASSWORD_ENV, raising=False)
        answers = iter(["secret", "secret"])
        assert read_password(confirm=True, interactive=True,
                             prompt=lambda _: next(answers)) == "secret"
        answers = iter(["secret", "typo"])
        with pytest.raises(ConfigError, match="do not match"):
            read_password(confirm=True, interactive=True, prompt=lambda _: next(answers))

    def test_no_source_fails_instead_of_hanging(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(PASSWORD_ENV, raising=False)
        with pytest.raises(ConfigError, match=PASSWORD_ENV):
            read_password(interactive=False)


# -- key files as other tools write them -----------------------------------------------------------

def _foreign_keyfile(tmp_path: Path, password: str, *, drop_address: bool = False,
                     crypto_name: str = "crypto") -> Path:
    """A keystore written by eth_keyfile (light scrypt), reshaped as another tool writes it."""
    document = create_keyfile_json(TEST_KEY_SECRET, password.encode(), kdf="scrypt",
                                   iterations=1024)
    if drop_address:  # Foundry's `cast wallet` writes no address field
        del document["address"]
    document[crypto_name] = document.pop("crypto")  # geth's older files: "Crypto"
    path = tmp_path / "foreign.json"
    path.write_text(json.dumps(document))
    return path


def test_a_file_without_address_opens_and_declares_none(tmp_path: Path) -> None:
    path = _foreign_keyfile(tmp_path, "pw", drop_address=True)
    assert keystore_address(path) is None
    assert DeviceKey.load(path, "pw").address == TEST_KEY.address


def test_a_capitalised_crypto_section_opens_and_shows_its_kdf(tmp_path: Path) -> None:
    path = _foreign_keyfile(tmp_path, "pw", crypto_name="Crypto")
    assert keystore_crypto(read_keystore(path))["kdf"] == "scrypt"
    assert DeviceKey.load(path, "pw").address == TEST_KEY.address


def test_passwords_are_raw_utf8_never_normalised(tmp_path: Path) -> None:
    decomposed = "cafe\u0301"  # NFD; NFC and NFKC spell it "caf\u00e9"
    path = _foreign_keyfile(tmp_path, decomposed)
    assert DeviceKey.load(path, decomposed).address == TEST_KEY.address
    with pytest.raises(KeyFileError, match="wrong password"):
        DeviceKey.load(path, unicodedata.normalize("NFKC", decomposed))


def test_a_password_file_gives_its_first_line_as_geth_reads_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    for text, password in (("first\nsecond\n", "first"), ("first\r\nsecond", "first"),
                           ("only", "only"), (" spaced \n", " spaced "),
                           ("a\u2028b\n", "a\u2028b")):  # only "\n" ends a line, as in geth
        (tmp_path / "pw").write_text(text, newline="")
        assert read_password(password_file=tmp_path / "pw") == password, text
    assert whole_file_password(tmp_path / "pw") is None
    (tmp_path / "pw").write_text("first\nsecond\n")
    assert whole_file_password(tmp_path / "pw") == "first\nsecond"
    (tmp_path / "pw").write_text("\nsecond\n")
    assert read_password(password_file=tmp_path / "pw") == ""  # geth's empty password
    with pytest.raises(ConfigError, match="first line is empty; an empty password is refused"):
        read_password(password_file=tmp_path / "pw", confirm=True)
    (tmp_path / "pw").write_bytes(b"\xff\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_password(password_file=tmp_path / "pw")
    with pytest.raises(ConfigError, match=r"not a regular file \(a directory\)"):
        read_password(password_file=tmp_path)


def test_end_of_input_at_the_prompt_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)

    def ctrl_d(_: str) -> str:
        raise EOFError

    with pytest.raises(ConfigError, match="end of input"):
        read_password(interactive=True, prompt=ctrl_d)


def test_a_key_made_with_an_empty_password_opens_with_an_empty_password_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "")  # set but empty: unset, as every MRV_ variable
    path = _foreign_keyfile(tmp_path, "")  # geth and eth-keyfile make such keys
    for text in ("", "\n", "\r\nnot this\n"):
        (tmp_path / "pw").write_text(text, newline="")
        password = read_password(password_file=tmp_path / "pw")
        assert DeviceKey.load(path, password).address == TEST_KEY.address, repr(text)


def test_the_environment_password_is_used_whole_newlines_included(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "first\nsecond\n")
    (tmp_path / "pw").write_text("file\n")
    assert read_password(password_file=tmp_path / "pw") == "first\nsecond\n"


@pytest.mark.parametrize(("kdf", "param", "value"), [
    ("scrypt", "n", 2**30), ("scrypt", "n", 3), ("scrypt", "n", "262144"),
    ("scrypt", "r", 10**9), ("scrypt", "p", 10**6), ("scrypt", "dklen", 10**8),
    ("scrypt", "dklen", 16), ("pbkdf2", "c", 10**9), ("pbkdf2", "dklen", 64),
])
def test_kdf_parameters_beyond_what_any_writer_uses_are_refused_before_deriving(
        tmp_path: Path, kdf: str, param: str, value: object) -> None:
    doc = Account.encrypt(TEST_KEY_SECRET, "pw", kdf=kdf, iterations=1024)
    doc["crypto"]["kdfparams"][param] = value
    path = tmp_path / "k.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError, match=f"{kdf} parameter {param} must be"):
        read_keystore(path)
    with pytest.raises(KeyFileError, match=f"{kdf} parameter {param} must be"):
        DeviceKey.load(path, "pw")  # at once: the old code derived for minutes


def test_geth_standard_and_eth_keyfile_parameters_are_accepted(tmp_path: Path) -> None:
    for name, doc in (("geth", Account.encrypt(TEST_KEY_SECRET, "pw", kdf="scrypt",
                                               iterations=LIGHT_SCRYPT_N)),
                      ("eth-keyfile", create_keyfile_json(TEST_KEY_SECRET, b"pw", kdf="scrypt",
                                                          iterations=1024)),
                      ("pbkdf2", create_keyfile_json(TEST_KEY_SECRET, b"pw", kdf="pbkdf2",
                                                     iterations=1_000))):
        params = doc["crypto"]["kdfparams"]
        if name == "geth":  # geth's standard strength, not derived here (a second of CPU)
            params.update(n=STANDARD_SCRYPT_N, r=8, p=1, dklen=32)
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(doc))
        assert read_keystore(path)["version"] == 3


def test_an_unknown_kdf_is_not_a_keystore(tmp_path: Path) -> None:
    doc = Account.encrypt(TEST_KEY_SECRET, "pw", kdf="scrypt", iterations=1024)
    doc["crypto"]["kdf"] = "argon2id"
    path = tmp_path / "k.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError, match="kdf expected scrypt or pbkdf2, got 'argon2id'"):
        read_keystore(path)


def test_a_fifo_or_device_as_key_or_password_file_is_refused_without_blocking(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    with pytest.raises(KeyFileError, match=r"not a regular file \(a character device\)"):
        read_keystore(zero)
    with pytest.raises(ConfigError, match=r"not a regular file \(a character device\)"):
        read_password(password_file=zero)
    with fifo(tmp_path / "fifo") as path, \
            pytest.raises(KeyFileError, match=r"not a regular file \(a FIFO\)"):
        read_keystore(path)


def test_a_password_file_may_be_a_pipe_as_process_substitution_gives(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``--password-file <(pass show device)`` hands over a pipe (``/dev/fd/N``): its first line
    is the password, as with a regular file."""
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, "pässword\nsecond line\n".encode())
        os.close(write_end)
        assert read_password(password_file=Path(f"/proc/self/fd/{read_end}")) == "pässword"
    finally:
        os.close(read_end)


def test_an_empty_answer_at_the_prompt_opens_a_key_but_never_makes_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    assert read_password(interactive=True, prompt=lambda _: "") == ""
    with pytest.raises(ConfigError, match="empty password refused for a new key"):
        read_password(confirm=True, interactive=True, prompt=lambda _: "")
