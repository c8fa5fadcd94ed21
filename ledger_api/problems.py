"""RFC 9457 problem details: every error the API answers is ``application/problem+json``.

A problem document has ``type`` (``urn:trustmrv:problem:<check>``), ``title``, ``status`` and
``detail`` (naming what was expected and what came), and two extensions: ``check``, the failed
check (``format``, ``too_large``, ``encoding``, ``domain``, ``device``, ``unavailable``,
``not_found``, ``method``...), and ``path``, the JSON path of the offending value when there is
one (``$.readings[3].salt``). :class:`Problem` is the pydantic model the OpenAPI document
declares for every error response.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

__all__ = ["PROBLEM_TYPE", "Problem", "problem_response", "problem_responses"]

PROBLEM_TYPE = "application/problem+json"


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: str
    title: str
    status: int
    detail: str
    check: str
    path: str | None = None


def problem_response(status: int, check: str, detail: str, *, path: str | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    """The problem+json response for ``status`` and ``check``."""
    problem = Problem(type=f"urn:trustmrv:problem:{check}", title=HTTPStatus(status).phrase,
                      status=status, detail=detail[:4096], check=check, path=path)
    return JSONResponse(problem.model_dump(exclude_none=True), status_code=status,
                        media_type=PROBLEM_TYPE, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """The ``responses=`` entries that declare ``statuses`` as problem+json in OpenAPI."""
    return {status: {"model": Problem, "description": HTTPStatus(status).phrase,
                     "content": {PROBLEM_TYPE: {}}}
            for status in statuses}
