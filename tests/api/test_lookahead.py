"""Look-ahead ranking through the real service: with a history of its own bookings, a
restaurant seats a party on the table it fills tightly; without one, on the first
table in label order (the plain ranking)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from tests.conftest import DAY, client_for, small_venue

TIMES = ("18:15", "18:30", "19:00", "20:00")


def history_rows(weeks: int = 4) -> list[dict[str, Any]]:
    """Completed parties of two through the evening on the same weekday of the past weeks."""
    night = date.fromisoformat(DAY)
    rows = []
    for w in range(1, weeks + 1):
        day = (night - timedelta(weeks=w)).isoformat()
        for n, at in enumerate(TIMES):
            rows.append(
                {
                    "start": f"{day}T{at}",
                    "party_size": 2,
                    "name": f"Past {w}-{n}",
                    "status": "completed",
                    "external_ref": f"past-{w}-{n}",
                }
            )
    return rows


def seat_second_party(create_restaurant: Callable[..., dict[str, Any]], base_url: str, *, history: bool) -> str:
    created = create_restaurant(small_venue(tables=2, seats=2))
    rid = created["id"]
    with client_for(base_url, created["api_keys"]["staff"]) as staff:
        if history:
            imported = staff.post(f"/v1/restaurants/{rid}/bookings/import", json=history_rows())
            assert imported.status_code == 200, imported.text
        # T2 is taken until 19:00 (a party of two dines 60 minutes).
        first = {"party_size": 2, "start": f"{DAY}T18:00", "guest": {"name": "Early"}, "table_labels": ["T2"]}
        assert staff.post(f"/v1/restaurants/{rid}/bookings", json=first).status_code == 201
        second = {"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "Second"}}
        r = staff.post(f"/v1/restaurants/{rid}/bookings", json=second)
        assert r.status_code == 201, r.text
        tables: list[str] = r.json()["tables"]
    assert len(tables) == 1
    return tables[0]


def test_with_history_the_party_is_tucked_against_the_earlier_booking(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> None:
    # T1 is free all evening: seating at 19:00 there splits it; T2 is free from 19:00.
    assert seat_second_party(create_restaurant, base_url, history=True) == "T2"


def test_without_history_the_plain_ranking_takes_label_order(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> None:
    assert seat_second_party(create_restaurant, base_url, history=False) == "T1"
