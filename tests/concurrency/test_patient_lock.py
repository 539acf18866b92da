"""A writer waiting for a slot another writer holds is refused as soon as a plain read
of committed rows proves the refusal (services.common._lock_slot_refusing_early): it
does not queue behind every writer of the slot, nor hold the lock to be refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.conftest import DAY, client_for, small_venue

SLOT_ROW = "SELECT covers FROM pacing_usage WHERE restaurant_id = %s ORDER BY slot_start LIMIT 1 FOR UPDATE"
HOLD_SECONDS = 4.0  # longer than the lock timeout (store.db.LOCK_TIMEOUT, 2 s)


def test_a_refusal_proven_while_waiting_needs_no_lock(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str
) -> None:
    r = create_restaurant(small_venue(tables=10, pacing={"max_covers_per_slot": 4}))
    url = f"/v1/restaurants/{r['id']}/bookings"
    body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "Ada"}}
    staff = client_for(base_url, r["api_keys"]["staff"])
    assert staff.post(url, json=body).status_code == 201  # the slot's pacing row: 2 of 4 covers
    first = psycopg.connect(owner_url)  # the writer ahead: fills the slot's pacing, commits later
    first.execute(SLOT_ROW, [r["id"]])
    first.execute("UPDATE pacing_usage SET covers = 4 WHERE restaurant_id = %s", [r["id"]])
    second_holds = threading.Event()
    second_done = threading.Event()

    def second() -> None:  # the writer queued next: holds the slot for HOLD_SECONDS once granted
        with psycopg.connect(owner_url) as conn:
            conn.execute(SLOT_ROW, [r["id"]])
            second_holds.set()
            time.sleep(HOLD_SECONDS)
        second_done.set()

    queued = threading.Thread(target=second, daemon=True)
    queued.start()
    answer: list[tuple[httpx.Response, float]] = []

    def book() -> None:
        response = staff.post(url, json=body)
        answer.append((response, time.monotonic()))

    try:
        time.sleep(0.3)  # the second writer waits for the first
        booking = threading.Thread(target=book, daemon=True)
        booking.start()
        time.sleep(0.5)  # the booking read 2 of 4 covers, and waits for the slot
        assert not answer, "the booking did not wait for the slot"
        first.commit()  # the slot is full; the second writer holds it now
        committed = time.monotonic()
        assert second_holds.wait(5)
        booking.join(timeout=HOLD_SECONDS + 10)
        refused, at = answer[0]
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "CAPACITY_EXCEEDED"
        # Without the patience the booking waits in line for the second writer (to the
        # 2 s lock timeout, then retries): refused 2 s or more after the commit.
        assert at - committed < 1.2, f"refused {at - committed:.2f} s after the slot was full"
        assert not second_done.is_set()
    finally:
        first.close()
        queued.join(timeout=HOLD_SECONDS + 5)
        staff.close()
