"""Contract edges of time (issue 9): starts in whole minutes; a start before now is
422 START_IN_PAST for holds and channel bookings, while staff may record a booking
up to 12 hours back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import DAY, client_for, small_venue

GUEST = {"name": "Ada Lovelace"}


def all_day_venue() -> dict[str, Any]:
    """Open round the clock in UTC: any recent instant is inside service hours."""
    doc = small_venue(tables=4)
    doc["timezone"] = "UTC"
    service = doc["policy"]["services"][0]
    early = {**service, "name": "early", "start": "00:00", "end": "12:00", "last_seating": "11:59"}
    late = {**service, "name": "late", "start": "12:00", "end": "00:00", "last_seating": "23:59"}
    doc["policy"]["services"] = [early, late]
    return doc


@pytest.fixture
def venue(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> Iterator[tuple[str, httpx.Client, httpx.Client]]:
    r = create_restaurant(all_day_venue())
    with client_for(base_url, r["api_keys"]["staff"]) as staff, client_for(base_url, r["api_keys"]["channel"]) as ch:
        yield f"/v1/restaurants/{r['id']}", staff, ch


def _ago(delta: timedelta) -> str:
    return (datetime.now(UTC) - delta).replace(second=0, microsecond=0).isoformat()


@pytest.mark.parametrize(
    "start", [f"{DAY}T19:00:30", f"{DAY}T19:00:00.5+00:00", f"{DAY}T19:00:59Z", f"{DAY}T19:00:01+01:00"]
)
def test_starts_are_whole_minutes(venue: tuple[str, httpx.Client, httpx.Client], start: str) -> None:
    base, staff, _ = venue
    for path, body in (
        ("holds", {"party_size": 2, "start": start}),
        ("bookings", {"party_size": 2, "start": start, "guest": GUEST}),
    ):
        r = staff.post(f"{base}/{path}", json=body)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["code"] == "VALIDATION_ERROR"
        assert "whole minutes" in r.json()["detail"]


def test_zero_seconds_are_whole_minutes(venue: tuple[str, httpx.Client, httpx.Client]) -> None:
    base, staff, _ = venue
    r = staff.post(f"{base}/bookings", json={"party_size": 2, "start": f"{DAY}T19:00:00", "guest": GUEST})
    assert r.status_code == 201, r.text


def test_a_hold_in_the_past_is_refused(venue: tuple[str, httpx.Client, httpx.Client]) -> None:
    base, staff, channel = venue
    for client in (staff, channel):
        r = client.post(f"{base}/holds", json={"party_size": 2, "start": _ago(timedelta(minutes=30))})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "START_IN_PAST"


def test_a_channel_booking_in_the_past_is_refused(venue: tuple[str, httpx.Client, httpx.Client]) -> None:
    base, _, channel = venue
    r = channel.post(f"{base}/bookings", json={"party_size": 2, "start": _ago(timedelta(minutes=5)), "guest": GUEST})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "START_IN_PAST"


def test_staff_may_record_a_booking_up_to_12_hours_back(venue: tuple[str, httpx.Client, httpx.Client]) -> None:
    base, staff, _ = venue
    late = staff.post(f"{base}/bookings", json={"party_size": 2, "start": _ago(timedelta(hours=3)), "guest": GUEST})
    assert late.status_code == 201, late.text  # a walk-in entered late
    too_late = staff.post(
        f"{base}/bookings", json={"party_size": 2, "start": _ago(timedelta(hours=13)), "guest": GUEST}
    )
    assert too_late.status_code == 422, too_late.text
    assert too_late.json()["code"] == "START_IN_PAST"


def test_a_future_start_is_fine_for_everyone(venue: tuple[str, httpx.Client, httpx.Client]) -> None:
    base, staff, channel = venue
    soon = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0).isoformat()
    assert channel.post(f"{base}/holds", json={"party_size": 2, "start": soon}).status_code == 201
    assert staff.post(f"{base}/bookings", json={"party_size": 2, "start": soon, "guest": GUEST}).status_code == 201


def test_availability_at_an_off_grid_time_answers_what_a_booking_gets(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> None:
    r = create_restaurant(small_venue(tables=1, pacing={"max_parties_per_slot": 2}))
    base = f"/v1/restaurants/{r['id']}"
    with client_for(base_url, r["api_keys"]["staff"]) as staff:

        def at(time: str) -> dict[str, Any]:
            got = staff.get(f"{base}/availability", params={"date": DAY, "party_size": 2, "time": time})
            assert got.status_code == 200, got.text
            body: dict[str, Any] = got.json()
            return body

        def book(time: str) -> int:
            body = {"party_size": 2, "start": f"{DAY}T{time}", "guest": GUEST}
            return staff.post(f"{base}/bookings", json=body).status_code

        assert at("19:07")["available"] is True  # said false, then booked fine
        assert book("19:07") == 201
        for time in ("18:10", "19:30", "20:06"):  # each overlaps 19:07-20:07 on the only table
            assert at(time)["available"] is False, time
            assert book(time) == 409, time
        assert at("20:07")["available"] is True
        assert at("20:07")["capacity"]["max_covers"] is None  # the 20:00 slot's pacing (parties only)
        assert book("20:07") == 201
        assert at("16:59")["available"] is False  # before the service: a booking is refused too
        assert book("16:59") == 422
