"""The benchmarks' load generator (bench/_common.RawConnection, bench/booking.drive)
against the real app: it reads each answer whole on a kept-alive connection, so its
statuses and bodies are the server's and the next request starts clean.

Each runs its event loop in a thread of its own (`tests.conftest.in_own_thread`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from tests.conftest import DAY, in_own_thread, on_own_loop, small_venue

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from _common import RawConnection, raw_request
from booking import drive


def test_answers_are_read_whole_on_one_connection(
    base_url: str, create_restaurant: Callable[..., dict[str, Any]]
) -> None:
    r = create_restaurant(small_venue(tables=1))
    auth = {"Authorization": f"Bearer {r['api_keys']['channel']}", "Content-Type": "application/json"}
    body = json.dumps({"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "Raw"}}).encode()
    query = f"date={DAY}&party_size=2&time=19:00"
    book = raw_request("POST", base_url, f"/v1/restaurants/{r['id']}/bookings", auth, body)

    async def run() -> list[tuple[int, bytes]]:
        conn = await RawConnection.open(base_url)
        try:
            return [
                await conn.send(raw_request("GET", base_url, "/healthz")),
                await conn.send(book),
                await conn.send(book),  # the only table is taken
                await conn.send(raw_request("GET", base_url, f"/v1/restaurants/{r['id']}/availability?{query}", auth)),
                await conn.send(raw_request("GET", base_url, "/v1/no-such-path")),
            ]
        finally:
            conn.close()

    health, booked, refused, available, missing = on_own_loop(run)
    assert health == (200, b'{"status":"ok"}')
    assert booked[0] == 201
    assert json.loads(booked[1])["party_size"] == 2
    assert refused[0] == 409
    assert json.loads(refused[1])["code"]
    assert available[0] == 200
    assert [s["available"] for s in json.loads(available[1])["slots"] if s["time"] == "19:00"] == [False]
    assert missing[0] == 404
    assert json.loads(missing[1])["status"] == 404


def test_drive_counts_every_answer(
    base_url: str, create_restaurant: Callable[..., dict[str, Any]], owner_url: str
) -> None:
    r = create_restaurant(small_venue(tables=3))
    job = (r["id"], r["api_keys"]["channel"], {"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "Rush"}})
    latencies, statuses, wall = in_own_thread(drive, base_url, [job] * 12, 6, unique_keys=True)
    assert statuses == {201: 3, 409: 9}
    assert len(latencies) == 12
    assert all(0 < t <= wall for t in latencies)
    with psycopg.connect(owner_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT idempotency_key) FROM bookings WHERE restaurant_id = %s", [r["id"]]
        ).fetchone()
    assert row == (3, 3)  # each request carried a key of its own
