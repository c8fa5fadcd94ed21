"""The ledger API over HTTP (ASGI, in process): problem documents for every refusal, the
operations endpoints. Ingest's own rules are in ingest/test_service.py; the edge node against
the served API in tests/integration/ledger_api."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from ledger_support import API_SECRET, StaticDevices, bearer, new_principal
from sqlalchemy import Engine, text

from factories import TEST_DOMAIN, TEST_KEY, signed_readings
from ledger_api.access import Role
from ledger_api.app import Services, create_app
from ledger_api.db.engine import make_engine, make_sessions
from mrv_core.uplink import LIMITS, UPLINK_PATH, UplinkRequest, decode_ack, encode_request

GZIP_JSON = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


@pytest.fixture
def api(ledger_engine: Engine) -> Iterator[TestClient]:
    services = Services(ledger_engine, make_sessions(ledger_engine),
                        devices=StaticDevices({TEST_KEY.address}), domain=TEST_DOMAIN,
                        api_secret=API_SECRET)
    with TestClient(create_app(services)) as client:
        yield client


def assert_problem(response: object, status: int, check: str) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status and body["check"] == check
    assert body["type"] == f"urn:trustmrv:problem:{check}" and body["detail"]
    return body


def test_an_uplink_request_is_answered_with_its_acknowledgement(api: TestClient) -> None:
    request = UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN, signed_readings(3))
    response = api.post(UPLINK_PATH, content=encode_request(request), headers=GZIP_JSON)
    assert response.status_code == 200
    ack = decode_ack(response.content, None, request)
    assert [v.status.value for v in ack.verdicts] == ["accepted"] * 3


@pytest.mark.parametrize(("body", "path"), [
    (gzip.compress(b"{not json", mtime=0), "$"),
    (gzip.compress(b'{"format": "trustmrv-uplink/9"}', mtime=0), "$"),
    (b"\x1f\x8b garbage", "$"),
], ids=["not-json", "another-format", "not-gzip"])
def test_a_malformed_body_is_a_400_problem_naming_where(api: TestClient, body: bytes,
                                                        path: str) -> None:
    problem = assert_problem(api.post(UPLINK_PATH, content=body, headers=GZIP_JSON), 400,
                             "format")
    assert str(problem["path"]).startswith(path)


def test_an_uncompressed_body_or_another_content_type_is_a_415_problem(api: TestClient) -> None:
    assert_problem(api.post(UPLINK_PATH, content=b"{}",
                            headers={"Content-Type": "application/json"}), 415, "encoding")
    assert_problem(api.post(UPLINK_PATH, content=gzip.compress(b"{}"),
                            headers={"Content-Type": "text/plain",
                                     "Content-Encoding": "gzip"}), 415, "encoding")


def test_a_body_over_the_limit_is_a_413_problem(api: TestClient) -> None:
    big = b"\0" * (LIMITS.compressed_bytes + 1)
    assert_problem(api.post(UPLINK_PATH, content=big, headers=GZIP_JSON), 413, "too_large")


def test_an_unknown_path_and_a_wrong_method_are_problems(api: TestClient) -> None:
    assert_problem(api.get("/v1/nothing"), 404, "not_found")
    assert_problem(api.get(UPLINK_PATH), 405, "method")


def test_without_a_chain_ingest_answers_503_and_says_why(ledger_engine: Engine) -> None:
    app = create_app(Services(ledger_engine, make_sessions(ledger_engine)))
    request = UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN, signed_readings(1))
    with TestClient(app) as client:
        response = client.post(UPLINK_PATH, content=encode_request(request), headers=GZIP_JSON)
    problem = assert_problem(response, 503, "unavailable")
    assert "without a chain" in str(problem["detail"])
    assert response.headers["retry-after"] == "5"


def test_health_readiness_and_metrics(api: TestClient, ledger_engine: Engine) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/readyz").json() == {"status": "ready",
                                         "database": ledger_engine.dialect.name,
                                         "chain": "not configured",
                                         "watcher": "not configured",
                                         "watcher_last_poll_age_ms": None}
    request = UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN, signed_readings(2))
    api.post(UPLINK_PATH, content=encode_request(request), headers=GZIP_JSON)
    _, key = new_principal(ledger_engine, Role.ASSOCIATION)
    metrics = api.get("/metrics", headers=bearer(key)).text
    assert 'mrv_api_uplink_items_total{kind="SignedReading",status="accepted"} 2.0' in metrics
    assert 'mrv_api_uplink_requests_total{status="200"} 1.0' in metrics


def test_readiness_fails_on_a_database_without_the_schema(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/empty.sqlite")
    try:
        with TestClient(create_app(Services(engine, make_sessions(engine)))) as client:
            problem = assert_problem(client.get("/readyz"), 503, "unavailable")
        assert "mrv api migrate" in str(problem["detail"])
    finally:
        engine.dispose()


def test_reads_and_key_checks_do_not_queue_behind_a_writer_on_sqlite(
        sqlite_ledger_engine: Engine) -> None:
    engine = sqlite_ledger_engine
    _, key = new_principal(engine, Role.ENTERPRISE_READER, b"\x0e" * 20)
    services = Services(engine, make_sessions(engine), api_secret=API_SECRET)
    with TestClient(create_app(services)) as client, make_sessions(engine).begin() as writer:
        writer.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: this session holds the write lock
        # Before readers began DEFERRED, the key check waited out the busy timeout: a 503.
        answer = client.get("/v1/devices", headers=bearer(key))
        assert answer.status_code == 200, answer.text
        assert client.get("/v1/readings", headers=bearer(key)).status_code == 200
