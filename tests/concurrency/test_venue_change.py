"""A venue change and a booking racing for the same table: the change waits for the
booking in flight (restaurant row FOR UPDATE vs the writers' FOR KEY SHARE) and then
refuses to strand it; it never lands on a venue a writer is still planning on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from seatwise.store import ledger
from tests.conftest import DAY, client_for, small_venue


def test_venue_change_waits_for_a_booking_in_flight_and_refuses_to_strand_it(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = create_restaurant(small_venue(tables=3))
    base = f"/v1/restaurants/{r['id']}"
    planned = threading.Event()
    lock_slot = ledger.queue_try_lock_slot

    def slow_lock_slot(conn: Any, *args: Any) -> Any:
        # The booking has read the venue (before any write of its own): hold it here.
        planned.set()
        time.sleep(0.5)
        return lock_slot(conn, *args)

    monkeypatch.setattr(ledger, "queue_try_lock_slot", slow_lock_slot)
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        doc = staff.get(f"{base}/venue").json()
        doc["tables"] = [t for t in doc["tables"] if t["label"] != "T3"]
        body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "A"}, "table_labels": ["T3"]}
        with ThreadPoolExecutor(2) as pool:
            booking = pool.submit(staff.post, f"{base}/bookings", json=body)
            assert planned.wait(10)
            started = time.monotonic()
            change = pool.submit(staff.put, f"{base}/venue", json=doc).result()
            waited = time.monotonic() - started
        assert booking.result().status_code == 201
        assert change.status_code == 409, change.text
        assert change.json()["code"] == "VENUE_IN_USE"
        assert [b["id"] for b in change.json()["bookings"]] == [booking.result().json()["id"]]
        assert waited > 0.2  # it waited for the booking to commit
        assert [t["label"] for t in staff.get(f"{base}/venue").json()["tables"]] == ["T1", "T2", "T3"]
