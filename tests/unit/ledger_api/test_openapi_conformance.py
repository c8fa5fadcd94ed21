"""schemathesis against the ledger API's own OpenAPI document (in process, ASGI): for inputs
generated from the document, no 5xx, no response that breaks its declared schema, no status
code the document does not declare (THREATS.md: garbage into the API)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from ledger_support import StaticDevices
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from factories import TEST_DOMAIN, TEST_KEY
from ledger_api.app import Services, create_app
from ledger_api.db.engine import make_sessions

#: What the issue asks of every response: no 5xx, a declared status code, the declared media
#: type, headers and body schema. Not schemathesis's acceptance of "schema-valid" requests: an
#: uplink body is gzip-compressed JSON, which OpenAPI describes only as binary, so most bytes
#: valid by the document are rightly refused with 400.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture
def api_schema(sqlite_ledger_engine: Engine) -> object:
    engine = sqlite_ledger_engine
    services = Services(engine, make_sessions(engine), devices=StaticDevices({TEST_KEY.address}),
                        domain=TEST_DOMAIN)
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(services))


def test_every_operation_answers_as_its_document_says(api_schema: object) -> None:
    """Each operation of the document, with cases its schema generates (schemathesis's
    strategies driven by hypothesis directly: its pytest plugin does not load under this
    suite's import mode)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[attr-defined]
    assert {op.label for op in operations} >= {"POST /v1/uplink", "GET /healthz"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        conforms()
