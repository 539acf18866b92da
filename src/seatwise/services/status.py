"""The booking status machine: seat, complete, no-show, cancel.

Cancel and no-show give the tables and the pacing back at once; complete gives the
tables back (the party has left) and keeps its covers counted (it did start). Tables
given back go first to the unassigned bookings of that span (services.claims).
Transitions are not gated by the clock; an illegal one is 409.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from seatwise.core.errors import IllegalTransition
from seatwise.core.events import EventType
from seatwise.core.model import Pacing
from seatwise.services.auth import Principal, authorize_booking_action
from seatwise.services.claims import place_claims
from seatwise.services.common import OCCUPYING, emit, lock_booking, pacing_of_slot, utcnow
from seatwise.services.ids import parse_id
from seatwise.services.results import Booking, booking_of
from seatwise.services.snapshot import venue_snapshot
from seatwise.store import bookings as repo
from seatwise.store import ledger
from seatwise.store.db import Database
from seatwise.store.venues import Conn


class Action(StrEnum):
    SEAT = "seat"
    COMPLETE = "complete"
    NO_SHOW = "no-show"
    CANCEL = "cancel"


# status -> action -> new status. Terminal statuses have no way out.
TRANSITIONS: dict[str, dict[Action, str]] = {
    "pending": {Action.CANCEL: "cancelled"},
    "confirmed": {Action.SEAT: "seated", Action.CANCEL: "cancelled", Action.NO_SHOW: "no_show"},
    "seated": {Action.COMPLETE: "completed"},
    "completed": {},
    "cancelled": {},
    "no_show": {},
}
EVENT_OF_STATUS = {
    "cancelled": EventType.BOOKING_CANCELLED,
    "no_show": EventType.BOOKING_NO_SHOW,
    "seated": EventType.BOOKING_SEATED,
    "completed": EventType.BOOKING_COMPLETED,
}
FREES_PACING = frozenset({Action.CANCEL, Action.NO_SHOW})


def transition(db: Database, rid: str, booking_id: str, action: Action, actor: Principal) -> Booking:
    """Apply `action` under the state machine, as `actor` may.

    A key that may only cancel what it made (a channel) gets 404 for other bookings.
    """
    own_only = authorize_booking_action(actor, rid, action.value)
    booking_id = parse_id(booking_id, "booking")

    def use_case(conn: Conn) -> Booking:
        venue = venue_snapshot(conn, rid, for_write=True)

        def slots_to_lock(current: dict[str, Any]) -> dict[datetime, Pacing | None]:
            if current["status"] in OCCUPYING and action in FREES_PACING:
                return {current["slot_start"]: pacing_of_slot(venue, current["slot_start"])}
            return {}

        row, _ = lock_booking(
            conn,
            rid,
            booking_id,
            utcnow(),
            slots_to_lock,
            visible=lambda r: not own_only or r["created_by_key"] == actor.key_id,
        )
        new = TRANSITIONS[row["status"]].get(action)
        if new is None:
            status = row["status"]
            raise IllegalTransition(
                f"a {status} booking cannot be {action.value}", booking_status=status, action=action
            )
        freed = 0
        if new in ("cancelled", "no_show", "completed"):
            if row["table_ids"]:  # before the table locks: `place_claims` reads under it
                ledger.lock_claims(conn, rid)
            freed = ledger.archive_allocations(conn, rid, booking_id=booking_id)
        if new in ("cancelled", "no_show") and row["pacing_counted"]:
            ledger.add_pacing(conn, rid, row["slot_start"], -row["party_size"], -1)
        repo.set_status(conn, rid, booking_id, new)
        if freed:  # unassigned bookings of that span take the tables first
            place_claims(conn, rid, venue, row["block_start"], row["end_at"], utcnow(), actor)
        booking = booking_of(venue, {**row, "status": new})  # only the status changed
        emit(conn, rid, EVENT_OF_STATUS[new], booking)
        return booking

    return db.run(rid, use_case)
