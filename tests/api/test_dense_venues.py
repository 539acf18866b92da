"""Dense venues over real HTTP (issue 15): the 40-table all-adjacent zone books and
answers availability; a venue whose combinations exceed the planner's work bound is
refused whole as INVALID_VENUE, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from typing import Any

import httpx
import psycopg

from tests.conftest import DAY, client_for, small_venue

GUEST = {"name": "Ada Lovelace"}


def dense(
    mode: str, seats: Callable[[int], int] = lambda _: 2, adjacent: Callable[[int, int], bool] = lambda *_: True
) -> dict[str, Any]:
    doc = small_venue(tables=40, seats=2)
    doc["slug"] = "dense-hall"
    doc["policy"].update(adjacency_mode=mode, max_tables_per_combination=5)
    for i, table in enumerate(doc["tables"], start=1):
        table["seats"] = seats(i)
    doc["adjacency"] = [[f"T{a}", f"T{b}"] for a, b in combinations(range(1, 41), 2) if adjacent(a, b)]
    return doc


def test_forty_adjacent_two_tops_book_parties_of_ten_and_seven(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> None:
    for mode in ("connected", "pairwise", "neighbors"):
        r = create_restaurant(dense(mode))
        base = f"/v1/restaurants/{r['id']}"
        with client_for(base_url, r["api_keys"]["channel"]) as channel:
            slots = channel.get(f"{base}/availability", params={"date": DAY, "party_size": 10})
            assert slots.status_code == 200, slots.text
            assert all(s["available"] for s in slots.json()["slots"])
            ten = channel.post(f"{base}/bookings", json={"party_size": 10, "start": f"{DAY}T19:00", "guest": GUEST})
            assert ten.status_code == 201, ten.text
            assert ten.json()["tables"] == ["T1", "T2", "T3", "T4", "T5"]
            seven = channel.post(f"{base}/bookings", json={"party_size": 7, "start": f"{DAY}T19:00", "guest": GUEST})
            assert seven.status_code == 201, seven.text
            assert seven.json()["tables"] == ["T6", "T7", "T8", "T9"]


def test_a_venue_beyond_the_planning_bound_is_refused_and_nothing_is_written(
    admin: httpx.Client, owner_url: str
) -> None:
    # All but every 31st pair adjacent and three seat sizes: no identical tables to
    # merge, so planning could search hundreds of thousands of combinations.
    doc = dense("connected", seats=lambda i: 2 + 2 * (i % 3), adjacent=lambda a, b: bool((a * 7 + b * 13) % 31))
    doc["slug"] = "too-dense-hall"
    r = admin.post("/v1/restaurants", json=doc)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "INVALID_VENUE"
    [problem] = body["problems"]
    assert problem["path"] == "adjacency"
    assert "lower policy.max_tables_per_combination" in problem["message"]
    with psycopg.connect(owner_url) as conn:
        assert conn.execute("SELECT count(*) FROM restaurants WHERE slug = 'too-dense-hall'").fetchone() == (0,)
    doc["policy"]["max_tables_per_combination"] = 2  # a smaller k fits the bound
    assert admin.post("/v1/restaurants", json=doc).status_code == 201
