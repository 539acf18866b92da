"""The hold sweeper: every expired hold announced once, deleted after the grace
period with its pacing given back, live holds untouched, reruns change nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import psycopg

from seatwise.runtime import Runtime
from seatwise.services import jobs
from seatwise.services.common import utcnow
from tests.conftest import DAY, client_for


def _make_holds(base_url: str, restaurant: dict[str, Any], n: int) -> list[str]:
    made = []
    with client_for(base_url, restaurant["api_keys"]["staff"]) as staff:
        for i in range(n):
            start = f"{date.fromisoformat(DAY) + timedelta(days=i // 10)}T19:00"
            hold = staff.post(f"/v1/restaurants/{restaurant['id']}/holds", json={"party_size": 2, "start": start})
            assert hold.status_code == 201, hold.text
            made.append(hold.json()["id"])
    return made


def _state(owner_url: str, rid: str) -> dict[str, Any]:
    with psycopg.connect(owner_url) as conn:
        expired = [
            r[0]
            for r in conn.execute(
                "SELECT payload->>'id' FROM outbox WHERE restaurant_id = %s AND event = 'hold.expired'", [rid]
            )
        ]
        holds = {r[0] for r in conn.execute("SELECT id::text FROM holds WHERE restaurant_id = %s", [rid])}
        held = conn.execute(
            "SELECT count(*) FROM allocations WHERE restaurant_id = %s AND hold_id IS NOT NULL", [rid]
        ).fetchone()
        covers = conn.execute(
            "SELECT coalesce(sum(covers), 0), coalesce(sum(parties), 0) FROM pacing_usage WHERE restaurant_id = %s",
            [rid],
        ).fetchone()
    assert held is not None
    assert covers is not None
    return {"expired_events": expired, "holds": holds, "held_rows": held[0], "pacing": tuple(covers)}


def test_sweeper_announces_once_and_deletes_after_grace(
    jobs_runtime: Runtime, jobs_base_url: str, jobs_owner_url: str, restaurant: dict[str, Any]
) -> None:
    rid = restaurant["id"]
    holds = _make_holds(jobs_base_url, restaurant, 300)
    expired, live = holds[:250], holds[250:]
    with psycopg.connect(jobs_owner_url) as conn:
        for table, column in (("holds", "id"), ("allocations", "hold_id")):
            conn.execute(
                f"UPDATE {table} SET expires_at = now() - interval '1 minute' "
                f"WHERE restaurant_id = %s AND {column} = ANY(%s::uuid[])",
                [rid, expired],
            )
            conn.execute(
                f"UPDATE {table} SET expires_at = now() + interval '1 hour' "
                f"WHERE restaurant_id = %s AND {column} = ANY(%s::uuid[])",
                [rid, live],
            )
    before = _state(jobs_owner_url, rid)
    assert before["pacing"] == (600, 300)

    now = utcnow()
    first = jobs.sweep_holds(jobs_runtime.jobs_db, jobs_runtime.db, now)
    assert (first.announced, first.deleted) == (250, 0)
    after = _state(jobs_owner_url, rid)
    assert sorted(after["expired_events"]) == sorted(expired)  # each exactly once
    assert after["holds"] == set(holds)  # within the grace period: kept (a late confirm learns HOLD_EXPIRED)

    again = jobs.sweep_holds(jobs_runtime.jobs_db, jobs_runtime.db, now)
    assert (again.announced, again.deleted) == (0, 0)

    later = now + jobs.HOLD_GRACE + timedelta(minutes=1)
    swept = jobs.sweep_holds(jobs_runtime.jobs_db, jobs_runtime.db, later)
    assert (swept.announced, swept.deleted) == (0, 250)
    final = _state(jobs_owner_url, rid)
    assert final["holds"] == set(live)
    assert final["held_rows"] == 50
    assert final["pacing"] == (100, 50)  # the expired holds' covers were given back
    assert sorted(final["expired_events"]) == sorted(expired)

    rerun = jobs.sweep_holds(jobs_runtime.jobs_db, jobs_runtime.db, later)
    assert (rerun.announced, rerun.deleted, rerun.restaurants) == (0, 0, 0)
    assert _state(jobs_owner_url, rid) == final


def test_expired_event_renders_the_hold(
    jobs_runtime: Runtime, jobs_base_url: str, jobs_owner_url: str, restaurant: dict[str, Any]
) -> None:
    rid = restaurant["id"]
    with client_for(jobs_base_url, restaurant["api_keys"]["staff"]) as staff:
        hold = staff.post(f"/v1/restaurants/{rid}/holds", json={"party_size": 3, "start": f"{DAY}T20:00"}).json()
    with psycopg.connect(jobs_owner_url) as conn:
        conn.execute("UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = %s", [hold["id"]])
        conn.execute("UPDATE allocations SET expires_at = now() - interval '1 second' WHERE hold_id = %s", [hold["id"]])
    jobs.sweep_holds(jobs_runtime.jobs_db, jobs_runtime.db, utcnow())
    with psycopg.connect(jobs_owner_url) as conn:
        row = conn.execute(
            "SELECT payload FROM outbox WHERE restaurant_id = %s AND event = 'hold.expired'", [rid]
        ).fetchone()
    assert row is not None
    payload = row[0]
    assert {k: payload[k] for k in ("id", "party_size", "start", "end", "tables")} == {
        k: hold[k] for k in ("id", "party_size", "start", "end", "tables")
    }
    assert payload["expires_at"] != hold["expires_at"]  # the expiry it really had
