"""Uplink settings: plain HTTP only to a loopback address literal, HTTPS only with the device's
client certificate, integer bounds; every refusal a ConfigError naming the key."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from edge_node.uplink import UplinkSettings
from factories import TEST_KEY, unreadable_files
from mrv_core.errors import ConfigError
from mrv_core.pki import init_ca, make_device_tls_key_and_csr, sign_device_csr, write_certificate


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://127.9.9.9", "http://[::1]:80/",
                                 "http://127.0.0.1:8080/api/"])
def test_plain_http_to_a_loopback_address_is_allowed(url: str) -> None:
    settings = UplinkSettings(url=url)
    assert settings.endpoint == url.rstrip("/") + "/v1/uplink"
    assert not settings.https


@pytest.mark.parametrize("url", ["http://10.0.0.1:8080", "http://localhost:8080",
                                 "http://ledger.example", "http://0.0.0.0:80",
                                 "http://[::ffff:10.0.0.1]", "http://192.168.1.2"])
def test_plain_http_elsewhere_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match=r"uplink.url: plain http is allowed only to a "
                                          r"loopback address"):
        UplinkSettings(url=url)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1", "127.0.0.1:80", "", "https://",
                                 "http://127.0.0.1:99999", "http://user:pw@127.0.0.1",
                                 "http://127.0.0.1/?x=1", "http://127.0.0.1/#f"])
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match=r"uplink\.url"):
        UplinkSettings(url=url)


def test_https_needs_the_client_certificate_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"uplink\.cert_file and uplink\.key_file"):
        UplinkSettings(url="https://ledger.example")
    with pytest.raises(ConfigError, match=r"uplink\.cert_file and uplink\.key_file"):
        UplinkSettings(url="https://ledger.example", cert_file=tmp_path / "c.pem")
    settings = UplinkSettings(url="https://ledger.example:8443", cert_file=tmp_path / "c.pem",
                              key_file=tmp_path / "k.pem")
    assert settings.https and settings.endpoint == "https://ledger.example:8443/v1/uplink"
    with pytest.raises(ConfigError, match=r"uplink\.cert_file .*c\.pem: cannot read: No such "
                                          r"file"):
        settings.ssl_context()  # the files do not exist


@pytest.mark.parametrize(("key", "value"), [("chunk_size", 0), ("timeout_ms", -1),
                                            ("max_attempts", -1), ("backoff_initial_ms", 0),
                                            ("chunk_size", 1.5), ("idle_poll_ms", True)])
def test_out_of_range_numbers_are_refused_naming_the_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"uplink\.{key}"):
        UplinkSettings(url="http://127.0.0.1", **{key: value})  # type: ignore[arg-type]


def test_backoff_max_below_initial_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"uplink\.backoff_max_ms"):
        UplinkSettings(url="http://127.0.0.1", backoff_initial_ms=100, backoff_max_ms=50)


def test_a_tls_file_that_is_no_regular_file_is_refused_at_once_naming_its_key(
        tmp_path: Path) -> None:
    # OpenSSL opening a FIFO as the CA, certificate or key file used to block the node's start.
    device = make_device_tls_key_and_csr(TEST_KEY.address, tmp_path)
    cert = tmp_path / "device-tls.crt"
    init_ca(tmp_path / "ca")
    write_certificate(sign_device_csr(device.csr.read_bytes(), tmp_path / "ca"), cert)
    good = {"ca_file": tmp_path / "ca" / "ca.crt", "cert_file": cert, "key_file": device.key}
    UplinkSettings(url="https://127.0.0.1:1", **good).ssl_context()  # the real files load
    with unreadable_files(tmp_path) as unreadable:
        for kind, path in unreadable.items():
            for key in good:
                started = time.monotonic()
                with pytest.raises(ConfigError) as refused:
                    UplinkSettings(url="https://127.0.0.1:1",
                                   **{**good, key: path}).ssl_context()
                assert time.monotonic() - started < 0.4  # before the FIFO's unblocker runs
                assert str(refused.value).startswith(f"uplink.{key} {path}: ")
                assert kind in str(refused.value)


@pytest.mark.parametrize(("url", "named"), [
    ("http://127.0.0.1:18700/a\nb", "U+000A (LINE FEED)"),
    ("http://127.0.0.1:18700/a\tb", "U+0009 (TAB)"),
    ("http://127.0.0.1:18700/a\rb", "U+000D (CARRIAGE RETURN)"),
    ("http://127.0.0.1:18700/a b", "U+0020 (SPACE)"),
    ('http://127.0.0.1:18700/"x"', "U+0022 (QUOTATION MARK)"),
    ("http://127.0.0.1:18700/'x'", "U+0027 (APOSTROPHE)"),
    ("http://127.0.0.1:18700/\x7f", "U+007F"),
    ("http://127.0.0.1:18700/a\u2028b", "U+2028 (LINE SEPARATOR)"),
])
def test_urls_httpx_would_refuse_later_are_refused_at_load_naming_the_character(
        url: str, named: str) -> None:
    # urlsplit drops \n, \r and \t silently; httpx.URL raises InvalidURL on them at the first
    # request, which used to end the uplink task (issue 9, M3).
    with pytest.raises(ConfigError, match=r"^uplink\.url: ") as caught:
        UplinkSettings(url=url)
    assert named in str(caught.value) and "\n" not in str(caught.value)


def test_an_accepted_url_is_parsed_by_httpx_to_the_same_host() -> None:
    import httpx
    for url in ("http://127.0.0.1:8080/api", "http://[::1]:80/x/", "http://127.0.0.2"):
        settings = UplinkSettings(url=url)
        assert httpx.URL(settings.endpoint).host in ("127.0.0.1", "::1", "127.0.0.2")
