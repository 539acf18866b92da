"""No deadlocks (DESIGN §6, issue 9): 200 concurrent bookings whose blocks overlap
across slots race for the same tables; PostgreSQL's own deadlock counter for the
database must not move. Retried deadlocks used to hide here (4 in such a burst)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg

from tests.concurrency.audit import overlaps, pacing_problems, table_mismatches
from tests.concurrency.test_races import codes, race
from tests.conftest import DAY, small_venue

CLIENTS = 200


def _deadlocks(owner_url: str, database: str) -> int:
    with psycopg.connect(owner_url, autocommit=True) as conn:
        # Idle application backends keep their counters pending (flushed at most every
        # few seconds); ending them flushes at once. The pool discards the broken
        # connections at the next checkout (store/db.py check_alive).
        conn.execute(
            """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE datname = %s AND usename = 'seatwise_app' AND state = 'idle'""",
            [database],
        )
        time.sleep(0.5)
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = %s", [database]).fetchone()
    assert row is not None
    return int(row[0])


def test_a_200_client_burst_across_overlapping_slots_never_deadlocks(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str, database_name: str
) -> None:
    labels = [f"T{i}" for i in range(1, 25)]
    adjacency = [[labels[i], labels[i + 1]] for i in range(len(labels) - 1)]
    r = create_restaurant(small_venue(tables=24, seats=2, adjacency=adjacency))
    starts = [f"{h}:{m:02d}" for h in (18, 19, 20) for m in (0, 15, 30, 45)]
    bodies = [
        {"party_size": 2, "start": f"{DAY}T{starts[i % len(starts)]}", "guest": {"name": f"R{i}"}}
        for i in range(CLIENTS)
    ]
    before = _deadlocks(owner_url, database_name)
    responses = race(base_url, r["api_keys"]["staff"], f"/v1/restaurants/{r['id']}/bookings", bodies)
    counted = codes(responses)
    assert set(counted) <= {"201", "CAPACITY_EXCEEDED"}, counted
    assert counted["201"] > 0
    after = _deadlocks(owner_url, database_name)
    assert after == before, f"{after - before} deadlocks in the burst"
    assert overlaps(owner_url, r["id"]) == []
    assert pacing_problems(owner_url, r["id"]) == []
    assert table_mismatches(owner_url, r["id"]) == []


def test_a_booking_takes_its_table_lock_before_touching_the_ledger(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str
) -> None:
    """The mechanism: while another transaction holds table T1's lock, a booking for
    T1 waits (instead of inserting and racing in the exclusion check), then books."""
    import threading

    import httpx

    r = create_restaurant(small_venue(tables=1))
    answer: dict[str, httpx.Response] = {}
    body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "Waiter"}}
    headers = {"Authorization": f"Bearer {r['api_keys']['staff']}"}
    with psycopg.connect(owner_url) as holder:
        row = holder.execute(
            "SELECT id FROM dining_tables WHERE restaurant_id = %s AND label = 'T1'", [r["id"]]
        ).fetchone()
        assert row is not None
        holder.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s::text || ':' || %s::text, 0))", [r["id"], str(row[0])]
        )
        t = threading.Thread(
            target=lambda: answer.setdefault(
                "r", httpx.post(f"{base_url}/v1/restaurants/{r['id']}/bookings", json=body, headers=headers, timeout=30)
            )
        )
        t.start()
        t.join(timeout=0.8)
        assert t.is_alive(), answer["r"].text
        holder.rollback()
    t.join(timeout=30)
    assert answer["r"].status_code == 201, answer["r"].text
