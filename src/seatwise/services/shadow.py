"""Shadow enforcement (DESIGN §12): run beside the old system before enforcing.

In a restaurant whose `policy.enforcement` is `shadow`, a booking that enforcement
would refuse for want of room (no plan, pacing full, the named tables taken or
unfit) is accepted as an **unassigned** booking marked `overbooked`, with the code
it would have got. Nothing bends a constraint: it gets no allocation rows, and it is
counted in pacing only when pacing still allows it. Requests that can never be a
booking (no service at that time, a party outside the policy's limit, unknown
tables) are refused as under enforcement, and so are holds: a hold is tables or
nothing, and its confirm books what it holds.
"""

from __future__ import annotations

from datetime import datetime

from seatwise.core.errors import (
    AdjacencyMismatch,
    CapacityExceeded,
    HoldConflict,
    SeatwiseError,
    SlackExceeded,
    TableConflict,
    ZoneMismatch,
)
from seatwise.core.model import Enforcement, Venue
from seatwise.core.pacing import pacing_allows
from seatwise.core.timerules import BookingWindow, booking_window
from seatwise.store import ledger
from seatwise.store.venues import Conn

# What shadow mode accepts instead of refusing: "no room" in all its forms.
SHADOWED: tuple[type[SeatwiseError], ...] = (
    CapacityExceeded,
    TableConflict,
    HoldConflict,
    SlackExceeded,
    AdjacencyMismatch,
    ZoneMismatch,
)


def shadows(venue: Venue, refusal: SeatwiseError) -> bool:
    """Whether this refusal becomes a shadow booking in this venue."""
    return venue.policy.enforcement is Enforcement.SHADOW and isinstance(refusal, SHADOWED)


def shadow_reserve(
    conn: Conn, rid: str, venue: Venue, party: int, start: datetime, now: datetime
) -> tuple[BookingWindow, bool]:
    """The window of a shadow booking, and whether its party was counted in pacing.

    The caller's transaction already holds the slot's pacing row (`reserve` locked it
    before refusing); locking again in the same transaction returns its usage.
    """
    window = booking_window(venue, party, start)
    usage = ledger.lock_slot(conn, rid, window.slot_start, window.service.pacing, now)
    counted = pacing_allows(window.service.pacing, usage, party)
    if counted:
        ledger.add_pacing(conn, rid, window.slot_start, party, 1)
    return window, counted
