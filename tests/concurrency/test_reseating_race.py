"""Re-seating under concurrent bookings: real parallel HTTP clients, then the SQL audit.

The floor starts with twos sitting on every four-top while the two-tops are free, one
of them seated and one pinned. Fours (which only a four-top takes) race twos (which
take the free two-tops first) and holds: each four is seated only by moving a two.
Whatever interleaving happens, the ledger has no overlap, pacing matches the bookings,
every booking's tables match its ledger rows, the seated and pinned twos never moved,
nothing was written for a refused request, and every `assignment.changed` event
matches a booking's final tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.concurrency.audit import overlaps, pacing_problems, table_mismatches
from tests.concurrency.test_races import codes, race
from tests.conftest import DAY, client_for, small_venue

FOUR_TOPS = 6
TWO_TOPS = 6


def floor() -> dict[str, Any]:
    doc = small_venue(tables=FOUR_TOPS + TWO_TOPS)
    doc["tables"] = [{"label": f"F{i}", "zone": "main", "seats": 4} for i in range(1, FOUR_TOPS + 1)] + [
        {"label": f"S{i}", "zone": "main", "seats": 2} for i in range(1, TWO_TOPS + 1)
    ]
    return doc


def test_reseating_races_stay_audit_clean(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str
) -> None:
    r = create_restaurant(floor())
    rid, base = r["id"], f"/v1/restaurants/{r['id']}"
    start = f"{DAY}T19:00"
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        made = [
            staff.post(f"{base}/bookings", json={"party_size": 2, "start": start, "guest": {"name": f"G{i}"}})
            for i in range(FOUR_TOPS + TWO_TOPS)
        ]
        assert all(m.status_code == 201 for m in made)
        on_fours = [m.json() for m in made if m.json()["tables"][0].startswith("F")]
        on_twos = [m.json() for m in made if m.json()["tables"][0].startswith("S")]
        assert len(on_fours) == FOUR_TOPS
        for b in on_twos:  # free the two-tops
            assert staff.post(f"{base}/bookings/{b['id']}/cancel").status_code == 200
        seated, pinned = on_fours[0], on_fours[1]
        assert staff.post(f"{base}/bookings/{seated['id']}/seat").status_code == 200
        assert staff.patch(f"{base}/bookings/{pinned['id']}", json={"pinned": True}).status_code == 200

    fours = [{"party_size": 4, "start": start, "guest": {"name": f"Four {i}"}} for i in range(8)]
    twos = [{"party_size": 2, "start": start, "guest": {"name": f"Two {i}"}} for i in range(2)]
    booked = race(base_url, r["api_keys"]["channel"], f"{base}/bookings", fours + twos)
    counted = codes(booked)
    assert set(counted) <= {"201", "CAPACITY_EXCEEDED"}, counted
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {r['api_keys']['staff']}"}) as staff:
        listed = staff.get(f"{base}/bookings", params={"date": DAY}).json()
    live = [b for b in listed if b["status"] in ("confirmed", "seated")]
    # Twelve tables, one party each at 19:00: all taken, never more. Contention alone
    # refused no one while a move could make room: the four movable twos all moved.
    assert len(live) == FOUR_TOPS + TWO_TOPS
    fours_seated = [b for b in live if b["party_size"] == 4]
    assert len(fours_seated) == FOUR_TOPS - 2
    assert all(b["tables"][0].startswith("F") for b in fours_seated)
    by_id = {b["id"]: b for b in listed}
    assert by_id[seated["id"]]["tables"] == seated["tables"]
    assert by_id[pinned["id"]]["tables"] == pinned["tables"]
    # Refused requests wrote nothing: every booking row is one the API answered 201 for.
    answered = {resp.json()["id"] for resp in booked if resp.status_code == 201}
    assert {b["id"] for b in listed} == {m.json()["id"] for m in made} | answered
    with psycopg.connect(owner_url) as conn:
        events = [
            e[0]
            for e in conn.execute(
                "SELECT payload FROM outbox WHERE restaurant_id = %s AND event = 'assignment.changed' ORDER BY id",
                [rid],
            )
        ]
    assert events
    last_to = {e["booking_id"]: e["to"] for e in events}
    for booking_id, to in last_to.items():
        assert by_id[booking_id]["tables"] == to
        assert booking_id not in (seated["id"], pinned["id"])
    assert overlaps(owner_url, rid) == []
    assert pacing_problems(owner_url, rid) == []
    assert table_mismatches(owner_url, rid) == []
