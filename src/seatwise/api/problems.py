"""The problem+json contract in the OpenAPI document.

Every refusal is rendered by one handler (api/app.py) as
`application/problem+json`; these declarations make the published schema say so,
so clients and schemathesis can hold each response to it.
"""

from __future__ import annotations

from typing import Any

from seatwise.core.errors import ERROR_CATALOGUE, ErrorCode

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
