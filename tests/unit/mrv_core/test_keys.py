"""Device keys as Web3 Secret Storage (keystore v3) files, readable by standard wallets."""

import json
import stat
from pathlib import Path

import pytest
from eth_account import Account

from factories import TEST_KEY
from mrv_core.errors import ConfigError, KeyFileError
from mrv_core.keys import (
    LIGHT_SCRYPT_N,
    PASSWORD_ENV,
    STANDARD_SCRYPT_N,
    DeviceKey,
    keystore_address,
    read_password,
)


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
        with pytest.raises(ConfigError, match="empty"):
            read_password(password_file=tmp_path / "empty")

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
