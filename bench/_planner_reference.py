"""The planner as it was before issue 15, kept as the benchmark's same-run baseline.

`best_plan` enumerated every feasible table set (complete enumeration by adjacency
mode, `seatwise.core.combinations.iter_combinations`, which is unchanged) and took
the minimum of the ranking key; `plan_exists_on` stopped at the first set found.
The answers are the same as the new planner's (tests/core/test_planner.py checks
them against brute force); only the work differs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from seatwise.core.combinations import iter_combinations
from seatwise.core.model import DayLedger, Venue
from seatwise.core.occupancy import busy_mask
from seatwise.core.venue_index import VenueIndex, bits_of, venue_index


def _rank(index: VenueIndex, mask: int, party: int) -> tuple[int, int, int, tuple[int, ...]]:
    bits = tuple(bits_of(mask))
    seats = sum(index.seats[i] for i in bits)
    return (seats - party, len(bits), sum(index.scarcity[i] for i in bits), bits)


def _combinations(venue: Venue, index: VenueIndex, party: int, free: int, k: int, max_overage: int) -> Iterator[int]:
    if k < 2 or max_overage < 0:
        return
    for zone_mask in index.combinable.values():
        yield from iter_combinations(
            venue.policy.adjacency_mode, zone_mask & free, index.nbr, index.seats, party, max_overage, k
        )


def best_plan(
    venue: Venue, party: int, block_start: datetime, block_end: datetime, ledger: DayLedger, now: datetime
) -> tuple[str, ...] | None:
    """Labels of the best plan (the old algorithm), or None."""
    index = venue_index(venue)
    free = index.active & ~busy_mask(index, ledger, now, block_start, block_end)
    singles = bits_of(index.singles(party, venue.policy.max_overage) & free)
    single = min(singles, key=lambda i: (index.seats[i], index.scarcity[i], i), default=None)
    best = None if single is None else 1 << single
    budget = venue.policy.max_overage if best is None else _rank(index, best, party)[0] - 1
    k = venue.policy.max_tables_per_combination
    combos = _combinations(venue, index, party, free, k, budget)
    found = min((m for m in (best, *combos) if m is not None), key=lambda m: _rank(index, m, party), default=None)
    return None if found is None else index.labels(found)


def plan_exists_on(venue: Venue, party: int, busy: int, *, max_tables: int | None = None) -> bool:
    """Whether any plan exists (the old availability fast path)."""
    index = venue_index(venue)
    free = index.active & ~busy
    if index.singles(party, venue.policy.max_overage) & free:
        return True
    k = venue.policy.max_tables_per_combination if max_tables is None else max_tables
    return next(_combinations(venue, index, party, free, k, venue.policy.max_overage), None) is not None
