"""API keys and the server secret (ledger_api.access.keys)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ledger_support import API_SECRET

from ledger_api.access.keys import (
    KEY_PATTERN,
    MIN_SECRET_BYTES,
    check_server_secret,
    key_id_of,
    key_mac,
    macs_equal,
    new_key,
)
from ledger_api.errors import ApiConfigError
from ledger_api.settings import get_settings


def test_a_new_key_has_its_format_an_id_and_the_mac_of_its_text() -> None:
    key = new_key(API_SECRET)
    assert KEY_PATTERN.fullmatch(key.text) and len(key.text) == 64
    assert key_id_of(key.text) == key.key_id and key.text.startswith(f"mrv_{key.key_id}_")
    assert key.mac == key_mac(API_SECRET, key.text) and len(key.mac) == 32
    assert key.text not in repr(key)


def test_keys_are_distinct_and_their_macs_depend_on_the_server_secret() -> None:
    keys = [new_key(API_SECRET) for _ in range(200)]
    assert len({k.text for k in keys}) == len({k.key_id for k in keys}) == 200
    other = API_SECRET[::-1]
    assert all(key_mac(other, k.text) != k.mac for k in keys)


@given(st.text(max_size=80))
def test_text_that_is_no_key_has_no_id(text: str) -> None:
    if not KEY_PATTERN.fullmatch(text):
        assert key_id_of(text) is None


def test_a_key_with_one_character_changed_has_another_mac() -> None:
    key = new_key(API_SECRET)
    last = key.text[-1]
    changed = key.text[:-1] + ("A" if last != "A" else "B")
    assert key_id_of(changed) == key.key_id
    assert not macs_equal(key.mac, key_mac(API_SECRET, changed))
    assert macs_equal(key.mac, key_mac(API_SECRET, key.text))


@pytest.mark.parametrize(("secret", "message"), [
    (None, "not set"),
    (b"", "not set"),
    (b"k" * 31, "31 bytes"),
    (b"a" * 64, "1 distinct"),
    (b"abababababababababababababababab", "2 distinct"),
    (b"changemechangemechangemechangeme", "placeholder 'changeme'"),
    (b"secret-secret-secret-secret-secret", "placeholder 'secret'"),
    (b"Password_Password_Password_Password", "placeholder 'password'"),
    (b"0123456789012345678901234567890123", "placeholder '0123456789'"),
    (b"replace-me-replace-me-replace-me-!", "placeholder 'replaceme'"),
    (b"12345678901234567890123456789012", "repeats a 10-character pattern"),
    (b"0123456789abcdef0123456789abcdef", "repeats a 16-character pattern"),
    (b"Password1Password1Password1Password1", "repeats a 9-character pattern"),
])
def test_a_missing_short_or_placeholder_server_secret_is_refused(secret: bytes | None,
                                                                 message: str) -> None:
    with pytest.raises(ApiConfigError, match=message) as refused:
        check_server_secret(secret)
    if secret:
        assert secret.decode() not in str(refused.value)  # never echoed


def test_a_random_server_secret_is_accepted() -> None:
    assert check_server_secret(API_SECRET) == API_SECRET
    assert len(API_SECRET) >= MIN_SECRET_BYTES


def test_a_secret_whose_environment_bytes_are_not_utf8_is_taken_as_those_bytes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    raw = bytes(range(128, 176))  # 48 bytes, none of them UTF-8 on its own
    monkeypatch.setenv("MRV_API_SECRET", raw.decode("utf-8", "surrogateescape"))
    assert get_settings().server_secret() == raw

