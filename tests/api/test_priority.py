"""Zone and table priority over real HTTP: bookings fill the preferred zone first,
bad priorities are refused whole, and the venue schema documents the field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.conftest import DAY, client_for, small_venue


def bar_and_main() -> dict[str, Any]:
    doc = small_venue(tables=4, seats=2)
    doc["zones"] = [{"key": "bar", "name": "Bar"}, {"key": "main", "name": "Main room", "priority": 10}]
    # Bar tables come first in label order: without priorities they would be taken first.
    doc["tables"] = [
        {"label": "A1", "zone": "bar", "seats": 2},
        {"label": "A2", "zone": "bar", "seats": 2},
        {"label": "M1", "zone": "main", "seats": 2},
        {"label": "M2", "zone": "main", "seats": 2, "priority": 5},
    ]
    return doc


def test_bookings_land_in_the_higher_priority_zone_first(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> None:
    created = create_restaurant(bar_and_main())
    rid = created["id"]
    taken = []
    with client_for(base_url, created["api_keys"]["channel"]) as channel:
        for n in range(4):
            body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": f"Guest {n}"}}
            r = channel.post(f"/v1/restaurants/{rid}/bookings", json=body)
            assert r.status_code == 201, r.text
            taken.append(r.json()["tables"])
    # Main room (10) first, then its table with its own priority 5, then the bar (0).
    assert taken == [["M1"], ["M2"], ["A1"], ["A2"]]


def test_priorities_are_exported_as_written(
    create_restaurant: Callable[..., dict[str, Any]], admin: httpx.Client
) -> None:
    created = create_restaurant(bar_and_main())
    exported = admin.get(f"/v1/restaurants/{created['id']}/venue").json()
    assert exported["zones"] == [{"key": "bar", "name": "Bar"}, {"key": "main", "name": "Main room", "priority": 10}]
    assert [t.get("priority") for t in exported["tables"]] == [None, None, None, 5]
    # Replacing the venue with a changed priority changes the ranking at once.
    changed = copy.deepcopy(exported)
    changed["zones"][0]["priority"] = 50
    assert admin.put(f"/v1/restaurants/{created['id']}/venue", json=changed).status_code == 200
    again = admin.get(f"/v1/restaurants/{created['id']}/venue").json()
    assert again["zones"][0]["priority"] == 50


def test_bad_priorities_are_refused_whole(admin: httpx.Client, owner_url: str) -> None:
    doc = bar_and_main()
    doc["slug"] = "bad-priorities"
    doc["zones"][1]["priority"] = 101
    doc["tables"][0]["priority"] = "first"
    r = admin.post("/v1/restaurants", json=doc)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "INVALID_VENUE"
    assert {"zones[1].priority", "tables[0].priority"} <= {p["path"] for p in body["problems"]}
    with psycopg.connect(owner_url) as conn:
        assert conn.execute("SELECT count(*) FROM restaurants WHERE slug = 'bad-priorities'").fetchone() == (0,)


def test_the_venue_schema_documents_priority(anonymous: httpx.Client) -> None:
    schemas = anonymous.get("/openapi.json").json()["components"]["schemas"]
    zone, table = schemas["ZoneDoc"]["properties"]["priority"], schemas["TableDoc"]["properties"]["priority"]
    assert zone["maximum"] == 100
    assert zone["default"] == 0
    assert "filled first" in zone["description"]
    assert any(branch.get("maximum") == 100 for branch in table.get("anyOf", [table]))
