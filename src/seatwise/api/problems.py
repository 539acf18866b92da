"""The problem+json answers and their contract in the OpenAPI document.

Every refusal is rendered by `problem_response` as `application/problem+json` (the
app's handlers and the fast path call it), any other error by
`unexpected_response`; the declarations below make the published schema say so, so
clients and schemathesis can hold each response to it.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from seatwise import logs, telemetry
from seatwise.core.errors import ERROR_CATALOGUE, DatabaseUnavailable, ErrorCode, InternalError, SeatwiseError

_log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details with a stable `code`; refusals add structured fields "
    "(`checks`, `alternatives`, `bookings`, `problems`, `errors`...).",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "enum": [c.value for c in ErrorCode]},
        "checks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["check", "ok", "message"],
                "properties": {"check": {"type": "string"}, "ok": {"type": "boolean"}, "message": {"type": "string"}},
            },
        },
        "alternatives": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": True,
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries declaring problem+json answers for `statuses`."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        codes = sorted(c.value for c, (s, _, _) in ERROR_CATALOGUE.items() if s == status)
        out[status] = {
            "description": " / ".join(codes) or "problem",
            "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}},
        }
    return out


# Every route behind an API key may answer these.
TENANT_PROBLEMS = problems(401, 403, 404, 409, 422)


def unexpected_response(exc: Exception) -> JSONResponse:
    """The answer to an error that is not a refusal: 503 for the database (store/db.py
    turns its errors into DatabaseUnavailable; this is the net under it), else 500."""
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError | PoolTimeout):
        _log.warning("database error outside the store: %s", exc)
        return problem_response(DatabaseUnavailable("the database is unreachable; retry shortly"))
    _log.exception("unhandled error", exc_info=exc)
    return problem_response(InternalError("internal error"))


def problem_response(error: SeatwiseError) -> JSONResponse:
    telemetry.REFUSALS.labels(error.code.value).inc()
    body = error.problem()
    body["request_id"] = logs.request_id.get()  # the same id as the response header and the log lines
    headers = {}
    if isinstance(error, DatabaseUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    if error.code is ErrorCode.UNAUTHENTICATED:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=error.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)
