"""Unassigned bookings take the tables that free up, oldest first (DESIGN §12).

Every use case that frees tables (cancel, no-show, complete, a move, a block lifted)
calls :func:`place_claims` over the span it freed, in its own transaction: the
claims of that span that now fit are written as real allocations before anyone else
can plan on the tables. Planners elsewhere honour claims too (`core.claims`), so
availability never offers what an unassigned booking would take.

Lock order (docs/architecture.md): after the caller's own booking row, the
restaurant's claims lock (step 5; it orders this with a shadow booking refused
meanwhile, services.common.reserve), the unassigned bookings it places in ascending
id, then table locks and allocation rows in ascending table order (step 6). Pacing
is not touched: a party's pacing belongs to its slot, not to its tables.
"""

from __future__ import annotations

from datetime import datetime

from seatwise.core.claims import with_claims
from seatwise.core.events import EventType
from seatwise.core.model import Venue
from seatwise.services.auth import Principal
from seatwise.services.common import emit
from seatwise.services.results import labels_of
from seatwise.store import bookings as repo
from seatwise.store import ledger
from seatwise.store.venues import Conn


def place_claims(
    conn: Conn, rid: str, venue: Venue, lo: datetime, hi: datetime, now: datetime, actor: Principal
) -> int:
    """Place the unassigned bookings whose block overlaps `[lo, hi)` that now fit.

    Returns how many were placed. A claim being changed by another transaction
    (locked, or no longer unassigned when locked) is left to it; a concurrent writer
    that takes the same tables makes the exclusion constraint refuse one of the two,
    and the use case is retried.

    Reads under the restaurant's claims lock (`ledger.lock_claims`); a caller that
    takes table locks before calling this takes the claims lock before them.
    """
    ledger.lock_claims(conn, rid)
    day = ledger.load_ledger(conn, rid, lo, hi, now)
    if not day.claims:
        return 0
    span_lo = min(lo, *(c.start for c in day.claims))
    span_hi = max(hi, *(c.end for c in day.claims))
    if (span_lo, span_hi) != (lo, hi):  # plan each claim on its whole block
        day = ledger.load_ledger(conn, rid, span_lo, span_hi, now)
    _, placed = with_claims(venue, day, now)
    if not placed:
        return 0
    still = repo.lock_unassigned(conn, rid, [p.claim.booking_id for p in placed])
    count = 0
    for p in placed:
        claim = p.claim
        if still.get(claim.booking_id) != (claim.start, claim.end):
            continue  # changed since read: its new state is its writer's business
        ledger.clear_expired_holds(conn, rid, claim.start, claim.end, now, p.plan.table_ids)
        ledger.insert_allocations(conn, rid, p.plan.table_ids, claim.start, claim.end, booking_id=claim.booking_id)
        repo.set_booking_tables(conn, rid, claim.booking_id, p.plan.table_ids)
        emit(
            conn,
            rid,
            EventType.ASSIGNMENT_CHANGED,
            {
                "booking_id": claim.booking_id,
                "from": [],
                "to": list(labels_of(venue, p.plan.table_ids)),
                "actor": actor.label,
                "reason": "claim",
            },
        )
        count += 1
    return count
