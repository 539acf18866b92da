"""Outbox events are written in the same transaction as the change they describe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.conftest import DAY, client_for, small_venue


def _events(owner_url: str, rid: str) -> list[tuple[str, dict[str, Any]]]:
    with psycopg.connect(owner_url) as conn:
        return [
            (e, p)
            for e, p in conn.execute("SELECT event, payload FROM outbox WHERE restaurant_id = %s ORDER BY id", [rid])
        ]


def test_events_follow_the_changes(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str
) -> None:
    r = create_restaurant(small_venue(tables=1))
    base = f"/v1/restaurants/{r['id']}"
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        hold = staff.post(f"{base}/holds", json={"party_size": 2, "start": f"{DAY}T19:00"}).json()
        booking = staff.post(f"{base}/holds/{hold['id']}/confirm", json={"guest": {"name": "A"}}).json()
        staff.post(f"{base}/bookings/{booking['id']}/cancel")
        big = {"party_size": 9, "start": f"{DAY}T19:00", "guest": {"name": "B"}}
        refused = staff.post(f"{base}/bookings", json=big)
        assert refused.status_code == 409
    events = _events(owner_url, r["id"])
    assert [e for e, _ in events] == ["hold.created", "hold.confirmed", "booking.created", "booking.cancelled"]
    assert events[0][1]["id"] == hold["id"]
    assert events[1][1] == {"hold_id": hold["id"], "booking_id": booking["id"]}
    assert events[2][1] == booking
    assert events[3][1]["status"] == "cancelled"


def test_unknown_restaurant_is_404_for_admin(admin: httpx.Client) -> None:
    r = admin.get(
        "/v1/restaurants/00000000-0000-4000-8000-000000000000/availability", params={"date": DAY, "party_size": 2}
    )
    assert r.status_code == 404
    assert r.json()["code"] == "NOT_FOUND"
