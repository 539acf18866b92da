"""Idempotency under contention (issue 9): the same Idempotency-Key and body sent
concurrently gives exactly one 201 and only 200s with the same booking, even when
that request takes the last party of a pacing slot or the last table (the key used
to be checked before the slot lock only: 19 of 30 duplicates got 409)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from tests.concurrency.audit import overlaps, pacing_problems
from tests.conftest import DAY, small_venue

DUPLICATES = 30


def _statuses(responses: list[Any]) -> Counter[str]:
    return Counter(str(r.status_code) if r.status_code < 300 else r.json()["code"] for r in responses)


@pytest.mark.parametrize(
    "venue",
    [
        small_venue(tables=4, pacing={"max_parties_per_slot": 1}),  # the last party of the slot
        small_venue(tables=1),  # the last table
    ],
    ids=["last-pacing-party", "last-table"],
)
def test_concurrent_duplicates_give_one_201_and_200s(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str, venue: dict[str, Any]
) -> None:
    r = create_restaurant(venue)
    body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "Twin"}}
    path = f"/v1/restaurants/{r['id']}/bookings"
    responses = race_with_key(base_url, r["api_keys"]["channel"], path, [body] * DUPLICATES, "dup-key-1")
    assert _statuses(responses) == {"201": 1, "200": DUPLICATES - 1}
    assert len({resp.json()["id"] for resp in responses}) == 1
    with psycopg.connect(owner_url) as conn:
        assert conn.execute("SELECT count(*) FROM bookings WHERE restaurant_id = %s", [r["id"]]).fetchone() == (1,)
    assert overlaps(owner_url, r["id"]) == []
    assert pacing_problems(owner_url, r["id"]) == []


def test_concurrent_same_key_other_body_is_always_reused(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> None:
    r = create_restaurant(small_venue(tables=4, pacing={"max_parties_per_slot": 1}))
    first = {"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "Twin"}}
    other = {**first, "guest": {"name": "Impostor"}}
    path = f"/v1/restaurants/{r['id']}/bookings"
    bodies = [first, other] * (DUPLICATES // 2)
    responses = race_with_key(base_url, r["api_keys"]["channel"], path, bodies, "dup-key-2")
    winner = next(resp for resp in responses if resp.status_code == 201)
    winning_name = winner.json()["guest"]["name"]
    for body, resp in zip(bodies, responses, strict=True):
        if body["guest"]["name"] == winning_name:
            assert resp.status_code in (200, 201)
            assert resp.json()["id"] == winner.json()["id"]
        else:
            assert resp.status_code == 409, resp.text
            assert resp.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert _statuses(responses)["201"] == 1


def race_with_key(base_url: str, key: str, path: str, bodies: list[dict[str, Any]], idem: str) -> list[Any]:
    """POST every body at once from its own client, all with one Idempotency-Key."""
    barrier = threading.Barrier(len(bodies))
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": idem}

    def one(body: dict[str, Any]) -> httpx.Response:
        with httpx.Client(base_url=base_url, headers=headers, timeout=120) as c:
            barrier.wait()
            return c.post(path, json=body)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(one, bodies))
