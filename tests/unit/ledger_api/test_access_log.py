"""The access log (:mod:`ledger_api.access_log`): one ``http_request`` event per request with
its status, size, time, principal or device and request id; no key, header or query text in it;
and the JSON line it becomes in the served API's log file."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from ledger_support import API_SECRET, StaticDevices, bearer, new_principal
from sqlalchemy import Engine
from structlog.testing import capture_logs

from factories import TEST_DOMAIN, TEST_KEY, signed_readings
from ledger_api.access import PUBLIC, Role, declare
from ledger_api.app import Services, create_app
from ledger_api.db.engine import make_sessions
from mrv_core.codec import format_address
from mrv_core.json_logs import configure_logging
from mrv_core.uplink import UPLINK_PATH, UplinkRequest, encode_request

GZIP_JSON = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
ENTERPRISE = b"\x0e" * 20


@pytest.fixture
def client(sqlite_ledger_engine: Engine) -> Iterator[TestClient]:
    engine = sqlite_ledger_engine
    services = Services(engine, make_sessions(engine),
                        devices=StaticDevices({TEST_KEY.address}), domain=TEST_DOMAIN,
                        api_secret=API_SECRET)
    with TestClient(create_app(services)) as client:
        yield client


def requests_logged(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == "http_request"]


def test_each_request_is_logged_once_with_method_path_status_size_and_time(
        client: TestClient) -> None:
    with capture_logs() as logs:
        health = client.get("/healthz")
        missing = client.get("/no/such/route")
    first, second = requests_logged(logs)
    assert (first["method"], first["path"], first["status"]) == ("GET", "/healthz", 200)
    assert first["bytes_out"] == len(health.content) and first["log_level"] == "info"
    assert first["duration_ms"] >= 0 and first["client"] == "testclient"
    assert (second["path"], second["status"], second["bytes_out"]) == \
        ("/no/such/route", 404, len(missing.content))
    assert "principal" not in first and "device" not in first


def test_the_principal_is_named_by_id_and_its_key_appears_nowhere(
        client: TestClient, sqlite_ledger_engine: Engine) -> None:
    principal, key = new_principal(sqlite_ledger_engine, Role.ENTERPRISE_ADMIN, ENTERPRISE)
    with capture_logs() as logs:
        answered = client.get("/v1/readings", params={"limit": 5}, headers=bearer(key))
        refused = client.get("/v1/readings", headers=bearer(key[:-4] + "AAAA"))
    assert (answered.status_code, refused.status_code) == (200, 401)
    ok, bad = requests_logged(logs)
    assert (ok["status"], ok["principal"]) == (200, principal)
    assert bad["status"] == 401 and "principal" not in bad
    assert ok["query_bytes"] == len("limit=5")
    assert key[21:] not in repr(logs) and key[:20] not in repr(logs)


def test_an_uplink_request_is_logged_with_its_device(client: TestClient) -> None:
    request = UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN, signed_readings(2))
    with capture_logs() as logs:
        response = client.post(UPLINK_PATH, content=encode_request(request), headers=GZIP_JSON)
    assert response.status_code == 200
    (entry,) = requests_logged(logs)
    assert entry["device"] == format_address(TEST_KEY.address)
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", UPLINK_PATH, 200)


def test_a_well_formed_request_id_is_echoed_and_logged(client: TestClient) -> None:
    with capture_logs() as logs:
        response = client.get("/healthz", headers={"X-Request-ID": "edge-7.poll_42"})
    assert response.headers["x-request-id"] == "edge-7.poll_42"
    assert requests_logged(logs)[0]["request_id"] == "edge-7.poll_42"


@pytest.mark.parametrize("offered", [b"x" * 65, b"a b", b"id\xc3\xa9", b"a\"}{\"status\":200", b""],
                         ids=["too-long", "space", "non-ascii", "json-injection", "empty"])
def test_a_hostile_or_missing_request_id_is_replaced_by_a_fresh_one(
        client: TestClient, offered: bytes) -> None:
    headers = {"X-Request-ID": offered} if offered else {}
    with capture_logs() as logs:
        response = client.get("/healthz", headers=headers)
    given = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", given)
    assert requests_logged(logs)[0]["request_id"] == given


def test_every_answer_carries_a_distinct_request_id(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(20)}
    assert len(ids) == 20


def test_the_log_file_gets_one_json_line_per_request(client: TestClient, tmp_path: Path) -> None:
    log = tmp_path / "api.jsonl"
    logs = configure_logging(str(log), key="--log")
    try:
        client.get("/healthz", headers={"X-Request-ID": "probe-1"})
        client.get("/v1/readings")  # no key: 401, logged as an access refusal and a request
    finally:
        logs.close()
    events = [json.loads(line) for line in log.read_text().splitlines()]
    requests = [e for e in events if e["event"] == "http_request"]
    assert [(e["path"], e["status"]) for e in requests] == [("/healthz", 200),
                                                           ("/v1/readings", 401)]
    assert requests[0]["request_id"] == "probe-1" and requests[0]["timestamp"].endswith("Z")
    assert all(e["level"] == "info" for e in requests)
    assert structlog.is_configured() is False  # closing the log reset structlog


def test_an_unhandled_error_is_a_500_problem_with_the_request_id_and_logged(
        sqlite_ledger_engine: Engine) -> None:
    engine = sqlite_ledger_engine
    app = create_app(Services(engine, make_sessions(engine), api_secret=API_SECRET))

    @app.get("/boom", dependencies=[declare(PUBLIC)])
    def boom() -> None:
        raise RuntimeError("secret detail of the failure")

    with TestClient(app) as client, capture_logs() as logs:
        answer = client.get("/boom", headers={"X-Request-ID": "probe-500"})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["x-request-id"] == "probe-500"
    assert answer.json()["check"] == "internal" and "secret detail" not in answer.text
    (line,) = requests_logged(logs)
    assert (line["status"], line["error"], line["log_level"]) == (500, "RuntimeError", "error")
    assert any(e["event"] == "unhandled_error" and e["request_id"] == "probe-500" for e in logs)
