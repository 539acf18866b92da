"""A query string validated as one pydantic model, for the hottest read routes.

FastAPI resolves each declared query or header parameter on every request (for a
route with five parameters, about a third of a cached availability answer's CPU,
measured). A route that takes `Request` and calls `parse_query` validates its whole
query in one `model_validate`; `query_parameters` documents the same fields in the
OpenAPI document, and a refusal is the `RequestValidationError` FastAPI would raise,
so it is rendered by the same handler (422 VALIDATION_ERROR, each field's path).
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Q = TypeVar("Q", bound=BaseModel)


def parse_query(model: type[Q], request: Request) -> Q:
    """The request's query as `model` (a repeated parameter: its last value, as
    FastAPI takes it); unknown parameters are ignored."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def query_parameters(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` declaring `model`'s fields as query parameters."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    parameters = []
    for name, field in schema["properties"].items():
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": field}
        if "description" in field:
            parameter["description"] = field["description"]
        parameters.append(parameter)
    return {"parameters": parameters}
