"""Claims of unassigned bookings (DESIGN §12).

An unassigned booking (shadow, imported, or left without tables by staff) occupies
no table, but it keeps a claim: whenever tables are free over its block, it is
placed before anyone else, oldest first. :func:`with_claims` places every claim of a
ledger that fits, in that order, as `claim` rows on the ledger; planning a new party
on the result offers only what is left after them, and the placements tell a
writer which claims it can now turn into real allocations.

Invariant: the result never depends on the order claims were read in (they are
sorted by creation instant, then id), and a claim is placed only on a plan the
planner would give it on the ledger left by the older claims.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime

from seatwise.core.model import Busy, Claim, DayLedger, Venue
from seatwise.core.planner import Plan, best_plan

CLAIM = "claim"  # the `kind` of a placed claim's ledger rows


@dataclass(frozen=True, slots=True)
class Placed:
    claim: Claim
    plan: Plan


def oldest_first(claims: Collection[Claim]) -> list[Claim]:
    return sorted(claims, key=lambda c: (c.created_at, c.booking_id))


def with_claims(
    venue: Venue, ledger: DayLedger, now: datetime, *, skip: Collection[str] = ()
) -> tuple[DayLedger, tuple[Placed, ...]]:
    """The ledger with every claim that fits placed on it (oldest first), and where.

    Claims of bookings in `skip` are left out (the booking a staff member is
    assigning by hand). A party above `max_party_size` is still planned: an imported
    or shadow booking keeps its claim whatever the policy says now.
    """
    claims = [c for c in oldest_first(ledger.claims) if c.booking_id not in skip]
    if not claims:
        return ledger, ()
    busy = dict(ledger.busy)
    placed: list[Placed] = []
    for claim in claims:
        if claim.start >= claim.end:
            continue
        plan = best_plan(venue, claim.party_size, claim.start, claim.end, replace(ledger, busy=busy), now)
        if plan is None:
            continue
        row = Busy(claim.start, claim.end, CLAIM, claim.booking_id)
        for table_id in plan.table_ids:
            busy[table_id] = (*busy.get(table_id, ()), row)
        placed.append(Placed(claim, plan))
    return replace(ledger, busy=busy), tuple(placed)
