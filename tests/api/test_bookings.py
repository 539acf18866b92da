"""The booking flows over real HTTP: availability, holds, confirm, direct bookings,
status changes, timeline."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import DAY, client_for, small_venue

GUEST = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0000"}


@pytest.fixture
def room(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> Iterator[tuple[dict[str, Any], httpx.Client]]:
    r = create_restaurant(small_venue(tables=2, hold_ttl_seconds=2, pacing={"max_covers_per_slot": 10}))
    with client_for(base_url, r["api_keys"]["channel"]) as channel:
        yield r, channel


def test_availability_lists_every_slot_and_answers_a_time(room: tuple[dict[str, Any], httpx.Client]) -> None:
    r, channel = room
    body = channel.get(f"/v1/restaurants/{r['id']}/availability", params={"date": DAY, "party_size": 2}).json()
    times = [s["time"] for s in body["slots"]]
    assert times[0] == "17:00"
    assert times[-1] == "21:30"
    assert len(times) == 19
    assert all(s["available"] for s in body["slots"])
    assert body["slots"][0]["start"] == "2027-03-10T17:00:00+00:00"
    at = channel.get(
        f"/v1/restaurants/{r['id']}/availability", params={"date": DAY, "party_size": 2, "time": "19:00"}
    ).json()
    assert at["available"] is True
    assert at["capacity"] == {"max_covers": 10, "booked_covers": 0, "utilization_percent": 0}


def test_hold_confirm_and_replay(room: tuple[dict[str, Any], httpx.Client]) -> None:
    r, channel = room
    base = f"/v1/restaurants/{r['id']}"
    hold = channel.post(f"{base}/holds", json={"party_size": 3, "start": f"{DAY}T19:00"})
    assert hold.status_code == 201, hold.text
    h = hold.json()
    assert h["tables"] == ["T1"]
    assert h["start"] == "2027-03-10T19:00:00+00:00"
    assert h["end"] == "2027-03-10T20:30:00+00:00"
    first = channel.post(f"{base}/holds/{h['id']}/confirm", json={"guest": GUEST}, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.text
    booking = first.json()
    assert booking["status"] == "confirmed"
    assert booking["tables"] == ["T1"]
    again = channel.post(f"{base}/holds/{h['id']}/confirm", json={"guest": GUEST}, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200
    assert again.json() == booking
    no_key = channel.post(f"{base}/holds/{h['id']}/confirm", json={"guest": GUEST})
    assert no_key.status_code == 200
    assert no_key.json()["id"] == booking["id"]
    at = channel.get(f"{base}/availability", params={"date": DAY, "party_size": 2, "time": "19:00"}).json()
    assert at["capacity"]["booked_covers"] == 3


def test_released_hold_is_404_and_frees_tables(room: tuple[dict[str, Any], httpx.Client]) -> None:
    r, channel = room
    base = f"/v1/restaurants/{r['id']}"
    h = channel.post(f"{base}/holds", json={"party_size": 2, "start": f"{DAY}T18:00"}).json()
    assert channel.delete(f"{base}/holds/{h['id']}").status_code == 204
    assert channel.delete(f"{base}/holds/{h['id']}").status_code == 404
    confirm = channel.post(f"{base}/holds/{h['id']}/confirm", json={"guest": GUEST})
    assert confirm.status_code == 404
    assert confirm.json()["code"] == "NOT_FOUND"
    at = channel.get(f"{base}/availability", params={"date": DAY, "party_size": 2, "time": "18:00"}).json()
    assert at["capacity"]["booked_covers"] == 0


def test_expired_hold_stops_blocking_without_a_sweeper(
    room: tuple[dict[str, Any], httpx.Client], owner_url: str
) -> None:
    r, channel = room
    base = f"/v1/restaurants/{r['id']}"
    holds = [channel.post(f"{base}/holds", json={"party_size": 4, "start": f"{DAY}T20:00"}) for _ in range(2)]
    assert [h.status_code for h in holds] == [201, 201]
    full = channel.post(f"{base}/holds", json={"party_size": 4, "start": f"{DAY}T20:00"})
    assert full.status_code == 409
    assert full.json()["code"] == "CAPACITY_EXCEEDED"
    time.sleep(2.2)  # hold_ttl_seconds = 2
    at = channel.get(f"{base}/availability", params={"date": DAY, "party_size": 4, "time": "20:00"}).json()
    assert at["available"] is True
    assert at["capacity"]["booked_covers"] == 0
    late = channel.post(f"{base}/holds/{holds[0].json()['id']}/confirm", json={"guest": GUEST})
    assert late.status_code == 409
    assert late.json()["code"] == "HOLD_EXPIRED"
    again = channel.post(f"{base}/bookings", json={"party_size": 4, "start": f"{DAY}T20:00", "guest": GUEST})
    assert again.status_code == 201, again.text
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM allocations WHERE restaurant_id = %s AND hold_id IS NOT NULL", [r["id"]]
        ).fetchone()
        usage = conn.execute("SELECT covers, parties FROM pacing_usage WHERE restaurant_id = %s", [r["id"]]).fetchall()
    assert rows == (0,)  # both expired holds overlapped the wanted block: cleared
    assert usage == [(4, 1)]  # their covers given back, the booking's counted


def test_direct_booking_idempotency(room: tuple[dict[str, Any], httpx.Client]) -> None:
    r, channel = room
    url = f"/v1/restaurants/{r['id']}/bookings"
    body = {"party_size": 2, "start": f"{DAY}T19:30", "guest": GUEST}
    first = channel.post(url, json=body, headers={"Idempotency-Key": "abc"})
    assert first.status_code == 201
    replay = channel.post(url, json=body, headers={"Idempotency-Key": "abc"})
    assert replay.status_code == 200
    assert replay.json() == first.json()
    other = channel.post(url, json={**body, "party_size": 3}, headers={"Idempotency-Key": "abc"})
    assert other.status_code == 409
    assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_capacity_exceeded_offers_alternatives(room: tuple[dict[str, Any], httpx.Client]) -> None:
    r, channel = room
    url = f"/v1/restaurants/{r['id']}/bookings"
    for _ in range(2):
        assert channel.post(url, json={"party_size": 4, "start": f"{DAY}T19:00", "guest": GUEST}).status_code == 201
    refused = channel.post(url, json={"party_size": 4, "start": f"{DAY}T19:00", "guest": GUEST})
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "CAPACITY_EXCEEDED"
    assert problem["alternatives"][:2] == ["17:30", "20:30"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"party_size": 0}, 422),
        ({"party_size": 21}, 422),
        ({"party_size": 2, "date": "2027-02-30"}, 422),
        ({"party_size": 2, "date": "tomorrow"}, 422),
        ({"party_size": 2, "time": "25:00"}, 422),
        ({"party_size": "many"}, 422),
        ({"party_size": 2, "date": "9999-12-31"}, 422),
        ({"party_size": 2, "date": "0001-01-01", "time": "19:00"}, 422),
    ],
)
def test_bad_availability_input(room: tuple[dict[str, Any], httpx.Client], params: dict[str, Any], status: int) -> None:
    r, channel = room
    got = channel.get(f"/v1/restaurants/{r['id']}/availability", params={"date": DAY, **params})
    assert got.status_code == status
    assert got.json()["code"] == "VALIDATION_ERROR"


def test_booking_refusals(room: tuple[dict[str, Any], httpx.Client], base_url: str) -> None:
    r, channel = room
    url = f"/v1/restaurants/{r['id']}/bookings"
    cases = [
        ({"party_size": 2, "start": f"{DAY}T12:00", "guest": GUEST}, 422, "OUTSIDE_SERVICE_HOURS"),
        ({"party_size": 2, "start": f"{DAY}T22:00", "guest": GUEST}, 422, "OUTSIDE_SERVICE_HOURS"),
        ({"party_size": 2, "start": "2027-03-28T01:30", "guest": GUEST}, 422, "VALIDATION_ERROR"),
        ({"party_size": 2, "start": "0001-01-01T19:00", "guest": GUEST}, 422, "VALIDATION_ERROR"),
        ({"party_size": 2, "start": "9999-12-31T23:59:59+14:00", "guest": GUEST}, 422, "VALIDATION_ERROR"),
        ({"party_size": 2, "start": "2027-06-11T19:00+25:00", "guest": GUEST}, 422, "VALIDATION_ERROR"),
        ({"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": ""}}, 422, "VALIDATION_ERROR"),
        ({"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "x" * 201}}, 422, "VALIDATION_ERROR"),
        ({"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "A", "email": "nope"}}, 422, "VALIDATION_ERROR"),
        ({"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST, "notes": "n" * 2001}, 422, "VALIDATION_ERROR"),
        ({"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST, "table_labels": ["T9"]}, 422, "VALIDATION_ERROR"),
        ({"party_size": 12, "start": f"{DAY}T19:00", "guest": GUEST}, 409, "CAPACITY_EXCEEDED"),
    ]
    for body, status, code in cases:
        got = channel.post(url, json=body)
        assert (got.status_code, got.json()["code"]) == (status, code), (body, got.text)
    assert channel.get(url, params={"date": DAY}).status_code == 403  # channels do not list bookings
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        assert staff.get(url, params={"date": DAY}).json() == []


def test_status_machine(room: tuple[dict[str, Any], httpx.Client], base_url: str) -> None:
    r, channel = room
    base = f"/v1/restaurants/{r['id']}"
    b = channel.post(f"{base}/bookings", json={"party_size": 4, "start": f"{DAY}T19:00", "guest": GUEST}).json()
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        assert staff.post(f"{base}/bookings/{b['id']}/complete").json()["code"] == "ILLEGAL_TRANSITION"
        assert staff.post(f"{base}/bookings/{b['id']}/seat").json()["status"] == "seated"
        assert staff.post(f"{base}/bookings/{b['id']}/cancel").status_code == 409
        done = staff.post(f"{base}/bookings/{b['id']}/complete")
        assert done.json()["status"] == "completed"
        assert staff.post(f"{base}/bookings/{b['id']}/no-show").status_code == 409
        c = channel.post(f"{base}/bookings", json={"party_size": 4, "start": f"{DAY}T19:00", "guest": GUEST}).json()
        assert c["tables"] == ["T1"]  # completing freed T1 at once
        cancelled = channel.post(f"{base}/bookings/{c['id']}/cancel")
        assert cancelled.json()["status"] == "cancelled"
        assert channel.post(f"{base}/bookings/{c['id']}/cancel").json()["code"] == "ILLEGAL_TRANSITION"
        listed = staff.get(f"{base}/bookings", params={"date": DAY}).json()
        assert [x["status"] for x in listed] == ["completed", "cancelled"]
        timeline = staff.get(f"{base}/timeline", params={"date": DAY}).json()
        assert [t["label"] for t in timeline["tables"]] == ["T1", "T2"]
        assert all(t["allocations"] == [] for t in timeline["tables"])
        at = staff.get(f"{base}/availability", params={"date": DAY, "party_size": 2, "time": "19:00"}).json()
        assert at["capacity"]["booked_covers"] == 4  # the completed party's covers still count


def test_timeline_shows_bookings_holds_and_labels(room: tuple[dict[str, Any], httpx.Client], base_url: str) -> None:
    r, channel = room
    base = f"/v1/restaurants/{r['id']}"
    b = channel.post(f"{base}/bookings", json={"party_size": 2, "start": f"{DAY}T18:00", "guest": GUEST}).json()
    h = channel.post(f"{base}/holds", json={"party_size": 2, "start": f"{DAY}T18:00"}).json()
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        timeline = staff.get(f"{base}/timeline", params={"date": DAY}).json()
    kinds = {t["label"]: [(a["kind"], a["id"]) for a in t["allocations"]] for t in timeline["tables"]}
    assert kinds == {"T1": [("booking", b["id"])], "T2": [("hold", h["id"])]}
