"""POST/GET restaurants over real HTTP against the real app and database."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import client_for


def test_healthz_needs_no_key(anonymous: httpx.Client) -> None:
    r = anonymous.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_create_restaurant_returns_keys_and_is_readable(
    create_restaurant: Callable[..., dict[str, Any]], admin: httpx.Client, base_url: str
) -> None:
    created = create_restaurant()
    assert set(created["api_keys"]) == {"staff", "channel"}
    assert created["timezone"] == "Europe/London"
    assert created["tables"] >= 25
    got = admin.get(f"/v1/restaurants/{created['id']}")
    assert got.status_code == 200
    assert got.json()["slug"] == created["slug"]
    with client_for(base_url, created["api_keys"]["staff"]) as staff:
        assert staff.get(f"/v1/restaurants/{created['id']}").json()["id"] == created["id"]


def test_invalid_document_is_refused_whole_with_every_problem(
    admin: httpx.Client, demo_document: dict[str, Any], owner_url: str
) -> None:
    import psycopg

    doc = copy.deepcopy(demo_document)
    doc["slug"] = "broken-venue-doc"
    doc["tables"][3]["zone"] = "patio"
    doc["policy"]["max_tables_per_combination"] = 9
    doc["timezone"] = "Mars/Olympus"
    r = admin.post("/v1/restaurants", json=doc)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "INVALID_VENUE"
    paths = {p["path"] for p in body["problems"]}
    assert {"tables[3].zone", "policy.max_tables_per_combination", "timezone"} <= paths
    with psycopg.connect(owner_url) as conn:
        assert conn.execute("SELECT count(*) FROM restaurants WHERE slug = 'broken-venue-doc'").fetchone() == (0,)


def test_duplicate_slug_is_409(
    create_restaurant: Callable[..., dict[str, Any]], admin: httpx.Client, demo_document: dict[str, Any]
) -> None:
    created = create_restaurant()
    doc = copy.deepcopy(demo_document)
    doc["slug"] = created["slug"]
    r = admin.post("/v1/restaurants", json=doc)
    assert r.status_code == 409
    assert r.json()["code"] == "SLUG_TAKEN"


def test_non_object_body_and_missing_key(admin: httpx.Client, anonymous: httpx.Client) -> None:
    r = admin.post("/v1/restaurants", content=b"[1, 2", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["code"] == "VALIDATION_ERROR"
    r = anonymous.post("/v1/restaurants", json={})
    assert r.status_code == 401
    assert r.json()["code"] == "UNAUTHENTICATED"


def test_restaurant_keys_cannot_create_restaurants_or_see_others(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, demo_document: dict[str, Any]
) -> None:
    a = create_restaurant()
    b = create_restaurant()
    with client_for(base_url, a["api_keys"]["staff"]) as staff:
        assert staff.post("/v1/restaurants", json=demo_document).json()["code"] == "FORBIDDEN"
        other = staff.get(f"/v1/restaurants/{b['id']}")
        assert other.status_code == 404
        assert other.json()["code"] == "NOT_FOUND"
        assert staff.get("/v1/restaurants/not-a-uuid").status_code == 404


def test_unknown_route_is_problem_json(anonymous: httpx.Client) -> None:
    r = anonymous.get("/nope")
    assert r.status_code == 404
    assert r.json()["code"] == "NOT_FOUND"


def test_venue_export_round_trips(
    create_restaurant: Callable[..., dict[str, Any]], admin: httpx.Client, demo_document: dict[str, Any]
) -> None:
    from seatwise.core.venue_doc import normalise_document

    created = create_restaurant()
    exported = admin.get(f"/v1/restaurants/{created['id']}/venue").json()
    expected = normalise_document({**demo_document, "slug": created["slug"]})
    assert exported == expected


def test_metrics_are_prometheus_and_need_no_key(anonymous: httpx.Client) -> None:
    anonymous.get("/healthz")
    r = anonymous.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert 'seatwise_http_requests_total{method="GET",route="/healthz",status="200"}' in r.text
    names = {line.split()[2] for line in r.text.splitlines() if line.startswith("# TYPE")}
    assert names
    assert all(n.startswith("seatwise_") for n in names)
