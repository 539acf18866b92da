"""Pins (a booking kept on its tables; re-seating and optimize never move it) over
real HTTP: which writes pin, PATCH pinned, and its refusals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.api.test_staff import GUEST, book, floor, move
from tests.conftest import DAY, client_for


@pytest.fixture
def room(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> Iterator[tuple[str, httpx.Client, httpx.Client]]:
    r = create_restaurant(floor())
    with client_for(base_url, r["api_keys"]["staff"]) as staff, client_for(base_url, r["api_keys"]["channel"]) as ch:
        yield f"/v1/restaurants/{r['id']}", staff, ch


def _stored_pin(owner_url: str, booking_id: str) -> bool:
    with psycopg.connect(owner_url) as conn:
        row = conn.execute("SELECT pinned FROM bookings WHERE id = %s", [booking_id]).fetchone()
    assert row is not None
    return bool(row[0])


def test_named_tables_pin_and_a_planned_booking_does_not(
    room: tuple[str, httpx.Client, httpx.Client], owner_url: str
) -> None:
    base, staff, _ = room
    planned = book(staff, base, 4, "19:00")
    named = book(staff, base, 4, "19:00", ["T3"])
    assert planned["pinned"] is False
    assert named["pinned"] is True
    assert _stored_pin(owner_url, planned["id"]) is False
    assert _stored_pin(owner_url, named["id"]) is True
    assert staff.get(f"{base}/bookings/{named['id']}").json()["pinned"] is True


def test_a_hold_on_named_tables_confirms_into_a_pinned_booking(room: tuple[str, httpx.Client, httpx.Client]) -> None:
    base, _, channel = room
    named = channel.post(f"{base}/holds", json={"party_size": 2, "start": f"{DAY}T19:00", "table_labels": ["P1"]})
    planned = channel.post(f"{base}/holds", json={"party_size": 2, "start": f"{DAY}T19:00"})
    assert named.status_code == 201, named.text
    assert planned.status_code == 201, planned.text
    pins = []
    for hold in (named.json(), planned.json()):
        confirmed = channel.post(f"{base}/holds/{hold['id']}/confirm", json={"guest": GUEST})
        assert confirmed.status_code == 201, confirmed.text
        pins.append(confirmed.json()["pinned"])
    assert pins == [True, False]


def test_staff_assignment_pins(room: tuple[str, httpx.Client, httpx.Client]) -> None:
    base, staff, _ = room
    b = book(staff, base, 4, "19:00")
    moved = move(staff, base, b, ["T2"])
    assert moved.status_code == 200, moved.text
    assert moved.json()["pinned"] is True


def test_patch_pins_and_unpins_and_changes_nothing_else(
    room: tuple[str, httpx.Client, httpx.Client], owner_url: str
) -> None:
    base, staff, _ = room
    b = book(staff, base, 4, "19:00")
    pinned = staff.patch(f"{base}/bookings/{b['id']}", json={"pinned": True})
    assert pinned.status_code == 200, pinned.text
    assert pinned.json() == {**b, "pinned": True}
    assert _stored_pin(owner_url, b["id"]) is True
    unpinned = staff.patch(f"{base}/bookings/{b['id']}", json={"pinned": False})
    assert unpinned.json() == {**b, "pinned": False}
    # With a reschedule, in the same transaction.
    both = staff.patch(f"{base}/bookings/{b['id']}", json={"start": f"{DAY}T20:00", "pinned": True})
    assert both.status_code == 200, both.text
    assert both.json()["pinned"] is True
    assert both.json()["start"].startswith(f"{DAY}T20:00")


def test_pin_refusals_are_clean_and_write_nothing(room: tuple[str, httpx.Client, httpx.Client], owner_url: str) -> None:
    base, staff, channel = room
    b = book(staff, base, 4, "19:00")
    url = f"{base}/bookings/{b['id']}"
    not_bool = staff.patch(url, json={"pinned": "yes"})
    assert not_bool.status_code == 422
    assert not_bool.headers["content-type"].startswith("application/problem+json")
    empty = staff.patch(url, json={})
    assert empty.status_code == 422
    assert empty.json()["code"] == "VALIDATION_ERROR"
    assert channel.patch(url, json={"pinned": True}).status_code == 403
    missing = staff.patch(f"{base}/bookings/00000000-0000-4000-8000-000000000000", json={"pinned": True})
    assert missing.status_code == 404
    assert _stored_pin(owner_url, b["id"]) is False
    assert staff.post(f"{url}/cancel").status_code == 200
    cancelled = staff.patch(url, json={"pinned": True})
    assert cancelled.status_code == 409
    assert cancelled.json()["code"] == "ILLEGAL_TRANSITION"
    assert _stored_pin(owner_url, b["id"]) is False
