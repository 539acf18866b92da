"""Schemathesis against the live server's /openapi.json: no 500 for any input, and
every response (status, content type, body) conforms to the published schema.

Bounded and deterministic so it fits in `make test`: a fixed number of examples per
operation, derandomized generation, no stateful phase. Every request is made with
the staff key of a freshly created restaurant (its id substituted for `{rid}`), and
the admin key for creating restaurants.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from seatwise.api.app import create_app
from tests.conftest import ADMIN_KEY, small_venue

MAX_EXAMPLES = 25

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "mode": "all", "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    }
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def tenant(base_url: str) -> dict[str, Any]:
    """A fresh restaurant with a booking and a hold whose ids some cases use."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60) as admin:
        made = admin.post("/v1/restaurants", json={**small_venue(tables=6), "slug": f"fuzz-{uuid.uuid4().hex[:12]}"})
        assert made.status_code == 201, made.text
        created: dict[str, Any] = made.json()
        base = f"/v1/restaurants/{created['id']}"
        guest = {"name": "Fuzz"}
        ids = {
            "booking_id": [
                admin.post(
                    f"{base}/bookings", json={"party_size": 2, "start": f"2027-04-0{n}T19:00", "guest": guest}
                ).json()["id"]
                for n in range(1, 4)
            ],
            "hold_id": [admin.post(f"{base}/holds", json={"party_size": 2, "start": "2027-04-05T19:00"}).json()["id"]],
        }
    created["ids"] = ids
    return created


def published_schema() -> dict[str, Any]:
    """The OpenAPI document the app serves. It depends on the routes only, so it is
    built here, at collection time, from the same factory that serves the live
    server (schemathesis' fixture-based loader does not run under this pytest);
    `test_live_schema_is_the_tested_one` pins that the two are the same."""
    document: dict[str, Any] = create_app(None).openapi()  # type: ignore[arg-type]  # no runtime needed
    return document


schema = schemathesis.openapi.from_dict(published_schema(), config=CONFIG)


def test_live_schema_is_the_tested_one(base_url: str) -> None:
    assert httpx.get(f"{base_url}/openapi.json").json() == published_schema()


@schema.parametrize()
def test_api_conforms(case: schemathesis.Case, base_url: str, tenant: dict[str, Any]) -> None:
    params = case.path_parameters or {}
    if "rid" in params:
        params["rid"] = tenant["id"]
    for name, known in tenant["ids"].items():
        # Deterministically, about half the cases address a real booking or hold.
        if name in params and len(str(params[name])) % 2 == 0:
            params[name] = known[len(str(params[name])) % len(known)]
    creating_restaurant = case.method == "POST" and case.path == "/v1/restaurants"
    key = ADMIN_KEY if creating_restaurant else tenant["api_keys"]["staff"]
    case.call_and_validate(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)
