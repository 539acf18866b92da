"""Holds and their confirmation.

A hold reserves concrete tables for a party until `expires_at`; from that instant
it occupies nothing, whether or not the sweeper has run. Confirming is idempotent:
the same hold (or the same Idempotency-Key) always gives the same booking, even
after the hold row is gone (`booking_confirmation_results`).

A hold records the venue version it was planned on; a confirm after the venue or
policy changed re-validates the held tables and window (core.drift) and answers 422
POLICY_DRIFT with its reasons when they are no longer valid. An unchanged venue
costs nothing extra (the version is on the restaurant row every writer reads).

Each use case is one transaction (`Database.run`), retried on a concurrent
writer's conflict. Locks follow the order of docs/architecture.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from seatwise import telemetry
from seatwise.core.drift import missing_tables, redrawn_window, table_drift
from seatwise.core.errors import HoldExpired, IdempotencyKeyReused, NotFound, PolicyDrift, RateLimited
from seatwise.core.events import EventType
from seatwise.core.model import Venue
from seatwise.core.text import check_texts
from seatwise.core.timerules import check_not_past, resolve_start, venue_zone
from seatwise.core.venue_doc import policy_version
from seatwise.services import refusals
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
from seatwise.services.reseating import Reseat, run_reseating
from seatwise.services.results import Booking, Guest, Hold, booking_of, guest_texts, hold_of
from seatwise.services.snapshot import venue_snapshot
from seatwise.store import bookings as repo
from seatwise.store import guest as guest_store
from seatwise.store import ledger
from seatwise.store.db import Database
from seatwise.store.probe import AsyncReads, Probe
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


def _scope(rid: str, request: HoldRequest, seen: Probe) -> refusals.Scope | None:
    if request.holds_per_address is not None:
        return None  # the address's limit is decided first, in the transaction
    return refusals.scope_for(
        rid,
        request.party_size,
        request.start,
        venue_version=seen.venue_version,
        ledger_version=seen.ledger_version,
        labels=request.table_labels,
        allow_slack=False,
        idempotency_key=None,
        backdating=timedelta(0),  # holds are never backdated
    )


async def hold(db: Database, reads: AsyncReads, rid: str, request: HoldRequest, actor: Principal, seen: Probe) -> Hold:
    """`create_hold` from the event loop, for a request whose versions `seen` read, as
    `bookings.book` (services.refusals.run_write)."""
    scope = _scope(rid, request, seen)
    return await refusals.run_write(reads, scope, lambda: create_hold(db, rid, request, actor, scope=scope))


def create_hold(
    db: Database, rid: str, request: HoldRequest, actor: Principal, *, scope: refusals.Scope | None = None
) -> Hold:
    """Plan (or check the named tables) and reserve them until the policy's hold TTL;
    with no free plan, re-seat (services.reseating) when the policy allows.

    A per-address limit is decided under a lock on (restaurant, address), taken
    first, so concurrent holds from one address cannot all pass the count. With
    `scope`, "no room" refusals are kept and reused as in `bookings.create_booking`."""

    def use_case(conn: Conn, attempt: Reseat) -> Hold:
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
        window, table_ids = reserve(
            conn, rid, venue, request.party_size, instant, request.table_labels, now, reseat=attempt, refusals=scope
        )
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
                "venue_version": venue.version,
                "client_address": address,
                "pinned": bool(request.table_labels),
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

    hold = run_reseating(db, rid, actor.label, use_case)
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
        window = {
            k: hold[k] for k in ("start_at", "block_start", "end_at", "slot_start", "service_date", "service_name")
        }
        version = hold["policy_version"]
        if hold["venue_version"] != venue.version:  # the venue changed under the hold: re-validate
            window = _revalidated(conn, rid, venue, hold, now)
            version = policy_version(venue.policy)
        booking_id = str(uuid.uuid4())
        new = NewBooking(
            party_size=hold["party_size"],
            guest=request.guest,
            notes=request.notes,
            allow_slack=False,
            policy_version=version,
            hold_id=hold_id,
            pinned=hold["pinned"],
        )
        repo.insert_booking(conn, rid, booking_row(booking_id, new, window, actor, now), hold["table_ids"])
        ledger.lock_tables(conn, rid, hold["table_ids"])
        if (window["block_start"], window["end_at"]) == (hold["block_start"], hold["end_at"]):
            moved = repo.transfer_hold_allocations(conn, rid, hold_id, booking_id)
            if moved != len(hold["table_ids"]):  # a live hold keeps its rows; anything else is a bug
                raise LookupError(f"hold {hold_id} had {moved} allocations for {len(hold['table_ids'])} tables")
        else:  # the redrawn window: the hold's rows go, the booking's come (the constraint decides)
            repo.delete_hold_allocations(conn, rid, hold_id)
            lo, hi = window["block_start"], window["end_at"]
            ledger.clear_expired_holds(conn, rid, lo, hi, now, hold["table_ids"])
            ledger.insert_allocations(conn, rid, hold["table_ids"], lo, hi, booking_id=booking_id)
        repo.insert_confirmation(
            conn,
            rid,
            booking_id=booking_id,
            hold_id=hold_id,
            key=key,
            table_ids=hold["table_ids"],
            lo=window["block_start"],
            hi=window["end_at"],
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


def _revalidated(conn: Conn, rid: str, venue: Venue, hold: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The hold's window columns redrawn on the current venue and policy, or 422
    POLICY_DRIFT with every reason the held tables and window are no longer valid.

    The pacing slot stays the hold's: that is where its party is counted.
    """
    party, table_ids = hold["party_size"], hold["table_ids"]
    window, drifts = redrawn_window(venue, party, hold["start_at"], hold["service_date"])
    missing = missing_tables(venue, table_ids)
    drifts += missing
    if window is not None and not missing:
        day = ledger.load_ledger(conn, rid, window.block_start, window.block_end, now)
        drifts += table_drift(venue, party, table_ids, window, day, now, hold_id=hold["id"])
    if drifts or window is None:
        names = ", ".join(dict.fromkeys(d.reason for d in drifts))
        raise PolicyDrift(
            f"the venue or policy changed since the hold and it is no longer valid ({names}); hold again",
            reasons=[{"reason": d.reason, "message": d.message} for d in drifts],
        )
    return {**window_columns(window), "slot_start": hold["slot_start"]}
