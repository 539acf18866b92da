"""Walk-ins: a party that arrives without a booking is booked from now and seated."""

from __future__ import annotations

from typing import Any

from seatwise.core.timerules import venue_zone
from seatwise.services import bookings
from seatwise.services.bookings import Actor, Guest, utcnow
from seatwise.services.snapshot import venue_snapshot
from seatwise.store.db import Database

WALK_IN_NAME = "Walk-in"


def walk_in(db: Database, rid: str, party: int, guest_name: str | None, actor: Actor) -> dict[str, Any]:
    """Book `party` from the current minute (planned like any booking) and seat it.

    Two transactions: the booking is made (and visible) first; seating it is the
    state machine's `seat`. If seating failed the booking stays confirmed.
    """
    with db.tenant(rid) as conn:
        venue = venue_snapshot(conn, rid)
    start = utcnow().astimezone(venue_zone(venue)).replace(second=0, microsecond=0, tzinfo=None)
    booking, _ = bookings.create_booking(
        db,
        rid,
        party=party,
        start=start.isoformat(timespec="minutes"),
        guest=Guest(guest_name or WALK_IN_NAME),
        notes=None,
        labels=None,
        allow_slack=False,
        idempotency_key=None,
        body_hash="",
        actor=actor,
    )
    return bookings.transition(db, rid, booking["id"], "seat", actor)
