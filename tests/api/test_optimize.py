"""The service optimizer over real HTTP (DESIGN §13): a dry run changes nothing,
`apply=true` commits exactly the listed moves (with an event each), seated and pinned
bookings never move, and every bad input is a problem with a stable code.

The floor: T1 (2 seats), T2 and T3 (4 seats). Twos at 17:00 and 19:00 end up on T2
(the two-top was taken when they booked, then freed): the optimizer moves both onto
T1, wasting nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.api.test_reseating import Room, floor
from tests.conftest import DAY, client_for

THREE = [{"label": "T3", "zone": "main", "seats": 4}]


@pytest.fixture
def room(create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str) -> Iterator[Room]:
    r = create_restaurant(floor(extra_tables=THREE))
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        yield Room(r["id"], staff, owner_url)


def twos_on_the_four_top(room: Room) -> list[dict[str, Any]]:
    """A two at 17:00 and one at 19:00, both on T2, T1 free."""
    out = []
    for at in ("17:00", "19:00"):
        first, second = room.booked(2, at), room.booked(2, at)
        assert (first["tables"], second["tables"]) == (["T1"], ["T2"])
        assert room.staff.post(f"{room.base}/bookings/{first['id']}/cancel").status_code == 200
        out.append(second)
    return out


def optimize(room: Room, **params: Any) -> httpx.Response:
    return room.staff.post(f"{room.base}/optimize", params={"date": DAY, **params})


def test_a_dry_run_lists_the_moves_and_changes_nothing(room: Room) -> None:
    early, late = twos_on_the_four_top(room)
    before = room.state()
    answer = optimize(room)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["applied"] is False
    assert body["service"] == "dinner"
    assert body["date"] == DAY
    assert sorted((m["booking_id"], m["from"], m["to"]) for m in body["moves"]) == sorted(
        [(early["id"], ["T2"], ["T1"]), (late["id"], ["T2"], ["T1"])]
    )
    assert body["before"] == {"bookings": 2, "tables_used": 1, "free_tables": 2, "combinations": 0, "wasted_seats": 4}
    assert body["after"] == {"bookings": 2, "tables_used": 1, "free_tables": 2, "combinations": 0, "wasted_seats": 0}
    assert body["outcome"] == "optimal"
    assert room.state() == before
    assert optimize(room, apply="false").json()["applied"] is False
    assert room.state() == before


def test_apply_commits_exactly_the_listed_moves(room: Room) -> None:
    early, late = twos_on_the_four_top(room)
    other = room.booked(4, "19:00")  # a four on T3 (T2 is taken at 19:00): nowhere better
    assert other["tables"] == ["T3"]
    answer = optimize(room, apply="true")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["applied"] is True
    listed = {m["booking_id"]: m for m in body["moves"]}
    assert set(listed) == {early["id"], late["id"]}
    for booking in (early, late, other):
        now = room.get(booking)
        expected = listed[booking["id"]]["to"] if booking["id"] in listed else booking["tables"]
        assert now["tables"] == expected
        assert (now["start"], now["end"]) == (booking["start"], booking["end"])
    events = room.events("assignment.changed")
    assert sorted((e["booking_id"], e["from"], e["to"], e["reason"]) for e in events) == sorted(
        (m["booking_id"], m["from"], m["to"], "optimize") for m in body["moves"]
    )
    room.audit()
    again = optimize(room, apply="true").json()  # packed: nothing left to move
    assert again["moves"] == []
    assert again["before"] == body["after"]
    assert len(room.events("assignment.changed")) == len(events)


def test_seated_and_pinned_bookings_stay(room: Room) -> None:
    early, late = twos_on_the_four_top(room)
    assert room.staff.post(f"{room.base}/bookings/{early['id']}/seat").status_code == 200
    assert room.staff.patch(f"{room.base}/bookings/{late['id']}", json={"pinned": True}).status_code == 200
    before = room.state()
    body = optimize(room, apply="true").json()
    assert body["moves"] == []
    assert body["before"] == body["after"]
    assert room.state() == before


@pytest.mark.parametrize(
    "params",
    [
        {"date": "2027-13-01"},
        {"date": "tomorrow"},
        {"date": DAY, "service": "brunch"},
        {"date": DAY, "apply": "perhaps"},
        {"date": DAY, "service": ""},
        {},
    ],
)
def test_bad_input_is_a_problem(room: Room, params: dict[str, str]) -> None:
    before = room.state()
    answer = room.staff.post(f"{room.base}/optimize", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "VALIDATION_ERROR"
    assert room.state() == before


def test_two_services_need_a_name(create_restaurant: Callable[..., dict[str, Any]], base_url: str) -> None:
    doc = floor()
    lunch = {**doc["policy"]["services"][0], "name": "lunch", "start": "11:00", "end": "15:00", "last_seating": "14:00"}
    doc["policy"]["services"].append(lunch)
    r = create_restaurant(doc)
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        unnamed = staff.post(f"/v1/restaurants/{r['id']}/optimize", params={"date": DAY})
        assert unnamed.status_code == 422
        assert "lunch" in unnamed.json()["detail"]
        named = staff.post(f"/v1/restaurants/{r['id']}/optimize", params={"date": DAY, "service": "lunch"})
        assert named.status_code == 200
        assert named.json()["moves"] == []
        channel = client_for(base_url, r["api_keys"]["channel"])
        with channel:
            assert channel.post(f"/v1/restaurants/{r['id']}/optimize", params={"date": DAY}).status_code == 403
