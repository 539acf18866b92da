"""A rush on one slot through the gates (services.gates) is committed in batches
(services.batches): real parallel HTTP clients, the ledger audited in SQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from seatwise import telemetry
from tests.concurrency.audit import overlaps, pacing_problems
from tests.concurrency.test_races import GUEST, codes, race
from tests.conftest import DAY, small_venue


def _batches() -> tuple[float, float]:
    """(batches committed, bookings in them) so far in this process."""
    get = telemetry.REGISTRY.get_sample_value
    return get("seatwise_write_batch_size_count") or 0.0, get("seatwise_write_batch_size_sum") or 0.0


@pytest.mark.parametrize("gated", [True], ids=["through the gates"], indirect=True)
@pytest.mark.usefixtures("gated")
def test_a_rush_of_mixed_parties_is_committed_in_batches_and_books_each_table_once(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str
) -> None:
    r = create_restaurant(small_venue(tables=10, seats=4, pacing={"max_covers_per_slot": 30}))
    bodies = [{"party_size": 4 if i % 3 else 2, "start": f"{DAY}T19:00", "guest": GUEST} for i in range(60)]
    count, members = _batches()

    responses = race(base_url, r["api_keys"]["channel"], f"/v1/restaurants/{r['id']}/bookings", bodies)

    assert set(codes(responses)) == {"201", "CAPACITY_EXCEEDED"}
    booked = [resp.json() for resp in responses if resp.status_code == 201]
    assert len(booked) <= 10  # ten tables of 4, one party each
    assert sum(b["party_size"] for b in booked) <= 30
    free_tables, free_covers = 10 - len(booked), 30 - sum(b["party_size"] for b in booked)
    for body, resp in zip(bodies, responses, strict=True):
        if resp.status_code != 201:  # refused: it would be refused by the final ledger too
            assert free_tables == 0 or free_covers < body["party_size"]
    assert len({t for b in booked for t in b["tables"]}) == len(booked)
    assert overlaps(owner_url, r["id"]) == []
    assert pacing_problems(owner_url, r["id"]) == []
    after_count, after_members = _batches()
    assert after_count > count  # the racers queued at the gate were carried...
    assert after_members - members >= 2 * (after_count - count)  # ...several at a time
