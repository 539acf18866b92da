"""Shadow and normal bookings racing on one slot, audited in SQL.

In a shadow restaurant every booking is accepted; only as many as there are tables
get tables, pacing is never exceeded, and the ledger stays clean. Enforced holds and
cancellations race in the same slot, so claims are placed while others plan.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg

from tests.concurrency.audit import overlaps, pacing_problems, table_mismatches
from tests.conftest import DAY, small_venue

GUEST = {"name": "Racer"}


def test_shadow_and_normal_bookings_racing_on_one_slot_keep_the_audit_clean(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str
) -> None:
    doc = small_venue(tables=4, seats=4, pacing={"max_parties_per_slot": 10})
    doc["policy"]["enforcement"] = "shadow"
    r = create_restaurant(doc)
    base = f"/v1/restaurants/{r['id']}"
    staff_key, channel_key = r["api_keys"]["staff"], r["api_keys"]["channel"]
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {staff_key}"}, timeout=120) as staff:
        early = [
            staff.post(f"{base}/bookings", json={"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST}).json()
            for _ in range(2)
        ]
    jobs: list[tuple[str, str, dict[str, Any] | None]] = []
    jobs += [("channel", "/bookings", {"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST})] * 12
    jobs += [
        ("staff", "/bookings", {"party_size": 4, "start": f"{DAY}T19:00", "guest": GUEST, "table_labels": ["T3"]})
    ] * 3
    jobs += [("channel", "/holds", {"party_size": 2, "start": f"{DAY}T19:00"})] * 4
    jobs += [("staff", f"/bookings/{b['id']}/cancel", None) for b in early]
    barrier = threading.Barrier(len(jobs))

    def one(job: tuple[str, str, dict[str, Any] | None]) -> httpx.Response:
        who, path, body = job
        key = staff_key if who == "staff" else channel_key
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as c:
            barrier.wait()
            return c.post(base + path, json=body) if body is not None else c.post(base + path)

    with ThreadPoolExecutor(len(jobs)) as pool:
        responses = list(pool.map(one, jobs))
    outcomes = Counter(
        (job[1].split("/")[1], resp.status_code, resp.json().get("code"))
        for job, resp in zip(jobs, responses, strict=True)
    )
    assert not [resp.text for resp in responses if resp.status_code >= 500]
    bookings_made = [resp.json() for job, resp in zip(jobs, responses, strict=True) if job[1] == "/bookings"]
    assert len(bookings_made) == 15
    assert all(resp.status_code == 201 for job, resp in zip(jobs, responses, strict=True) if job[1] == "/bookings")
    assert outcomes[("bookings", 200, None)] == 2  # both cancels
    # Holds are enforced even in shadow mode: they are tables or nothing.
    assert outcomes[("holds", 201, None)] + outcomes[("holds", 409, "CAPACITY_EXCEEDED")] == 4
    with psycopg.connect(owner_url) as conn:
        live = conn.execute(
            """SELECT count(*) FILTER (WHERE NOT unassigned), count(*) FILTER (WHERE unassigned),
                      count(*) FILTER (WHERE pacing_counted)
               FROM bookings WHERE restaurant_id = %s AND status = 'confirmed'""",
            [r["id"]],
        ).fetchone()
        held = conn.execute(
            "SELECT count(DISTINCT table_id) FROM allocations WHERE restaurant_id = %s AND hold_id IS NOT NULL",
            [r["id"]],
        ).fetchone()
    assert live is not None
    assert held is not None
    assigned, unassigned, counted = live
    assert assigned + held[0] == 4  # every table is taken, by a booking or a live hold
    assert assigned + unassigned == 15
    # Pacing: never over the limit; full unless the cancels came last (each gives one back).
    assert 8 <= counted + outcomes[("holds", 201, None)] <= 10
    assert all(b["overbooked"] == (b["tables"] == []) for b in bookings_made)  # as created
    assert sum(b["tables"] == [] for b in bookings_made) >= 15 - 4
    assert overlaps(owner_url, r["id"]) == []
    assert pacing_problems(owner_url, r["id"]) == []
    assert table_mismatches(owner_url, r["id"]) == []


def test_a_table_freed_while_shadow_bookings_are_refused_is_never_left_free(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str
) -> None:
    """Cancels free every table while shadow bookings for the same time are being
    refused: either a booking sees the freed table, or the cancel places the booking
    refused meanwhile on it (the claims lock orders the two). Round after round, no
    table is left free while an unassigned booking could sit there."""
    doc = small_venue(tables=3, seats=4)
    doc["policy"]["enforcement"] = "shadow"
    r = create_restaurant(doc)
    base = f"/v1/restaurants/{r['id']}"
    staff_key = r["api_keys"]["staff"]
    for n, start in enumerate(("17:00", "18:00", "19:00", "20:00", "21:00")):
        body = {"party_size": 2, "start": f"{DAY}T{start}", "guest": GUEST}
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {staff_key}"}, timeout=120) as c:
            early = [c.post(f"{base}/bookings", json=body).json() for _ in range(3)]
        assert all(b["tables"] for b in early), early
        jobs: list[tuple[str, dict[str, Any] | None]] = [("/bookings", body)] * 9
        jobs += [(f"/bookings/{b['id']}/cancel", None) for b in early]
        barrier = threading.Barrier(len(jobs))

        def one(job: tuple[str, dict[str, Any] | None], barrier: threading.Barrier = barrier) -> httpx.Response:
            path, payload = job
            with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {staff_key}"}, timeout=120) as c:
                barrier.wait()
                return c.post(base + path, json=payload) if payload is not None else c.post(base + path)

        with ThreadPoolExecutor(len(jobs)) as pool:
            responses = list(pool.map(one, jobs))
        assert [x.status_code for x in responses] == [201] * 9 + [200] * 3, [x.text for x in responses]
        with psycopg.connect(owner_url) as conn:
            row = conn.execute(
                """SELECT count(*) FILTER (WHERE NOT unassigned), count(*) FILTER (WHERE unassigned)
                   FROM bookings WHERE restaurant_id = %s AND status = 'confirmed' AND start_at = %s""",
                [r["id"], early[0]["start"]],
            ).fetchone()
        assert row == (3, 6), (n, row)  # three tables taken again, six bookings waiting for one
        assert overlaps(owner_url, r["id"]) == []
        assert table_mismatches(owner_url, r["id"]) == []
