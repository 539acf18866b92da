"""The bookings list and the timeline agree on the business date (DESIGN §3,
issue 9): a booking at 00:30 in a service that started the evening before belongs
to that evening's date on both (the timeline used to show it on the next day)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from tests.conftest import DAY, client_for, small_venue


def _late_venue() -> dict[str, Any]:
    doc = small_venue(tables=2)
    doc["policy"]["services"][0].update(start="20:00", end="02:00", last_seating="01:00")
    return doc


def _timeline_ids(staff: Any, base: str, day: str) -> set[str]:
    body = staff.get(f"{base}/timeline", params={"date": day}).json()
    return {a["id"] for t in body["tables"] for a in t["allocations"] if a["kind"] == "booking"}


def test_an_after_midnight_booking_is_on_the_evening_s_date_in_both(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> None:
    r = create_restaurant(_late_venue())
    base = f"/v1/restaurants/{r['id']}"
    next_day = (date.fromisoformat(DAY) + timedelta(days=1)).isoformat()
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        late = staff.post(
            f"{base}/bookings", json={"party_size": 2, "start": f"{next_day}T00:30", "guest": {"name": "Owl"}}
        )
        assert late.status_code == 201, late.text
        evening = staff.post(
            f"{base}/bookings", json={"party_size": 2, "start": f"{DAY}T21:00", "guest": {"name": "Lark"}}
        )
        assert evening.status_code == 201, evening.text
        listed = {b["id"] for b in staff.get(f"{base}/bookings", params={"date": DAY}).json()}
        assert listed == {late.json()["id"], evening.json()["id"]}
        assert _timeline_ids(staff, base, DAY) == listed
        assert staff.get(f"{base}/bookings", params={"date": next_day}).json() == []
        assert _timeline_ids(staff, base, next_day) == set()


def test_a_block_shows_on_its_calendar_day(create_restaurant: Callable[..., dict[str, Any]], base_url: str) -> None:
    r = create_restaurant(_late_venue())
    base = f"/v1/restaurants/{r['id']}"
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        block = staff.post(
            f"{base}/blocks", json={"table_labels": ["T1"], "start": f"{DAY}T10:00", "end": f"{DAY}T12:00"}
        )
        assert block.status_code == 201, block.text
        body = staff.get(f"{base}/timeline", params={"date": DAY}).json()
        kinds = [a["kind"] for t in body["tables"] for a in t["allocations"]]
        assert kinds == ["block"]
