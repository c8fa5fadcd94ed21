"""`mrv api serve` as an operator runs it, in a process of its own on 127.0.0.1: its log is JSON
lines only, one access-log line per request (uvicorn's plain-text access log is off), and a log
destination it cannot use is refused before it listens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from ledger_support import API_SECRET

from ledger_api.db.engine import make_engine
from ledger_api.db.migrate import upgrade

from .conftest import free_port


def _environment() -> dict[str, str]:
    return {**os.environ, "MRV_API_SECRET": API_SECRET.decode()}


def _migrated(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _wait_until_answering(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mrv api serve exited {process.returncode}: "
                        f"{process.stderr.read() if process.stderr else ''}", pytrace=False)
        try:
            httpx.get(url + "/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("mrv api serve did not answer within 60 s", pytrace=False)


def test_the_served_api_logs_one_json_line_per_request_and_no_plain_text(
        tmp_path: Path) -> None:
    log, port = tmp_path / "api.jsonl", free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "mrv_cli.main", "api", "serve", "--database", _migrated(tmp_path),
         "--port", str(port), "--log", str(log)],
        env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_answering(url, process)
        with httpx.Client(base_url=url) as client:
            answers = [client.get("/healthz", headers={"X-Request-ID": f"probe-{i}"})
                       for i in range(3)]
            answers.append(client.get("/v1/readings"))  # no key
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr  # SIGTERM: a clean stop, exit 0 (README)
    assert stdout.startswith("ledger API on http://127.0.0.1:")
    assert [a.status_code for a in answers] == [200, 200, 200, 401]
    events = [json.loads(line) for line in log.read_text().splitlines()]  # JSON, every line
    logged = [(e["request_id"], e["path"], e["status"]) for e in events
              if e["event"] == "http_request"]
    assert logged[-4:-1] == [(f"probe-{i}", "/healthz", 200) for i in range(3)]
    assert logged[-1][1:] == ("/v1/readings", 401)
    assert logged[-1][0] == answers[-1].headers["x-request-id"]
    assert "HTTP/1.1" not in stderr  # no plain-text access line from uvicorn
    assert any(e["event"] == "stopped" and e["signal"] == "SIGTERM" for e in events)


def test_a_database_not_migrated_is_refused_before_the_listen_line(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "mrv_cli.main", "api", "serve", "--database",
         f"sqlite:///{tmp_path / 'missing.sqlite'}", "--port", str(free_port())],
        env=_environment(), capture_output=True, text=True, timeout=60)
    assert completed.returncode == 2 and "mrv api migrate" in completed.stderr
    assert completed.stdout == ""


def test_a_log_destination_that_is_a_directory_is_refused_before_listening(
        tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "mrv_cli.main", "api", "serve", "--database", _migrated(tmp_path),
         "--port", str(free_port()), "--log", str(tmp_path)],
        env=_environment(), capture_output=True, text=True, timeout=60)
    assert completed.returncode == 2
    assert "--log" in completed.stderr and "expected a regular file" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert "ledger API on" not in completed.stdout  # refused before the listen line
