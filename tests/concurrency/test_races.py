"""Real parallel HTTP clients racing for fewer seats than they ask for, audited in SQL.

Each race runs with the database alone (tests/concurrency/conftest.py) and again
through the in-process gates (services.gates). The control test switches the
protection off (test-only: a database without the exclusion and pacing constraints,
and the slot lock replaced by a plain read) and shows the same race then overbooks
and the audit catches it.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx
import psycopg
import pytest

from seatwise.config import load_settings
from seatwise.runtime import Runtime
from seatwise.store import ledger, server
from seatwise.store.db import Database
from tests.concurrency.audit import booked_covers, overlaps, pacing_problems
from tests.conftest import ADMIN_KEY, DAY, migrated_database, serving, small_venue

GUEST = {"name": "Racer"}
CLIENTS = 100


def race(base_url: str, key: str, path: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """POST every body at once from its own client and connection."""
    barrier = threading.Barrier(len(bodies))

    def one(body: dict[str, Any]) -> httpx.Response:
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as c:
            barrier.wait()
            return c.post(path, json=body)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(one, bodies))


def codes(responses: list[httpx.Response]) -> Counter[str]:
    return Counter(str(r.status_code) if r.status_code < 300 else r.json()["code"] for r in responses)


@pytest.mark.parametrize("gated", [False, True], ids=["database alone", "through the gates"], indirect=True)
@pytest.mark.usefixtures("gated")
def test_100_clients_for_10_tables_book_exactly_10(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str
) -> None:
    r = create_restaurant(small_venue(tables=10, seats=4))
    body = {"party_size": 4, "start": f"{DAY}T19:00", "guest": GUEST}
    responses = race(base_url, r["api_keys"]["channel"], f"/v1/restaurants/{r['id']}/bookings", [body] * CLIENTS)
    assert codes(responses) == {"201": 10, "CAPACITY_EXCEEDED": 90}
    tables = sorted(t for resp in responses if resp.status_code == 201 for t in resp.json()["tables"])
    assert tables == sorted(f"T{i}" for i in range(1, 11))
    assert overlaps(owner_url, r["id"]) == []
    assert pacing_problems(owner_url, r["id"]) == []


@pytest.mark.parametrize("gated", [False, True], ids=["database alone", "through the gates"], indirect=True)
@pytest.mark.usefixtures("gated")
def test_100_clients_against_a_pacing_limit(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str
) -> None:
    r = create_restaurant(
        small_venue(tables=40, seats=2, pacing={"max_covers_per_slot": 13, "max_parties_per_slot": 9})
    )
    body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST}
    responses = race(base_url, r["api_keys"]["channel"], f"/v1/restaurants/{r['id']}/bookings", [body] * CLIENTS)
    assert codes(responses) == {"201": 6, "CAPACITY_EXCEEDED": 94}  # 6 x 2 = 12 <= 13 covers
    assert booked_covers(owner_url, r["id"]) == 12
    assert pacing_problems(owner_url, r["id"]) == []
    assert overlaps(owner_url, r["id"]) == []


@pytest.mark.parametrize("gated", [False, True], ids=["database alone", "through the gates"], indirect=True)
@pytest.mark.usefixtures("gated")
def test_holds_race_the_same_way(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str
) -> None:
    r = create_restaurant(small_venue(tables=5, seats=4))
    body = {"party_size": 3, "start": f"{DAY}T20:00"}
    responses = race(base_url, r["api_keys"]["channel"], f"/v1/restaurants/{r['id']}/holds", [body] * 40)
    assert codes(responses) == {"201": 5, "CAPACITY_EXCEEDED": 35}
    assert overlaps(owner_url, r["id"]) == []
    assert pacing_problems(owner_url, r["id"]) == []


def test_20_concurrent_confirms_of_one_hold_give_one_booking(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str
) -> None:
    r = create_restaurant(small_venue(tables=3))
    key = r["api_keys"]["channel"]
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as c:
        hold = c.post(f"/v1/restaurants/{r['id']}/holds", json={"party_size": 2, "start": f"{DAY}T19:00"}).json()
    responses = race(base_url, key, f"/v1/restaurants/{r['id']}/holds/{hold['id']}/confirm", [{"guest": GUEST}] * 20)
    assert codes(responses) == {"201": 1, "200": 19}
    assert len({resp.json()["id"] for resp in responses}) == 1
    assert len({resp.text for resp in responses}) == 1  # byte-identical replays
    with psycopg.connect(owner_url) as conn:
        assert conn.execute("SELECT count(*) FROM bookings WHERE restaurant_id = %s", [r["id"]]).fetchone() == (1,)
    assert pacing_problems(owner_url, r["id"]) == []


def test_concurrent_replays_of_one_idempotency_key_give_one_booking(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str
) -> None:
    r = create_restaurant(small_venue(tables=3))
    body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST}
    barrier = threading.Barrier(20)

    def one(_: int) -> httpx.Response:
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {r['api_keys']['channel']}"}) as c:
            barrier.wait()
            return c.post(f"/v1/restaurants/{r['id']}/bookings", json=body, headers={"Idempotency-Key": "same"})

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(one, range(20)))
    assert codes(responses) == {"201": 1, "200": 19}
    assert len({resp.json()["id"] for resp in responses}) == 1
    assert booked_covers(owner_url, r["id"]) == 2


# --- control: the same race with the protection off ------------------------------


@pytest.fixture
def unprotected(pg: server.Server, worker_id: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """An app on a database without the exclusion/pacing constraints, whose slot lock
    is a plain read. Test-only: nothing in src/ can switch the protection off."""
    with migrated_database(pg, f"seatwise_control_{worker_id}_{os.getpid()}") as name:
        with psycopg.connect(pg.owner_url(name), autocommit=True) as conn:
            conn.execute("ALTER TABLE allocations DROP CONSTRAINT allocations_no_overlap")
            conn.execute("ALTER TABLE pacing_usage DROP CONSTRAINT pacing_covers_within_limit")
            conn.execute("ALTER TABLE pacing_usage DROP CONSTRAINT pacing_parties_within_limit")

        def read_only_slot(conn: Any, rid: str, slot_start: Any, _pacing: Any, _now: Any) -> Any:
            """The slot's usage, read without any lock."""
            return conn.execute(
                "SELECT covers, parties FROM pacing_usage WHERE restaurant_id = %s AND slot_start = %s",
                [rid, slot_start],
            )

        clear_expired_holds = ledger.clear_expired_holds

        def slow_clear(conn: Any, *args: Any) -> None:
            """Between planning and writing, wait: widens the window the protection closes."""
            conn.execute("SELECT pg_sleep(0.05)")
            clear_expired_holds(conn, *args)

        monkeypatch.setattr(ledger, "queue_lock_slot", read_only_slot)
        monkeypatch.setattr(ledger, "clear_expired_holds", slow_clear)
        db = Database(pg.app_url(name), max_size=40)
        rt = Runtime(replace(load_settings(), database_name=name, admin_key=ADMIN_KEY), pg, db, ADMIN_KEY)
        try:
            with serving(rt) as url:
                yield url, pg.owner_url(name)
        finally:
            db.close()


def test_control_without_protection_the_race_overbooks_and_the_audit_catches_it(
    unprotected: tuple[str, str],
) -> None:
    url, owner = unprotected
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as admin:
        created = admin.post(
            "/v1/restaurants", json=small_venue(tables=10, seats=4, pacing={"max_covers_per_slot": 20})
        )
        assert created.status_code == 201, created.text
        r = created.json()
    with psycopg.connect(owner, autocommit=True) as conn:  # the row the unlocked read finds
        conn.execute(
            "INSERT INTO pacing_usage (restaurant_id, slot_start, max_covers) VALUES (%s, %s, 20)",
            [r["id"], f"{DAY} 19:00Z"],
        )
    body = {"party_size": 4, "start": f"{DAY}T19:00", "guest": GUEST}
    responses = race(url, r["api_keys"]["channel"], f"/v1/restaurants/{r['id']}/bookings", [body] * CLIENTS)
    assert codes(responses)["201"] > 5, codes(responses)  # more than the pacing limit allows (5 x 4 = 20)
    assert len(overlaps(owner, r["id"])) > 0  # and some table taken twice
    assert booked_covers(owner, r["id"]) > 20
    assert any("covers >" in p for p in pacing_problems(owner, r["id"]))
