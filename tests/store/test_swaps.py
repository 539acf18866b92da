"""Swaps in one transaction (DESIGN §13): `allocations_no_overlap` is DEFERRABLE
INITIALLY IMMEDIATE. Deferred, two bookings trade tables in one transaction; an
overlap still left at commit is refused and nothing is written. Through the store's
own functions, as the application role (row-level security on)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg import errors as pg_errors

from seatwise.runtime import Runtime
from seatwise.store import ledger
from seatwise.store import seating as seating_store
from tests.conftest import DAY, client_for, small_venue


def tables_of(owner_url: str, rid: str) -> dict[str, list[int]]:
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            "SELECT booking_id::text, array_agg(table_id ORDER BY table_id) FROM allocations"
            " WHERE restaurant_id = %s GROUP BY 1",
            [rid],
        ).fetchall()
    return {r[0]: r[1] for r in rows}


@pytest.fixture
def two_bookings(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    r = create_restaurant(small_venue(tables=2))
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        made = [
            staff.post(
                f"/v1/restaurants/{r['id']}/bookings",
                json={"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "Swap"}},
            )
            for _ in range(2)
        ]
    assert [m.status_code for m in made] == [201, 201]
    return r["id"], made[0].json(), made[1].json()


def move(conn: Any, rid: str, booking: dict[str, Any], table: int, lo: Any, hi: Any) -> None:
    ledger.delete_allocations(conn, rid, booking_id=booking["id"])
    ledger.insert_allocations(conn, rid, [table], lo, hi, booking_id=booking["id"])


def window(owner_url: str, booking_id: str) -> tuple[Any, Any]:
    with psycopg.connect(owner_url) as conn:
        row = conn.execute("SELECT block_start, end_at FROM bookings WHERE id = %s", [booking_id]).fetchone()
    assert row is not None
    return row[0], row[1]


def test_a_swap_commits_when_deferred_and_fails_at_once_when_not(
    runtime: Runtime, owner_url: str, two_bookings: tuple[str, dict[str, Any], dict[str, Any]]
) -> None:
    rid, a, b = two_bookings
    before = tables_of(owner_url, rid)
    (ta,), (tb,) = before[a["id"]], before[b["id"]]
    lo, hi = window(owner_url, a["id"])

    # Immediate (the default): the first half of the swap already overlaps.
    def half_a_swap() -> None:
        with runtime.db.tenant(rid) as conn:
            move(conn, rid, a, tb, lo, hi)

    with pytest.raises(pg_errors.ExclusionViolation):
        half_a_swap()
    assert tables_of(owner_url, rid) == before
    # Deferred: checked once, at commit, when the swap is whole.
    with runtime.db.tenant(rid) as conn:
        seating_store.defer_overlap_check(conn)
        move(conn, rid, a, tb, lo, hi)
        move(conn, rid, b, ta, lo, hi)
    assert tables_of(owner_url, rid) == {a["id"]: [tb], b["id"]: [ta]}


def test_an_overlap_left_at_commit_is_refused_and_nothing_is_written(
    runtime: Runtime, owner_url: str, two_bookings: tuple[str, dict[str, Any], dict[str, Any]]
) -> None:
    rid, a, b = two_bookings
    before = tables_of(owner_url, rid)
    (tb,) = before[b["id"]]
    lo, hi = window(owner_url, a["id"])
    passed: list[bool] = []

    def overlap_left() -> None:
        with runtime.db.tenant(rid) as conn:
            seating_store.defer_overlap_check(conn)
            move(conn, rid, a, tb, lo, hi)  # onto b's table, and b stays: an overlap at commit
            passed.append(True)  # the statement itself passed: the check waits for the commit

    with pytest.raises(pg_errors.ExclusionViolation):
        overlap_left()
    assert passed == [True]
    assert tables_of(owner_url, rid) == before


def test_deferral_ends_with_its_transaction(
    runtime: Runtime, owner_url: str, two_bookings: tuple[str, dict[str, Any], dict[str, Any]]
) -> None:
    """The next transaction on the same pooled connection checks at once again."""
    rid, a, b = two_bookings
    with runtime.db.tenant(rid) as conn:
        seating_store.defer_overlap_check(conn)
    (tb,) = tables_of(owner_url, rid)[b["id"]]
    lo, hi = window(owner_url, a["id"])

    def immediate() -> None:
        with runtime.db.tenant(rid) as conn:
            move(conn, rid, a, tb, lo, hi)
            raise AssertionError("the insert should have been refused at once")

    for _ in range(3):  # whichever pooled connection comes next
        with pytest.raises(pg_errors.ExclusionViolation):
            immediate()
