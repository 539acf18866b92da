"""Re-seating on refusal (DESIGN §13) over real HTTP against the real app and
PostgreSQL: what moves, what never moves, and that a refused or failed re-seat
leaves everything as it was.

The floor: T1 (2 seats) and T2 (4 seats), no combinations. A two sits on T2 while T1
is free; a four arrives: the only way to seat it is to move the two to T1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx
import psycopg
import pytest

from seatwise.services import reseating
from tests.concurrency.audit import overlaps, pacing_problems, table_mismatches
from tests.conftest import DAY, client_for, small_venue

GUEST = {"name": "Grace Hopper"}


def floor(extra_tables: Sequence[dict[str, Any]] = (), **policy: Any) -> dict[str, Any]:
    doc = small_venue(tables=2)
    doc["tables"] = [{"label": "T1", "zone": "main", "seats": 2}, {"label": "T2", "zone": "main", "seats": 4}]
    doc["tables"] += list(extra_tables)
    doc["policy"].update(policy)
    return doc


class Room:
    def __init__(self, rid: str, staff: httpx.Client, owner_url: str) -> None:
        self.rid, self.staff, self.owner_url = rid, staff, owner_url
        self.base = f"/v1/restaurants/{rid}"

    def book(self, party: int, at: str = "19:00", **extra: Any) -> httpx.Response:
        body = {"party_size": party, "start": f"{DAY}T{at}", "guest": GUEST, **extra}
        return self.staff.post(f"{self.base}/bookings", json=body)

    def booked(self, party: int, at: str = "19:00", **extra: Any) -> dict[str, Any]:
        made = self.book(party, at, **extra)
        assert made.status_code == 201, made.text
        out: dict[str, Any] = made.json()
        return out

    def get(self, booking: dict[str, Any]) -> dict[str, Any]:
        got = self.staff.get(f"{self.base}/bookings/{booking['id']}")
        assert got.status_code == 200, got.text
        out: dict[str, Any] = got.json()
        return out

    def two_on_the_four_top(self) -> dict[str, Any]:
        """A two on T2 with T1 free (the first two took T1 and was cancelled)."""
        first = self.booked(2)
        second = self.booked(2)
        assert (first["tables"], second["tables"]) == (["T1"], ["T2"])
        cancelled = self.staff.post(f"{self.base}/bookings/{first['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        return second

    def label_of(self, table_id: int) -> str:
        with psycopg.connect(self.owner_url) as conn:
            row = conn.execute("SELECT label FROM dining_tables WHERE id = %s", [table_id]).fetchone()
        assert row is not None
        return str(row[0])

    def events(self, kind: str) -> list[dict[str, Any]]:
        with psycopg.connect(self.owner_url) as conn:
            rows = conn.execute(
                "SELECT payload FROM outbox WHERE restaurant_id = %s AND event = %s ORDER BY id", [self.rid, kind]
            ).fetchall()
        return [r[0] for r in rows]

    def state(self) -> tuple[Any, ...]:
        """Every booking, allocation, pacing row and event of the restaurant."""
        with psycopg.connect(self.owner_url) as conn:
            return tuple(
                conn.execute(sql, [self.rid]).fetchall()
                for sql in (
                    "SELECT id, status, pinned, updated_at FROM bookings WHERE restaurant_id = %s ORDER BY id",
                    "SELECT table_id, booking_id, hold_id, during FROM allocations WHERE restaurant_id = %s"
                    " ORDER BY table_id, during",
                    "SELECT booking_id, table_id FROM booking_tables WHERE restaurant_id = %s ORDER BY 1, 2",
                    "SELECT slot_start, covers, parties FROM pacing_usage WHERE restaurant_id = %s ORDER BY 1",
                    "SELECT id, event FROM outbox WHERE restaurant_id = %s ORDER BY id",
                )
            )

    def audit(self) -> None:
        assert overlaps(self.owner_url, self.rid) == []
        assert pacing_problems(self.owner_url, self.rid) == []
        assert table_mismatches(self.owner_url, self.rid) == []


@pytest.fixture
def make_room(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str
) -> Iterator[Callable[..., Room]]:
    clients: list[httpx.Client] = []

    def make(**policy: Any) -> Room:
        r = create_restaurant(floor(**policy))  # extra_tables=... passes through
        staff = client_for(base_url, r["api_keys"]["staff"])
        clients.append(staff)
        return Room(r["id"], staff, owner_url)

    yield make
    for c in clients:
        c.close()


def test_a_booking_that_finds_no_free_table_moves_an_unseated_one(make_room: Callable[..., Room]) -> None:
    room = make_room()
    two = room.two_on_the_four_top()
    four = room.booked(4)
    assert four["tables"] == ["T2"]
    assert room.get(two)["tables"] == ["T1"]
    assert room.get(two)["start"] == two["start"]  # times never change
    assert room.get(two)["end"] == two["end"]
    assert room.get(two)["pinned"] is False  # the engine's moves do not pin
    changed = room.events("assignment.changed")
    assert [(e["booking_id"], e["from"], e["to"], e["reason"]) for e in changed] == [
        (two["id"], ["T2"], ["T1"], "reseating")
    ]
    room.audit()


def test_a_hold_re_seats_too(make_room: Callable[..., Room]) -> None:
    room = make_room()
    two = room.two_on_the_four_top()
    hold = room.staff.post(f"{room.base}/holds", json={"party_size": 4, "start": f"{DAY}T19:30"})
    assert hold.status_code == 201, hold.text
    assert hold.json()["tables"] == ["T2"]
    assert room.get(two)["tables"] == ["T1"]
    assert len(room.events("assignment.changed")) == 1
    room.audit()


def test_seated_bookings_are_never_moved(make_room: Callable[..., Room]) -> None:
    room = make_room()
    two = room.two_on_the_four_top()
    assert room.staff.post(f"{room.base}/bookings/{two['id']}/seat").status_code == 200
    before = room.state()
    refused = room.book(4)
    assert refused.status_code == 409
    assert refused.json()["code"] == "CAPACITY_EXCEEDED"
    assert "alternatives" in refused.json()
    assert room.get(two)["tables"] == ["T2"]
    assert room.state() == before
    room.audit()


def test_pinned_bookings_are_never_moved(make_room: Callable[..., Room]) -> None:
    room = make_room()
    two = room.two_on_the_four_top()
    pinned = room.staff.patch(f"{room.base}/bookings/{two['id']}", json={"pinned": True})
    assert pinned.status_code == 200, pinned.text
    assert pinned.json()["pinned"] is True
    before = room.state()
    refused = room.book(4)
    assert refused.status_code == 409
    assert refused.json()["code"] == "CAPACITY_EXCEEDED"
    assert room.state() == before
    assert room.events("assignment.changed") == []


def test_reseating_off_refuses_as_before(make_room: Callable[..., Room]) -> None:
    room = make_room(reseating="off")
    two = room.two_on_the_four_top()
    before = room.state()
    refused = room.book(4)
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "CAPACITY_EXCEEDED"
    assert problem["alternatives"]  # the nearest times, as ever
    assert room.get(two)["tables"] == ["T2"]
    assert room.state() == before


def test_a_request_naming_tables_does_not_re_seat(make_room: Callable[..., Room]) -> None:
    room = make_room()
    room.two_on_the_four_top()
    before = room.state()
    refused = room.book(4, table_labels=["T2"])
    assert refused.status_code == 409
    assert refused.json()["code"] == "TABLE_CONFLICT"
    assert room.state() == before


def test_when_no_move_helps_nothing_changes(make_room: Callable[..., Room]) -> None:
    room = make_room()
    room.two_on_the_four_top()
    # T1 blocked by staff: the two has nowhere to go.
    window = {"table_labels": ["T1"], "start": f"{DAY}T18:00", "end": f"{DAY}T22:00"}
    block = room.staff.post(f"{room.base}/blocks", json=window)
    assert block.status_code == 201, block.text
    before = room.state()
    refused = room.book(4)
    assert refused.status_code == 409
    assert refused.json()["code"] == "CAPACITY_EXCEEDED"
    assert room.state() == before


def test_a_change_between_the_solve_and_the_write_refuses_cleanly(
    make_room: Callable[..., Room], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The two is seated while the solve runs: the re-check under the locks sees it,
    one more solve finds nothing, and the party is refused; nothing is half-applied."""
    room = make_room()
    two = room.two_on_the_four_top()
    solve = reseating.solve
    solved: list[bool] = []

    def solve_then_seat(asked: reseating.NoRoom) -> reseating.ReseatPlan | None:
        plan = solve(asked)
        if not solved:
            seated = room.staff.post(f"{room.base}/bookings/{two['id']}/seat")  # another client, meanwhile
            assert seated.status_code == 200, seated.text
        solved.append(plan is not None)
        return plan

    monkeypatch.setattr(reseating, "solve", solve_then_seat)
    before = room.state()
    refused = room.book(4)
    assert refused.status_code == 409
    assert refused.json()["code"] == "CAPACITY_EXCEEDED"
    assert solved == [True, False]  # the first plan went stale; the second solve found none
    assert room.get(two)["tables"] == ["T2"]
    assert room.get(two)["status"] == "seated"
    after = room.state()
    assert after[1:4] == before[1:4]  # allocations, tables, pacing: as they were
    assert room.events("assignment.changed") == []
    room.audit()


def test_a_table_freed_meanwhile_is_taken_without_moves(
    make_room: Callable[..., Room], monkeypatch: pytest.MonkeyPatch
) -> None:
    room = make_room()
    two = room.two_on_the_four_top()
    solve = reseating.solve

    def solve_then_cancel(asked: reseating.NoRoom) -> reseating.ReseatPlan | None:
        plan = solve(asked)
        assert room.staff.post(f"{room.base}/bookings/{two['id']}/cancel").status_code == 200
        return plan

    monkeypatch.setattr(reseating, "solve", solve_then_cancel)
    four = room.booked(4)
    assert four["tables"] == ["T2"]
    assert room.events("assignment.changed") == []
    room.audit()


def test_a_target_taken_meanwhile_refuses_cleanly(
    make_room: Callable[..., Room], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent booking takes T1 (the two's target) after the solve: the re-check
    refuses the stale plan, the second solve has no room either: 409, nothing moved."""
    room = make_room()
    two = room.two_on_the_four_top()
    solve = reseating.solve
    rival: list[dict[str, Any]] = []

    def solve_then_take_t1(asked: reseating.NoRoom) -> reseating.ReseatPlan | None:
        plan = solve(asked)
        if not rival:
            rival.append(room.booked(2, table_labels=["T1"]))
        return plan

    monkeypatch.setattr(reseating, "solve", solve_then_take_t1)
    refused = room.book(4)
    assert refused.status_code == 409
    assert room.get(two)["tables"] == ["T2"]
    assert room.get(rival[0])["tables"] == ["T1"]
    assert room.events("assignment.changed") == []
    room.audit()


def test_a_stale_plan_is_solved_once_more(make_room: Callable[..., Room], monkeypatch: pytest.MonkeyPatch) -> None:
    """With two places for the two (T1, T3), a rival takes the first solve's target:
    the second solve moves the two to the other one."""
    room = make_room(extra_tables=[{"label": "T3", "zone": "main", "seats": 2}])
    first, second, third = room.booked(2), room.booked(2), room.booked(2)
    assert [b["tables"] for b in (first, second, third)] == [["T1"], ["T3"], ["T2"]]
    for b in (first, second):
        assert room.staff.post(f"{room.base}/bookings/{b['id']}/cancel").status_code == 200
    solve = reseating.solve
    targets: list[list[str]] = []

    def solve_then_take_the_target(asked: reseating.NoRoom) -> reseating.ReseatPlan | None:
        plan = solve(asked)
        assert plan is not None
        (move,) = plan.moves
        label = room.label_of(move.to_tables[0])
        targets.append([label])
        if len(targets) == 1:
            room.booked(2, table_labels=[label])
        return plan

    monkeypatch.setattr(reseating, "solve", solve_then_take_the_target)
    four = room.booked(4)
    assert four["tables"] == ["T2"]
    assert len(targets) == 2
    assert targets[0] != targets[1]
    assert room.get(third)["tables"] == targets[1]
    assert [e["to"] for e in room.events("assignment.changed")] == [targets[1]]
    room.audit()


def test_reseating_is_a_venue_setting(make_room: Callable[..., Room], admin: httpx.Client) -> None:
    room = make_room()
    venue = admin.get(f"{room.base}/venue")
    assert venue.status_code == 200
    assert venue.json()["policy"]["reseating"] == "auto"  # the default, in the canonical document
    assert venue.json()["policy"]["reseating_budget_ms"] == 150
    doc = floor(reseating="sideways")
    doc["slug"] = "reseat-bad"
    refused = admin.post("/v1/restaurants", json=doc)
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["path"] == "policy.reseating"
    doc = floor(reseating_budget_ms=5)
    doc["slug"] = "reseat-bad-budget"
    refused = admin.post("/v1/restaurants", json=doc)
    assert refused.status_code == 422
