"""The edge node as an operator runs it, every part real: ``mrv chain deploy`` on anvil
(127.0.0.1), ``mrv simulate meters`` serving the generic profile over Modbus TCP, then
``mrv edge init`` → ``register`` → ``run`` with no editing of the configuration (the flags of
the README's quick look with shorter times, a free metrics port and the receiver's URL),
``mrv edge status``, and the chain read back: every closed batch anchored once, gap-free, with
the store's root; failed polls (a timeout injected through the simulator's control channel)
signed as gap records."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from integration.conftest import free_port
from integration.edge_node.receiver import Receiver

from edge_node.config import load_config
from edge_node.simulator.control import request
from mrv_cli.main import main
from mrv_core.chain import Deployment, System, connect
from mrv_core.reading import SignedReading
from mrv_core.records import SignedRecord

MRV = Path(sys.executable).with_name("mrv")


def mrv(*argv: str, cwd: Path) -> str:
    done = subprocess.run([str(MRV), *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "MRV_KEY_PASSWORD": "edge-test"})
    assert done.returncode == 0, f"mrv {' '.join(argv)}: {done.stdout}{done.stderr}"
    return done.stdout


@contextmanager
def background(*argv: str, cwd: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """Run ``mrv ARGV``, yield it with the first two lines it printed; SIGINT it afterwards."""
    proc = subprocess.Popen([str(MRV), *argv], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "MRV_KEY_PASSWORD": "edge-test"})
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        second = proc.stdout.readline() if argv[0] == "simulate" else ""
        assert first, proc.stderr.read() if proc.stderr else ""
        yield proc, [first.strip(), second.strip()]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def status(config: Path, cwd: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(mrv("edge", "status", "--config", str(config),
                                               "--json", cwd=cwd))
    return loaded


def progressed(store: Path) -> bool:
    """Two batches anchored final and one batch header acknowledged by the receiver (read
    straight from the store: a ``mrv edge status`` process per poll would cost seconds)."""
    if not store.exists():
        return False
    connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
    try:
        final = connection.execute("SELECT count(*) FROM outbox WHERE state = 'final'").fetchone()
        acked = connection.execute("SELECT through FROM uplink_acks WHERE stream = 'batches'"
                                   ).fetchone()
    except sqlite3.OperationalError:  # the node has not created its tables yet
        return False
    finally:
        connection.close()
    return bool(final[0] >= 2 and acked is not None and acked[0] >= 1)


def test_init_register_run_anchors_every_batch_once_signs_gaps_and_uplinks_all(
        anvil_url: str, tmp_path: Path, receiver: Receiver) -> None:
    mrv("chain", "deploy", "--rpc", anvil_url, "--out", "deployment.json", cwd=tmp_path)
    chain = connect(anvil_url)
    enterprise = chain.unlocked_accounts()[0]
    mrv("chain", "grant", "enterprise", enterprise, "--rpc", anvil_url, "--deployment",
        "deployment.json", cwd=tmp_path)
    port = free_port()
    with background("simulate", "meters", "--port", str(port), "--speed", "60",
                    cwd=tmp_path) as (simulator, lines):
        assert lines[0] == f"127.0.0.1:{port}"
        control_host, control_port = lines[1].removeprefix("control ").split(":")
        mrv("edge", "init", "node", "--rpc", anvil_url, "--deployment", "deployment.json",
            "--modbus-port", str(port), "--interval", "0.5", "--batch-max-age", "2",
            "--listen", "127.0.0.1:0", "--uplink", receiver.url, "--light-kdf", cwd=tmp_path)
        config = tmp_path / "node" / "edge.toml"
        written = config.read_bytes()  # compared at the end: nothing edits the file
        # The ledger API is down at first (two failed requests, backed off at the
        # defaults): nothing may be lost.
        receiver.faults.fail_next = 2
        registered = mrv("edge", "register", "--config", str(config), "--fund",
                         "1000000000000000000", cwd=tmp_path)
        assert "registered  tx 0x" in registered
        again = mrv("edge", "register", "--config", str(config), cwd=tmp_path)
        assert "registered  already: active on this chain" in again  # a re-run is harmless
        with background("edge", "run", "--config", str(config), cwd=tmp_path) as (node, out):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not progressed(tmp_path / "node" /
                                                                  "edge.sqlite"):
                time.sleep(0.3)
            observability = out[0].rsplit(" ", 1)[1]
            health = httpx.get(f"{observability}/healthz", timeout=10)
            assert health.status_code == 200 and health.json()["status"] == "ok"
            metrics = httpx.get(f"{observability}/metrics", timeout=10).text
            assert "mrv_edge_readings_total" in metrics
            assert 'mrv_edge_outbox{state="final"}' in metrics
            polled = re.search(r"^mrv_edge_poll_seconds_count (\S+)$", metrics, re.M)
            assert polled is not None and float(polled.group(1)) > 0
            assert request((control_host, int(control_port)),
                           {"op": "fault", "fault": "1:timeout:4"})["ok"]
            time.sleep(4)
            node.send_signal(signal.SIGINT)
            assert node.wait(timeout=30) == 0, node.stderr.read() if node.stderr else ""
        assert simulator.poll() is None

    assert config.read_bytes() == written
    final = status(config, tmp_path)
    batches = final["batches"]
    assert isinstance(batches, dict) and batches["outbox"].get("final", 0) >= 2
    assert final["gaps"]["timeout"]["failed_polls"] >= 1  # type: ignore[index]
    (meter,) = final["meters"].values()  # type: ignore[attr-defined]
    assert meter["next_seq"] > 10 and meter["state"] == "ok"

    # The chain holds exactly the store's anchored batches: gap-free, each root once.
    system = System(chain, Deployment.read(tmp_path / "deployment.json"))
    store = sqlite3.connect(tmp_path / "node" / "edge.sqlite")
    try:
        assert store.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        device = store.execute("SELECT value FROM node WHERE key = 'device'").fetchone()[0]
        rows = store.execute("SELECT o.batch_seq, b.root FROM outbox o JOIN batches b "
                             "USING (device, batch_seq) WHERE o.state = 'final' "
                             "ORDER BY o.batch_seq").fetchall()
    finally:
        store.close()
    device_bytes = bytes.fromhex(device.removeprefix("0x"))
    assert [seq for seq, _ in rows] == list(range(len(rows)))
    assert system.next_batch_seq(device_bytes) >= len(rows)
    for seq, root in rows:
        assert system.batch_root(device_bytes, seq) == root

    # The receiver (standing in for the ledger API, which a later issue builds) holds every
    # acknowledged reading once, in seq order per meter, despite its outage at the start.
    uplink = final["uplink"]
    assert isinstance(uplink, dict)
    # Its two failed requests, then the ones that delivered.
    assert receiver.recorded.malformed == [] and receiver.recorded.requests > 2
    readings = [i for i in receiver.recorded.order if isinstance(i, SignedReading)]
    seqs = [r.reading.seq for r in readings]
    assert seqs == sorted(seqs) == list(range(len(seqs)))
    assert len(readings) + sum(1 for i in receiver.recorded.order
                               if isinstance(i, SignedRecord)) >= \
        uplink["leaves"]["acknowledged_through"]


def test_init_refuses_to_overwrite_and_a_bad_config_names_its_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MRV_KEY_PASSWORD", "edge-test")
    assert main(["edge", "init", "node", "--light-kdf"]) == 0
    assert main(["edge", "init", "node", "--light-kdf"]) == 2
    assert "exists; refusing to overwrite" in capsys.readouterr().err
    config = tmp_path / "node" / "edge.toml"
    config.write_text(config.read_text().replace("unit_id = 1", "unit_id = 999"))
    assert main(["edge", "status", "--config", str(config)]) == 2
    line = config.read_text().splitlines().index("unit_id = 999") + 1
    assert f"edge.toml:{line}: acquisition.connections[0].meters[0].unit_id:" in \
        capsys.readouterr().err


@pytest.mark.parametrize("rpc", ["not a url", "127.0.0.1:8545", "ws://127.0.0.1:8545", "http://"])
def test_init_refuses_an_rpc_that_is_no_http_url_and_creates_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        rpc: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MRV_KEY_PASSWORD", "edge-test")
    assert main(["edge", "init", "node", "--rpc", rpc, "--light-kdf"]) == 2
    assert "--rpc must be an http(s):// JSON-RPC URL" in capsys.readouterr().err
    assert not (tmp_path / "node").exists()


def test_run_refuses_a_device_that_is_not_registered_naming_the_fix(
        anvil_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # It used to run and log a failed anchor every 2 s forever (hostile review).
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MRV_KEY_PASSWORD", "edge-test")
    assert main(["chain", "deploy", "--rpc", anvil_url, "--out", "deployment.json"]) == 0
    assert main(["edge", "init", "node", "--rpc", anvil_url, "--light-kdf"]) == 0
    assert "deployment = \"../deployment.json\"" in (tmp_path / "node" / "edge.toml").read_text()
    capsys.readouterr()
    assert main(["edge", "run", "--config", "node/edge.toml"]) == 2
    assert "is unregistered on this chain: register it first (mrv edge register" in \
        capsys.readouterr().err


def test_init_writes_the_quick_look_flags_into_a_file_that_loads_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MRV_KEY_PASSWORD", "edge-test")
    assert main(["edge", "init", "node", "--interval", "5", "--batch-max-age", "60",
                 "--listen", "[::1]:0", "--uplink", "http://127.0.0.1:8080/ledger",
                 "--light-kdf"]) == 0
    config = load_config(tmp_path / "node" / "edge.toml")
    assert [m.interval for m in config.meters] == [5.0]
    assert config.batching.max_age_seconds == 60.0
    assert config.observability.listen == "[::1]:0"
    assert config.uplink is not None and config.uplink.url == "http://127.0.0.1:8080/ledger"
    assert config.uplink.cert_file is None  # plain http to loopback: no client certificate
    assert main(["edge", "init", "tls", "--uplink", "https://ledger.example.com",
                 "--light-kdf"]) == 0
    secured = load_config(tmp_path / "tls" / "edge.toml")
    assert secured.uplink is not None
    assert secured.uplink.cert_file == tmp_path / "tls" / "device-tls.crt"
    assert secured.uplink.key_file == tmp_path / "tls" / "device-tls.key"
    # Without the flags: a plant's settings, the uplink commented out.
    assert main(["edge", "init", "plant", "--light-kdf"]) == 0
    plant = load_config(tmp_path / "plant" / "edge.toml")
    assert [m.interval for m in plant.meters] == [60.0]
    assert plant.batching.max_age_seconds == 3600.0 and plant.uplink is None
    assert plant.observability.listen == "127.0.0.1:9108"


@pytest.mark.parametrize(("flag", "value"), [
    ("--interval", "nan"), ("--interval", "5_0"), ("--interval", "\uff10\uff15"),
    ("--interval", "1e3"), ("--batch-max-age", "inf"), ("--batch-max-age", "-5"),
])
def test_init_takes_seconds_only_as_plain_decimals(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        flag: str, value: str) -> None:
    # float() takes 5_0 as 50 and full-width digits as 5: a typo became another interval.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:  # argparse's usage error
        main(["edge", "init", "node", flag, value, "--light-kdf"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (f"mrv edge init: error: argument {flag}: expected seconds as a plain decimal "
                   f"such as 5 or 0.25, got {value!r}")
    assert not (tmp_path / "node").exists()


@pytest.mark.parametrize(("flags", "message"), [
    (["--interval", "0.05"], "--interval must be 0.1..86400 seconds, got 0.05"),
    (["--interval", "86401"], "--interval must be 0.1..86400 seconds, got 86401.0"),
    (["--batch-max-age", "0"], "--batch-max-age must be > 0 and at most 31622400 seconds, "
                               "got 0.0"),
    (["--listen", "0.0.0.0:9108"], "--listen: listen must be a loopback address"),
    (["--listen", "9108"], "--listen: listen must be 'host:port' (IPv6 in brackets: "
                           "'[::1]:9108'), got '9108'"),
    # An unbracketed IPv6 address made the node print http://::1:19111 and `mrv edge status`
    # trace back (issue 9, M4); a URL httpx refuses later ended the uplink task (M3).
    (["--listen", "::1:19111"], "--listen: listen must be 'host:port' (IPv6 in brackets: "
                                "'[::1]:9108'), got '::1:19111'"),
    (["--listen", "[127.0.0.1]:9108"], "--listen: listen must be 'host:port' (IPv6 in "
                                       "brackets: '[::1]:9108')"),
    (["--uplink", "http://127.0.0.1:18700/a\nb"], "--uplink: U+000A (LINE FEED) is not "
                                                  "allowed in the URL"),
    (["--uplink", "http://127.0.0.1:18700/a b"], "--uplink: U+0020 (SPACE) is not allowed in "
                                                "the URL"),
    (["--uplink", "http://192.0.2.1"], "--uplink: plain http is allowed only to a loopback "
                                       "address"),
    (["--uplink", "ftp://127.0.0.1"], "--uplink: expected http(s)://HOST[:PORT][/PATH], got "
                                      "'ftp://127.0.0.1'"),
])
def test_init_refuses_a_bad_flag_naming_it_and_creates_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        flags: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MRV_KEY_PASSWORD", "edge-test")
    assert main(["edge", "init", "node", *flags, "--light-kdf"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mrv: error: {message}") and err.count("\n") == 1, err
    assert not (tmp_path / "node").exists()
