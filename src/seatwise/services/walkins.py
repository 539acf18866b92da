"""Walk-ins: a party that arrives without a booking is booked from now and seated."""

from __future__ import annotations

from seatwise.core.timerules import venue_zone
from seatwise.services import bookings, status
from seatwise.services.auth import Principal
from seatwise.services.bookings import BookingRequest
from seatwise.services.common import utcnow
from seatwise.services.results import Booking, Guest
from seatwise.services.snapshot import venue_snapshot
from seatwise.store.db import Database

WALK_IN_NAME = "Walk-in"


def walk_in(db: Database, rid: str, party: int, guest_name: str | None, actor: Principal) -> Booking:
    """Book `party` from the current minute (planned like any booking) and seat it.

    Two use cases: the booking is made (and visible) first, then seated by the
    status machine; if seating failed the booking stays confirmed.
    """
    with db.tenant(rid) as conn:
        venue = venue_snapshot(conn, rid)
    start = utcnow().astimezone(venue_zone(venue)).replace(second=0, microsecond=0, tzinfo=None)
    request = BookingRequest(party, start.isoformat(timespec="minutes"), Guest(guest_name or WALK_IN_NAME))
    booking, _ = bookings.create_booking(db, rid, request, actor)
    return status.transition(db, rid, booking.id, status.Action.SEAT, actor)
