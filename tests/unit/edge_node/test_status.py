"""``mrv edge status`` as text: times as ISO 8601 UTC with their age, an uplink that is not
configured said so (never positions of -1), the JSON form keeping raw Unix seconds. The store
is a real one filled by the real signer; the deployment file names the test domain (status
reads no chain)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from unit.edge_node.support import energy

from edge_node.config import load_config
from edge_node.config_template import TemplateMeter, render_config
from edge_node.errors import StoreError
from edge_node.signing import ReadingSigner
from edge_node.status import describe_time, live_health, node_status, render_status
from edge_node.store import Store
from factories import METER_PATHS, TEST_DOMAIN, TEST_KEY
from mrv_cli.main import main
from mrv_core.chain import CONTRACTS, Deployment
from mrv_core.keys import LIGHT_SCRYPT_N

T = 1_796_066_401  # 2026-11-30T19:20:01Z
SITE = "/".join(METER_PATHS[0].split("/")[:2])


def make_node(tmp_path: Path, *, uplink_url: str | None) -> Path:
    """A node directory with the test key, a deployment file of the test domain, a config and
    a store holding two signed readings of one meter. Returns the config file."""
    TEST_KEY.save(tmp_path / "device-key.json", "status-test", scrypt_n=LIGHT_SCRYPT_N)
    contracts = {name: TEST_DOMAIN.verifying_contract if name == "AnchorRegistry"
                 else bytes([i + 1]) * 20 for i, name in enumerate(CONTRACTS)}
    Deployment(chain_id=TEST_DOMAIN.chain_id, evm_version="paris", deploy_block=1,
               deployer=b"\x01" * 20, contracts=contracts,
               artifact_hashes={name: b"\x00" * 32 for name in CONTRACTS},
               admin_transfer_delay=0, max_clock_skew=300).write(tmp_path / "deployment.json")
    config = tmp_path / "edge.toml"
    config.write_text(render_config(
        site=SITE, key_file="device-key.json", store="edge.sqlite",
        rpc="http://127.0.0.1:8545", deployment="deployment.json", modbus_host="127.0.0.1",
        modbus_port=5020, meters=[TemplateMeter(METER_PATHS[0], "generic", 1)],
        uplink_url=uplink_url), encoding="utf-8")
    with Store(tmp_path / "edge.sqlite", TEST_KEY.address, TEST_DOMAIN) as store:
        signer = ReadingSigner(store, TEST_KEY)
        signer.sign_cycle([energy(T - 60, 1_000)], now=T - 60)
        signer.sign_cycle([energy(T, 1_250)], now=T)
    return config


def test_status_prints_times_as_iso_utc_with_their_age_and_an_absent_uplink_as_such(
        tmp_path: Path) -> None:
    status = node_status(load_config(make_node(tmp_path, uplink_url=None)))
    text = render_status(status, now=T + 12)
    assert "1250 at 2026-11-30T19:20:01Z, 12 s ago (seq 1)" in " ".join(text.split())
    assert "the oldest committed 2026-11-30T19:19:01Z, 72 s ago" in text
    assert "uplink      not configured (no [uplink] table)" in text
    assert " -1" not in text and str(T) not in text
    # The machine-readable form keeps integers: Unix seconds and the raw positions.
    assert status["uplink_url"] is None
    assert status["uplink"]["leaves"]["acknowledged_through"] == -1
    (meter,) = status["meters"].values()
    assert meter["last"]["energy.active.import:Wh"]["timestamp"] == T
    assert status["open_batch"]["oldest_committed_at"] == T - 60


def test_status_names_a_configured_uplink_and_nothing_acknowledged_yet(tmp_path: Path) -> None:
    status = node_status(load_config(make_node(tmp_path, uplink_url="http://127.0.0.1:8080")))
    text = render_status(status, now=T + 3 * 3600)
    assert "uplink      http://127.0.0.1:8080" in text
    assert "leaves               none yet          2" in text  # both readings wait
    assert "at 2026-11-30T19:20:01Z, 3 h ago" in text
    assert status["uplink_url"] == "http://127.0.0.1:8080"


def test_the_status_command_prints_text_and_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_node(tmp_path, uplink_url=None)
    assert main(["edge", "status", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "2026-11-30T19:20:01Z, " in text and " ago (seq 1)" in text
    assert "not configured" in text
    assert main(["edge", "status", "--config", str(config), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["uplink_url"] is None
    assert document["open_batch"]["oldest_committed_at"] == T - 60


@given(timestamp=st.integers(0, 253_402_300_799), age=st.integers(-10**6, 10**9))
@example(timestamp=T, age=0).via("now")
@example(timestamp=T, age=119).via("last second count")
@example(timestamp=T, age=120).via("first minute count")
@example(timestamp=T, age=-5).via("ahead of now")
def test_describe_time_is_the_iso_utc_instant_and_its_age(timestamp: int, age: int) -> None:
    text = describe_time(timestamp, timestamp + age)
    iso, _, rest = text.partition(", ")
    assert datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp() \
        == timestamp
    number, unit, *tail = rest.removeprefix("in ").split()
    assert tail == (["ago"] if age >= 0 else [])
    size = {"s": 1, "min": 60, "h": 3600, "d": 86_400}[unit]
    assert int(number) == abs(age) // size
    assert (unit == "s") == (abs(age) < 120)


def test_describe_time_past_year_9999_is_unix_time() -> None:
    assert describe_time(2**64 - 1, 0).startswith(f"Unix time {2**64 - 1}, ")


@pytest.mark.parametrize("kind", ["another database", "an empty file", "random bytes"])
def test_status_refuses_a_file_that_is_no_edge_store_and_writes_nothing_to_it(
        tmp_path: Path, kind: str) -> None:
    config = make_node(tmp_path, uplink_url=None)
    store = tmp_path / "edge.sqlite"
    for leftover in tmp_path.glob("edge.sqlite*"):
        leftover.unlink()
    if kind == "another database":
        with sqlite3.connect(store) as other:
            other.execute("CREATE TABLE x (a)")
        other.close()
    else:
        store.write_bytes(b"" if kind == "an empty file" else bytes(range(256)) * 8)
    before = store.read_bytes()
    with pytest.raises(StoreError, match=r"expected an edge store"):
        node_status(load_config(config))
    assert store.read_bytes() == before  # no table created, nothing migrated


@pytest.mark.parametrize("listen", ["::1:19111", "[::1:19111", "127.0.0.1:19111\n"])
def test_live_health_of_an_address_httpx_refuses_is_an_error_not_a_traceback(
        listen: str) -> None:
    # The configuration refuses these now (issue 9, M4); a status read from an older file must
    # still answer in words.
    answer = live_health(listen)
    assert set(answer) == {"url", "error"} and answer["error"].startswith("no node answers: ")
