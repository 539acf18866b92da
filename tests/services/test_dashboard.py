"""The dashboard's read use cases against the real database: the day board, the
floor plan at an instant and the day summary; and table positions kept by the store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from seatwise.runtime import Runtime
from seatwise.services import dashboard
from tests.conftest import DAY, client_for, small_venue


def venue() -> dict[str, Any]:
    doc = small_venue(tables=4, seats=4, pacing={"max_covers_per_slot": 10})
    doc["zones"].append({"key": "bar", "name": "Bar"})
    doc["tables"].append({"label": "B1", "zone": "bar", "seats": 2, "x": 30, "y": 40, "shape": "round"})
    return doc


def test_day_board_floor_and_summary(
    runtime: Runtime, base_url: str, create_restaurant: Callable[..., dict[str, Any]]
) -> None:
    created = create_restaurant(venue())
    rid = created["id"]
    with client_for(base_url, created["api_keys"]["staff"]) as staff:
        ada = staff.post(
            f"/v1/restaurants/{rid}/bookings",
            json={"party_size": 4, "start": f"{DAY}T19:00", "guest": {"name": "Ada"}, "table_labels": ["T2"]},
        ).json()
        gone = staff.post(
            f"/v1/restaurants/{rid}/bookings",
            json={"party_size": 2, "start": f"{DAY}T18:00", "guest": {"name": "Bo"}, "table_labels": ["B1"]},
        ).json()
        assert staff.post(f"/v1/restaurants/{rid}/bookings/{gone['id']}/cancel").status_code == 200
        hold = staff.post(
            f"/v1/restaurants/{rid}/holds", json={"party_size": 2, "start": f"{DAY}T20:00", "table_labels": ["T3"]}
        ).json()
        block = staff.post(
            f"/v1/restaurants/{rid}/blocks",
            json={"table_labels": ["T4"], "start": f"{DAY}T17:00", "end": f"{DAY}T18:00", "reason": "leg"},
        ).json()

    board = dashboard.day_board(runtime.db, rid, DAY)
    assert [z.key for z in board.zones] == ["main", "bar"]
    rows = {r.label: r for z in board.zones for r in z.rows}
    assert [(b.kind, b.guest, b.party_size, b.status) for b in rows["T2"].bars] == [("booking", "Ada", 4, "confirmed")]
    assert rows["B1"].bars == ()  # a cancelled booking leaves its table
    assert [(b.kind, b.id) for b in rows["T3"].bars] == [("hold", hold["id"])]
    assert rows["T3"].bars[0].expires_at is not None
    assert [(b.kind, b.id) for b in rows["T4"].bars] == [("block", block["id"])]
    assert [b.status for b in board.bookings] == ["cancelled", "confirmed"]
    assert board.axis_start.strftime("%H:%M") == "17:00"
    assert board.axis_end.strftime("%H:%M") == "23:00"
    assert rows["T2"].bars[0].start.isoformat() == ada["start"]

    plan = dashboard.floor_plan(runtime.db, rid, DAY, "19:30")
    states = {t.placement.label: t.state.state for t in plan.tables}
    assert states == {"T1": "free", "T2": "booked", "T3": "free", "T4": "free", "B1": "free"}
    later = {t.placement.label: t.state.state for t in dashboard.floor_plan(runtime.db, rid, DAY, "20:15").tables}
    assert later["T3"] == "held"
    b1 = next(t for t in plan.tables if t.placement.label == "B1")
    assert (b1.placement.position.x, b1.placement.automatic) == (30, False)

    figures = dashboard.day_summary(runtime.db, rid, DAY).figures
    assert (figures.bookings, figures.covers, figures.cancellations) == (1, 4, 1)
    assert next(s for s in figures.slots if s.time == "19:00").covers == 4


def test_positions_round_trip_through_the_store(
    admin: httpx.Client, create_restaurant: Callable[..., dict[str, Any]]
) -> None:
    created = create_restaurant(venue())
    rid = created["id"]
    exported = admin.get(f"/v1/restaurants/{rid}/venue").json()
    b1 = next(t for t in exported["tables"] if t["label"] == "B1")
    assert {k: b1[k] for k in ("x", "y", "width", "height", "shape")} == {
        "x": 30,
        "y": 40,
        "width": 60,
        "height": 60,
        "shape": "round",
    }
    for t in exported["tables"]:
        for k in ("x", "y", "width", "height", "shape"):
            t.pop(k, None)
    exported["tables"][1].update(x=5, y=6, width=70, height=40)
    assert admin.put(f"/v1/restaurants/{rid}/venue", json=exported).status_code == 200
    again = admin.get(f"/v1/restaurants/{rid}/venue").json()
    assert again == exported | {"tables": again["tables"]}
    assert [("x" in t) for t in again["tables"]] == [False, True, False, False, False]
    assert again["tables"][1]["shape"] == "rect"
