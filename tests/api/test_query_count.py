"""Availability runs a constant number of SQL statements per request, whatever the
venue size, the number of slots and the number of bookings (DESIGN §5), and the
venue snapshot is read once per venue version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from seatwise.services import availability as reads
from seatwise.services import snapshot
from tests.conftest import DAY, StatementCounter, client_for, load_example, small_venue


def _count(counter: StatementCounter, request: Callable[[], httpx.Response]) -> int:
    before = counter.count
    response = request()
    assert response.status_code == 200, response.text
    return counter.count - before


def test_availability_statements_do_not_grow_with_venue_or_ledger(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, statements: StatementCounter
) -> None:
    small = create_restaurant(small_venue(tables=2))
    grand = create_restaurant(load_example("grand-hall.yaml"))
    counts = {}
    for name, r in (("small", small), ("grand", grand)):
        with client_for(base_url, r["api_keys"]["staff"]) as c:
            url = f"/v1/restaurants/{r['id']}/availability"
            snapshot.clear_cache()  # as in a fresh process
            first = _count(statements, lambda c=c, url=url: c.get(url, params={"date": DAY, "party_size": 2}))
            if name == "grand":  # fill the day: many bookings, combinations included
                for i in range(60):
                    c.post(
                        f"/v1/restaurants/{r['id']}/bookings",
                        json={
                            "party_size": 2 + i % 9,
                            "start": f"{DAY}T{18 + i % 4}:{15 * (i % 4):02d}",
                            "guest": {"name": "G"},
                        },
                    )
            queries = [{"date": DAY, "party_size": p, **t} for p in (2, 6, 10) for t in ({}, {"time": "19:00"})]
            counts[name] = []
            for q in queries:
                reads.answers.clear()  # the computing path, not a cached answer
                counts[name].append(_count(statements, lambda c=c, url=url, q=q: c.get(url, params=q)))
            assert first > counts[name][0]  # the first request also loaded the venue snapshot
            # The same questions again, versions unchanged: once more to fill the
            # cache, then each answered from it after the probe alone.
            for q in queries:
                c.get(url, params=q)
            again = [_count(statements, lambda c=c, url=url, q=q: c.get(url, params=q)) for q in queries]
            assert again == [1] * len(queries), again
    assert len(set(counts["small"] + counts["grand"])) == 1, counts
    # Authentication and the versions (one statement, seatwise_read_probe) and the
    # read (tenant setting, restaurant row, allocations, pacing usage).
    assert counts["small"][0] == 5
