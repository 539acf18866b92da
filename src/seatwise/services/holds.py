"""Holds and their confirmation.

A hold reserves concrete tables for a party until `expires_at`; from that instant
it occupies nothing, whether or not the sweeper has run. Confirming is idempotent:
the same hold (or the same Idempotency-Key) always gives the same booking, even
after the hold row is gone (`booking_confirmation_results`).

Each use case is one transaction (`Database.run`), retried on a concurrent
writer's conflict. Locks follow the order of docs/architecture.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from seatwise import telemetry
from seatwise.core.errors import HoldExpired, IdempotencyKeyReused, NotFound, RateLimited, TableConflict
from seatwise.core.events import EventType
from seatwise.core.model import Venue
from seatwise.core.text import check_texts
from seatwise.core.timerules import check_not_past, resolve_start, venue_zone
from seatwise.core.venue_doc import policy_version
from seatwise.services.auth import Principal
from seatwise.services.common import (
    NewBooking,
    booking_row,
    emit,
    pacing_of_slot,
    present,
    reserve,
    utcnow,
    window_columns,
)
from seatwise.services.ids import parse_id
from seatwise.services.results import Booking, Guest, Hold, booking_of, guest_texts, hold_of
from seatwise.services.snapshot import venue_snapshot
from seatwise.store import bookings as repo
from seatwise.store import guest as guest_store
from seatwise.store import ledger
from seatwise.store.db import Database
from seatwise.store.venues import Conn


@dataclass(frozen=True, slots=True)
class HoldRequest:
    party_size: int
    start: str  # an ISO instant with offset, or a local YYYY-MM-DDTHH:MM
    table_labels: Sequence[str] | None = None
    # Where the hold comes from (the guest page); with `holds_per_address`, an
    # address already keeping that many live holds here is refused (RateLimited).
    client_address: str | None = None
    holds_per_address: int | None = None


@dataclass(frozen=True, slots=True)
class ConfirmRequest:
    guest: Guest
    notes: str | None = None
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        check_texts(guest_texts(self.guest, self.notes))


def create_hold(db: Database, rid: str, request: HoldRequest, actor: Principal) -> Hold:
    """Plan (or check the named tables) and reserve them until the policy's hold TTL.

    A per-address limit is decided under a lock on (restaurant, address), taken
    first, so concurrent holds from one address cannot all pass the count."""

    def use_case(conn: Conn) -> Hold:
        now = utcnow()
        address, limit = request.client_address, request.holds_per_address
        if address is not None and limit is not None:
            guest_store.lock_client_address(conn, rid, address)
            if guest_store.live_holds_from(conn, rid, address, now) >= limit:
                raise RateLimited(
                    f"this address already keeps {limit} live holds here; "
                    "confirm or release one, or wait for one to expire",
                    limit=limit,
                )
        venue = venue_snapshot(conn, rid, for_write=True)
        instant = resolve_start(venue, request.start)
        check_not_past(instant, now)
        window, table_ids = reserve(conn, rid, venue, request.party_size, instant, request.table_labels, now)
        hold_id = str(uuid.uuid4())
        expires_at = now + timedelta(seconds=venue.policy.hold_ttl_seconds)
        columns = window_columns(window)
        repo.insert_hold(
            conn,
            rid,
            {
                "id": hold_id,
                "party_size": request.party_size,
                **columns,
                "expires_at": expires_at,
                "policy_version": policy_version(venue.policy),
                "created_by_key": actor.key_id,
                "client_address": address,
            },
        )
        ledger.insert_allocations(
            conn, rid, table_ids, window.block_start, window.block_end, hold_id=hold_id, expires_at=expires_at
        )
        hold = hold_of(
            venue,
            {
                "id": hold_id,
                "party_size": request.party_size,
                **columns,
                "expires_at": expires_at,
                "table_ids": table_ids,
            },
        )
        emit(conn, rid, EventType.HOLD_CREATED, hold)
        return hold

    hold = db.run(rid, use_case, pipeline=True)
    telemetry.HOLDS_CREATED.inc()
    return hold


def release_hold(db: Database, rid: str, hold_id: str) -> None:
    """Give a hold's tables and pacing back at once."""
    hold_id = parse_id(hold_id, "hold")

    def use_case(conn: Conn) -> None:
        hold = repo.get_hold(conn, rid, hold_id, for_update=True)
        if hold is None:
            raise NotFound("no such hold")
        venue = venue_snapshot(conn, rid)  # releasing only frees: no need to hold the venue still
        ledger.lock_slot(conn, rid, hold["slot_start"], pacing_of_slot(venue, hold["slot_start"]), utcnow())
        ledger.release_hold_pacing(conn, rid, hold_id)
        ledger.lock_tables(conn, rid, hold["table_ids"])
        repo.delete_hold(conn, rid, hold_id)  # its allocations go with it
        emit(conn, rid, EventType.HOLD_RELEASED, {"id": hold_id})

    db.run(rid, use_case)


def confirm_hold(
    db: Database, rid: str, hold_id: str, request: ConfirmRequest, actor: Principal
) -> tuple[Booking, bool]:
    """Turn a live hold into a confirmed booking on the same tables.

    Returns (booking, created). Replays (the same key, or the same hold) return the
    same booking with created=False, even after the hold row is gone.
    """
    hold_id = parse_id(hold_id, "hold")
    key = request.idempotency_key

    def replay(conn: Conn, venue: Venue) -> Booking | None:
        done = repo.confirmation_for(conn, rid, hold_id=hold_id)
        if done is None and key is not None:
            done = repo.confirmation_for(conn, rid, key=key)
            if done is not None and done["hold_id"] != hold_id:
                raise IdempotencyKeyReused("this Idempotency-Key confirmed another hold")
        if done is None:
            return None
        return booking_of(venue, present(repo.get_booking(conn, rid, done["booking_id"])))

    def use_case(conn: Conn) -> tuple[Booking, bool]:
        now = utcnow()
        venue = venue_snapshot(conn, rid, for_write=True)
        earlier = replay(conn, venue)
        if earlier is not None:
            return earlier, False
        hold = repo.get_hold(conn, rid, hold_id, for_update=True)
        if hold is None:
            earlier = replay(conn, venue)  # a concurrent confirm may have just committed
            if earlier is not None:
                return earlier, False
            raise NotFound("no such hold (released, or never made)")
        if hold["expires_at"] <= now:
            expired_at = hold["expires_at"].astimezone(venue_zone(venue)).isoformat()
            raise HoldExpired(f"the hold expired at {expired_at}", expired_at=expired_at)
        gone = [t for t in hold["table_ids"] if t not in venue.table_by_id or not venue.table_by_id[t].active]
        if gone:  # the venue changed under the hold (holds do not block venue edits)
            raise TableConflict(
                "a held table was removed from the venue or taken out of use since the hold; hold again"
            )
        booking_id = str(uuid.uuid4())
        window = {
            k: hold[k] for k in ("start_at", "block_start", "end_at", "slot_start", "service_date", "service_name")
        }
        new = NewBooking(
            party_size=hold["party_size"],
            guest=request.guest,
            notes=request.notes,
            allow_slack=False,
            policy_version=hold["policy_version"],
            hold_id=hold_id,
        )
        repo.insert_booking(conn, rid, booking_row(booking_id, new, window, actor, now), hold["table_ids"])
        ledger.lock_tables(conn, rid, hold["table_ids"])
        moved = repo.transfer_hold_allocations(conn, rid, hold_id, booking_id)
        if moved != len(hold["table_ids"]):  # a live hold keeps its rows; anything else is a bug
            raise LookupError(f"hold {hold_id} had {moved} allocations for {len(hold['table_ids'])} tables")
        repo.insert_confirmation(
            conn,
            rid,
            booking_id=booking_id,
            hold_id=hold_id,
            key=key,
            table_ids=hold["table_ids"],
            lo=hold["block_start"],
            hi=hold["end_at"],
            actor=actor.label,
        )
        repo.delete_hold(conn, rid, hold_id)
        booking = booking_of(venue, present(repo.get_booking(conn, rid, booking_id)))
        emit(conn, rid, EventType.HOLD_CONFIRMED, {"hold_id": hold_id, "booking_id": booking_id})
        emit(conn, rid, EventType.BOOKING_CREATED, booking)
        return booking, True

    booking, created = db.run(rid, use_case)
    if created:
        telemetry.BOOKINGS_CREATED.labels("hold", actor.role).inc()
    return booking, created
