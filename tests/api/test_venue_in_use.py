"""PUT /venue that would strand future bookings by their time (issue 9): outside
the new service hours, on a new closure date, or shifted by a time-zone change is
409 VENUE_IN_USE listing them, and nothing is written (it used to succeed: a London
19:00 booking became 14:00 in New York)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import DAY, client_for, small_venue


@pytest.fixture
def booked(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> Iterator[tuple[str, httpx.Client, dict[str, Any], dict[str, Any]]]:
    r = create_restaurant(small_venue(tables=2))
    base = f"/v1/restaurants/{r['id']}"
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        booking = staff.post(
            f"{base}/bookings", json={"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "A"}}
        )
        assert booking.status_code == 201, booking.text
        document = staff.get(f"{base}/venue").json()
        yield base, staff, booking.json(), document


def _changed(document: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = copy.deepcopy(document)
    change(doc)
    return doc


def _tz(doc: dict[str, Any]) -> None:
    doc["timezone"] = "America/New_York"


def _hours(doc: dict[str, Any]) -> None:
    doc["policy"]["services"][0].update(start="17:00", end="19:00", last_seating="18:30")


def _closure(doc: dict[str, Any]) -> None:
    doc["policy"]["closures"] = [DAY]


def _last_seating(doc: dict[str, Any]) -> None:
    doc["policy"]["services"][0]["last_seating"] = "18:45"


@pytest.mark.parametrize("change", [_tz, _hours, _closure, _last_seating], ids=["timezone", "hours", "closure", "last"])
def test_a_change_that_moves_or_strands_a_booking_is_refused(
    booked: tuple[str, httpx.Client, dict[str, Any], dict[str, Any]], change: Callable[[dict[str, Any]], None]
) -> None:
    base, staff, booking, document = booked
    r = staff.put(f"{base}/venue", json=_changed(document, change))
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "VENUE_IN_USE"
    assert [b["id"] for b in body["bookings"]] == [booking["id"]]
    assert body["bookings"][0]["reason"]
    assert staff.get(f"{base}/venue").json() == document  # nothing written
    assert staff.get(f"{base}/bookings/{booking['id']}").json()["start"] == booking["start"]


def test_a_change_that_keeps_every_booking_s_time_is_accepted(
    booked: tuple[str, httpx.Client, dict[str, Any], dict[str, Any]],
) -> None:
    base, staff, _, document = booked

    def harmless(doc: dict[str, Any]) -> None:
        doc["name"] = "Renamed Room"
        doc["policy"]["services"][0].update(start="18:00", last_seating="21:00")  # 19:00 still served
        doc["policy"]["closures"] = ["2027-03-11"]  # another date

    assert staff.put(f"{base}/venue", json=_changed(document, harmless)).status_code == 200


def test_a_cancelled_booking_does_not_hold_the_venue(
    booked: tuple[str, httpx.Client, dict[str, Any], dict[str, Any]],
) -> None:
    base, staff, booking, document = booked
    assert staff.post(f"{base}/bookings/{booking['id']}/cancel").status_code == 200
    moved = staff.put(f"{base}/venue", json=_changed(document, _tz))
    assert moved.status_code == 200, moved.text
    assert moved.json()["timezone"] == "America/New_York"
