"""Request bodies read with a bound, and JSON bodies read strictly after authentication.

A body past its limit is refused without being read further (``DocumentTooLarge``, answered
413). A route whose body is a JSON model does not let FastAPI parse it: FastAPI reads the whole
body and hands it to the standard ``json`` decoder before any dependency runs, so a caller
without a key could send a body of any size, duplicate keys (the last one winning), or nesting
deep enough to overflow the C stack in a process whose recursion limit py-evm has raised (a
crash, not an error). :func:`read_model` reads it in the route, after the key was checked: at
most ``limit`` bytes, through :func:`mrv_core.strict_json.loads_strict` (bounded depth, no
duplicate keys, no floats), then validated by the model; each refusal is a
:class:`~ledger_api.errors.BodyRefused` naming where. :func:`model_request_body` declares the
model in the OpenAPI document as FastAPI would.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from mrv_core.errors import DocumentTooLarge, FormatError
from mrv_core.strict_json import loads_strict

from .errors import BodyRefused

__all__ = ["JSON_BODY_LIMIT", "model_request_body", "read_body", "read_model", "validate_model"]

M = TypeVar("M", bound=BaseModel)

#: Bytes of a JSON request body: a multiproof request of 1,024 readings is about 110 KB.
JSON_BODY_LIMIT = 256 * 1024
#: Nesting of a JSON request body: the routes' models need 3 levels.
JSON_BODY_DEPTH = 8


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing one past ``limit`` bytes (by its Content-Length, or once
    ``limit + 1`` bytes arrived)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise DocumentTooLarge("$", f"body is {int(declared)} bytes, limit {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise DocumentTooLarge("$", f"body is over {limit} bytes")
    return bytes(body)


async def read_model(request: Request, model: type[M], *, limit: int = JSON_BODY_LIMIT) -> M:
    """The request's JSON body as ``model``. Raises :class:`BodyRefused`: 413 ``too_large``
    past ``limit`` bytes, 400 ``format`` for text that is not strict JSON (its JSON path), 422
    ``format`` for JSON that is not the model (the path of the first field in error)."""
    try:
        data = await read_body(request, limit)
    except DocumentTooLarge as exc:
        raise BodyRefused(413, "too_large", exc.problem) from None
    try:
        document = loads_strict(data, max_bytes=limit, max_depth=JSON_BODY_DEPTH)
    except FormatError as exc:
        raise BodyRefused(400, "format", exc.problem, path=exc.where) from None
    return validate_model(model, document)


def validate_model(model: type[M], document: object) -> M:
    """``document`` (parsed JSON) as ``model``; raises :class:`BodyRefused` (422 ``format``)
    with the JSON path of the first field in error."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                              for p in first.get("loc", ()))
        raise BodyRefused(422, "format", str(first.get("msg")), path=where) from None


def model_request_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` declaring a required JSON body of ``model`` (its JSON Schema with the
    nested models inlined, so the document needs no component for them)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": inline(schema)}}}}
