"""Bookings committed together (services.batches), on the real database: each member
is planned on the ledger the members before it left, a refusal is shared only by
members of the same shape, and a batch that fails writes nothing and sends every
member on its own way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from seatwise import telemetry
from seatwise.core.errors import CapacityExceeded
from seatwise.runtime import Runtime
from seatwise.services import batches, bookings
from seatwise.services.auth import Principal, authenticate_token
from seatwise.services.results import Guest
from tests.concurrency.audit import overlaps
from tests.conftest import ADMIN_KEY, DAY, small_venue


def _request(party: int, time: str = "19:00") -> bookings.BookingRequest:
    return bookings.BookingRequest(party_size=party, start=f"{DAY}T{time}", guest=Guest(name="Ada"))


def _ledger(owner_url: str, rid: str) -> tuple[int, int]:
    """(bookings, covers counted in pacing) of the restaurant."""
    with psycopg.connect(owner_url) as conn:
        row = conn.execute(
            """SELECT (SELECT count(*) FROM bookings WHERE restaurant_id = %(r)s),
                      (SELECT coalesce(sum(covers), 0) FROM pacing_usage WHERE restaurant_id = %(r)s)""",
            {"r": rid},
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.fixture
def paced(create_restaurant: Callable[..., dict[str, Any]], runtime: Runtime) -> tuple[str, Principal]:
    """Three tables of 4, at most 10 covers a slot."""
    r = create_restaurant(small_venue(tables=3, seats=4, pacing={"max_covers_per_slot": 10}))
    return r["id"], authenticate_token(runtime.db, ADMIN_KEY, r["api_keys"]["channel"])


def test_members_are_planned_in_turn_and_a_refusal_is_shared_only_by_its_shape(
    paced: tuple[str, Principal], runtime: Runtime, owner_url: str
) -> None:
    rid, actor = paced
    parties = [4, 4, 4, 4, 2, 2]
    jobs = [bookings.booking_job(runtime.db, rid, _request(p), actor) for p in parties]
    batches_before = telemetry.REGISTRY.get_sample_value("seatwise_write_batch_size_count") or 0.0

    outcomes = batches.commit_together(jobs)

    booked = [o.value[0] for o in outcomes if o.value is not None]
    assert [b.party_size for b in booked] == [4, 4, 2]  # 8 covers, then 4 more would be 12 > 10; 2 fits
    assert len({t for b in booked for t in b.tables}) == 3  # each its own table
    refusals = [o.error for o in outcomes]
    assert isinstance(refusals[2], CapacityExceeded)
    assert refusals[3] is refusals[2]  # the same shape on the same ledger: not planned again
    assert isinstance(refusals[5], CapacityExceeded)  # 12 covers: its own refusal, decided for it
    assert refusals[5] is not refusals[2]
    assert _ledger(owner_url, rid) == (3, 10)
    assert overlaps(owner_url, rid) == []
    assert (telemetry.REGISTRY.get_sample_value("seatwise_write_batch_size_count") or 0.0) == batches_before + 1


def test_a_batch_that_fails_writes_nothing_and_sends_every_member_on_its_own_way(
    paced: tuple[str, Principal], runtime: Runtime, owner_url: str
) -> None:
    rid, actor = paced
    good = bookings.booking_job(runtime.db, rid, _request(2), actor)

    def broken(_conn: Any, _attempt: Any, _first: bool) -> Any:
        raise RuntimeError("a member's bug")

    bad = batches.Job(runtime.db, rid, actor.label, object(), broken, lambda _result: None)

    outcomes = batches.commit_together([good, bad, bookings.booking_job(runtime.db, rid, _request(2), actor)])

    assert [o.alone for o in outcomes] == [True, True, True]
    assert _ledger(owner_url, rid) == (0, 0)  # the first member's booking was rolled back with the batch
    with pytest.raises(LookupError):
        outcomes[0].unwrap()  # an answer only its own transaction gives
    _, created = bookings.create_booking(runtime.db, rid, _request(2), actor)  # on its own: books
    assert created
    assert _ledger(owner_url, rid) == (1, 2)


def test_requests_naming_tables_or_keys_never_share_a_refusal(paced: tuple[str, Principal], runtime: Runtime) -> None:
    rid, actor = paced
    plain = [bookings.booking_job(runtime.db, rid, _request(4), actor) for _ in range(2)]
    assert plain[0].shape == plain[1].shape
    named = bookings.BookingRequest(party_size=4, start=f"{DAY}T19:00", guest=Guest(name="Ada"), table_labels=["T1"])
    keyed = bookings.BookingRequest(party_size=4, start=f"{DAY}T19:00", guest=Guest(name="Ada"), idempotency_key="k")
    for special in (named, keyed):
        job = bookings.booking_job(runtime.db, rid, special, actor)
        assert job.shape != plain[0].shape
        assert job.shape != bookings.booking_job(runtime.db, rid, special, actor).shape
