"""The write path: holds, confirmation, direct bookings and status changes.

Each use case is one transaction (`Database.run`), retried on a concurrent
writer's conflict with a fresh ledger. Within a transaction the lock order is the
ledger's (store/ledger.py): slot pacing row, then holds, then allocations by table.
The database constraints are the final arbiter; the locks only keep writers of one
slot from thrashing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from seatwise.core.assignment import Check, check_assignment
from seatwise.core.availability import check_party, nearest_available
from seatwise.core.errors import (
    CapacityExceeded,
    ErrorCode,
    HoldExpired,
    IdempotencyKeyReused,
    IllegalTransition,
    NotFound,
    RateLimited,
    SeatwiseError,
)
from seatwise.core.model import Pacing, Venue
from seatwise.core.pacing import pacing_allows
from seatwise.core.planner import best_plan
from seatwise.core.timerules import (
    BookingWindow,
    booking_window,
    day_span,
    parse_local_date,
    resolve_start,
    service_at,
    venue_zone,
)
from seatwise.core.venue_doc import policy_version
from seatwise.services.ids import parse_id
from seatwise.services.restaurants import venue_snapshot
from seatwise.store import bookings as repo
from seatwise.store import guest as guest_store
from seatwise.store import ledger
from seatwise.store.db import Database
from seatwise.store.venues import Conn

OCCUPYING = frozenset({"pending", "confirmed", "seated"})
# status -> action -> new status. Terminal statuses have no way out.
TRANSITIONS: dict[str, dict[str, str]] = {
    "pending": {"confirm": "confirmed", "cancel": "cancelled"},
    "confirmed": {"seat": "seated", "cancel": "cancelled", "no-show": "no_show"},
    "seated": {"complete": "completed"},
    "completed": {},
    "cancelled": {},
    "no_show": {},
}
EVENTS = {
    "cancelled": "booking.cancelled",
    "no_show": "booking.no_show",
    "seated": "booking.seated",
    "completed": "booking.completed",
    "confirmed": "booking.confirmed",
}


@dataclass(frozen=True)
class Guest:
    name: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Actor:
    role: str
    key_id: str | None

    @property
    def label(self) -> str:
        return f"{self.role}:{self.key_id or '-'}"


def window_columns(window: BookingWindow) -> dict[str, Any]:
    """The columns a booking or hold stores for its window."""
    return {
        "start_at": window.start,
        "block_start": window.block_start,
        "end_at": window.block_end,
        "slot_start": window.slot_start,
        "service_date": window.service_date,
        "service_name": window.service.name,
    }


def _present(row: dict[str, Any] | None) -> dict[str, Any]:
    """A row this transaction just wrote or locked: its absence is a bug, not a 404."""
    if row is None:
        raise LookupError("a row written in this transaction is missing")
    return row


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- rendering ------------------------------------------------------------------------


def _local(venue: Venue, instant: datetime) -> str:
    return instant.astimezone(venue_zone(venue)).isoformat()


def booking_view(venue: Venue, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "status": row["status"],
        "party_size": row["party_size"],
        "start": _local(venue, row["start_at"]),
        "end": _local(venue, row["end_at"]),
        "tables": list(row["labels"]),
        "guest": {"name": row["guest_name"], "phone": row["guest_phone"], "email": row["guest_email"]},
        "notes": row["notes"],
        "service": row["service_name"],
        "channel": row["channel"],
        "allow_slack": row["allow_slack"],
        "created_at": _local(venue, row["created_at"]),
    }


def hold_view(venue: Venue, row: dict[str, Any]) -> dict[str, Any]:
    labels = [venue.table_by_id[t].label for t in row["table_ids"] if t in venue.table_by_id]
    return {
        "id": row["id"],
        "party_size": row["party_size"],
        "start": _local(venue, row["start_at"]),
        "end": _local(venue, row["end_at"]),
        "tables": labels,
        "expires_at": _local(venue, row["expires_at"]),
    }


# --- planning inside a transaction ----------------------------------------------------


def refusal_for(checks: Sequence[Check]) -> SeatwiseError | None:
    """The error for a failed table-set check: sets that can never work are 422,
    sets blocked by others are 409."""
    failed = {c.check: c for c in checks if not c.ok}
    if not failed:
        return None
    order = (
        ("capacity", ErrorCode.VALIDATION_ERROR),
        ("zone", ErrorCode.ZONE_MISMATCH),
        ("movable", ErrorCode.ADJACENCY_MISMATCH),
        ("adjacency", ErrorCode.ADJACENCY_MISMATCH),
        ("slack", ErrorCode.SLACK_EXCEEDED),
        ("conflict", ErrorCode.TABLE_CONFLICT),
        ("hold", ErrorCode.HOLD_CONFLICT),
    )
    rendered = [{"check": c.check, "ok": c.ok, "message": c.message} for c in checks]
    for name, code in order:
        if name in failed:
            return SeatwiseError(failed[name].message, code=code, checks=rendered)
    return SeatwiseError("the table set was refused", checks=rendered)


def _capacity_exceeded(
    conn: Conn, rid: str, venue: Venue, window: BookingWindow, party: int, now: datetime, why: str
) -> CapacityExceeded:
    day = ledger.load_ledger(conn, rid, *day_span(venue, window.service_date), now)
    alternatives = nearest_available(venue, day, window.start, party, now)
    return CapacityExceeded(why, alternatives=alternatives)


def _reserve(
    conn: Conn,
    rid: str,
    venue: Venue,
    party: int,
    start: datetime,
    labels: Sequence[str] | None,
    now: datetime,
    *,
    allow_slack: bool = False,
) -> tuple[BookingWindow, tuple[int, ...]]:
    """Lock the slot, check pacing, plan (or check the chosen tables), clear expired
    holds in the way, and count the party in pacing. The caller inserts allocations."""
    check_party(venue, party)
    window = booking_window(venue, party, start)
    # Sent together (one round trip in pipeline mode); the server runs them in order,
    # so the ledger is read after the slot's lock is held.
    locked = ledger.queue_lock_slot(conn, rid, window.slot_start, window.service.pacing, now)
    reads = ledger.queue_ledger(conn, rid, window.block_start, window.block_end, now)
    usage, day = ledger.usage_of(locked), ledger.ledger_of(reads)
    if not pacing_allows(window.service.pacing, usage, party):
        raise _capacity_exceeded(conn, rid, venue, window, party, now, "pacing for this time is full")
    if labels:
        checks = check_assignment(
            venue, party, labels, window.block_start, window.block_end, day, now, allow_slack=allow_slack
        )
        refusal = refusal_for(checks)
        if refusal is not None:
            raise refusal
        table_ids = tuple(sorted(venue.table_by_label[x].id for x in labels))
    else:
        plan = best_plan(venue, party, window.block_start, window.block_end, day, now)
        if plan is None:
            raise _capacity_exceeded(conn, rid, venue, window, party, now, "no table can take this party at that time")
        table_ids = plan.table_ids
    ledger.clear_expired_holds(conn, rid, window.block_start, window.block_end, now)
    ledger.add_pacing(conn, rid, window.slot_start, party, 1)
    return window, table_ids


# --- holds ---------------------------------------------------------------------------


def create_hold(
    db: Database,
    rid: str,
    party: int,
    start: str,
    labels: Sequence[str] | None,
    actor: Actor,
    *,
    client_address: str | None = None,
    holds_per_address: int | None = None,
) -> dict[str, Any]:
    """`client_address` records where the hold came from (the guest page); with
    `holds_per_address`, a further hold from an address that already keeps that
    many live holds here is RateLimited, decided under a per-address lock."""

    def use_case(conn: Conn) -> dict[str, Any]:
        now = utcnow()
        if client_address is not None and holds_per_address is not None:
            guest_store.lock_client_address(conn, rid, client_address)
            if guest_store.live_holds_from(conn, rid, client_address, now) >= holds_per_address:
                raise RateLimited(
                    f"this address already holds {holds_per_address} tables here; "
                    "confirm or release one, or wait for one to expire",
                    limit=holds_per_address,
                )
        venue = venue_snapshot(conn, rid, for_write=True)
        instant = resolve_start(venue, start)
        window, table_ids = _reserve(conn, rid, venue, party, instant, labels, now)
        hold_id = str(uuid.uuid4())
        expires_at = now + timedelta(seconds=venue.policy.hold_ttl_seconds)
        repo.insert_hold(
            conn,
            rid,
            {
                "id": hold_id,
                "party_size": party,
                **window_columns(window),
                "expires_at": expires_at,
                "policy_version": policy_version(venue.policy),
                "created_by_key": actor.key_id,
            },
        )
        if client_address is not None:
            guest_store.set_hold_client_address(conn, rid, hold_id, client_address)
        ledger.insert_allocations(
            conn, rid, table_ids, window.block_start, window.block_end, hold_id=hold_id, expires_at=expires_at
        )
        view = hold_view(
            venue,
            {
                "id": hold_id,
                "party_size": party,
                "start_at": window.start,
                "end_at": window.block_end,
                "expires_at": expires_at,
                "table_ids": sorted(table_ids),
            },
        )
        repo.emit(conn, rid, "hold.created", view)
        return view

    return db.run(rid, use_case, pipeline=True)


def release_hold(db: Database, rid: str, hold_id: str) -> None:
    hold_id = parse_id(hold_id, "hold")

    def use_case(conn: Conn) -> None:
        hold = repo.get_hold(conn, rid, hold_id, for_update=True)  # lock order: the hold, then its slot
        if hold is None:
            raise NotFound("no such hold")
        venue = venue_snapshot(conn, rid)  # releasing only frees: no need to hold the venue still
        ledger.lock_slot(conn, rid, hold["slot_start"], pacing_of_slot(venue, hold["slot_start"]), utcnow())
        ledger.release_hold_pacing(conn, rid, hold_id)
        repo.delete_hold(conn, rid, hold_id)  # its allocations go with it
        repo.emit(conn, rid, "hold.released", {"id": hold_id})

    db.run(rid, use_case)


def pacing_of_slot(venue: Venue, slot: datetime) -> Pacing | None:
    """The current pacing limits of the service a stored slot belongs to."""
    try:
        return service_at(venue, slot).service.pacing
    except SeatwiseError:
        return None  # the policy changed since; no limit to refresh


def confirm_hold(
    db: Database,
    rid: str,
    hold_id: str,
    guest: Guest,
    notes: str | None,
    idempotency_key: str | None,
    actor: Actor,
) -> tuple[dict[str, Any], bool]:
    """Turn a live hold into a confirmed booking on the same tables.

    Returns (booking, created). Replays — the same key, or the same hold — return
    the same booking with created=False, even after the hold row is gone.
    """
    hold_id = parse_id(hold_id, "hold")

    def replay(conn: Conn, venue: Venue) -> tuple[dict[str, Any], bool] | None:
        done = repo.confirmation_for(conn, rid, hold_id=hold_id)
        if done is None and idempotency_key is not None:
            done = repo.confirmation_for(conn, rid, key=idempotency_key)
            if done is not None and done["hold_id"] != hold_id:
                raise IdempotencyKeyReused("this Idempotency-Key confirmed another hold")
        if done is None:
            return None
        row = _present(repo.get_booking(conn, rid, done["booking_id"]))
        return booking_view(venue, row), False

    def use_case(conn: Conn) -> tuple[dict[str, Any], bool]:
        now = utcnow()
        venue = venue_snapshot(conn, rid, for_write=True)
        earlier = replay(conn, venue)
        if earlier is not None:
            return earlier
        hold = repo.get_hold(conn, rid, hold_id, for_update=True)
        if hold is None:
            # A concurrent confirm may have just committed: look again.
            earlier = replay(conn, venue)
            if earlier is not None:
                return earlier
            raise NotFound("no such hold (released, or never made)")
        if hold["expires_at"] <= now:
            raise HoldExpired(
                f"the hold expired at {_local(venue, hold['expires_at'])}", expired_at=_local(venue, hold["expires_at"])
            )
        gone = [t for t in hold["table_ids"] if t not in venue.table_by_id or not venue.table_by_id[t].active]
        if gone:  # the venue changed under the hold (holds do not block venue edits)
            raise SeatwiseError(
                "a held table was removed from the venue or taken out of use since the hold; hold again",
                code=ErrorCode.TABLE_CONFLICT,
            )
        booking_id = str(uuid.uuid4())
        repo.insert_booking(
            conn,
            rid,
            {
                "id": booking_id,
                "status": "confirmed",
                "party_size": hold["party_size"],
                "start_at": hold["start_at"],
                "block_start": hold["block_start"],
                "end_at": hold["end_at"],
                "slot_start": hold["slot_start"],
                "service_date": hold["service_date"],
                "service_name": hold["service_name"],
                "guest_name": guest.name,
                "guest_phone": guest.phone,
                "guest_email": guest.email,
                "notes": notes,
                "channel": actor.role,
                "created_by_key": actor.key_id,
                "allow_slack": False,
                "policy_version": hold["policy_version"],
                "idempotency_key": None,
                "request_hash": None,
                "hold_id": hold_id,
                "created_at": now,
            },
            hold["table_ids"],
        )
        moved = repo.transfer_hold_allocations(conn, rid, hold_id, booking_id)
        if moved != len(hold["table_ids"]):  # a live hold keeps its rows; anything else is a bug
            raise LookupError(f"hold {hold_id} had {moved} allocations for {len(hold['table_ids'])} tables")
        repo.insert_confirmation(
            conn,
            rid,
            booking_id=booking_id,
            hold_id=hold_id,
            key=idempotency_key,
            table_ids=hold["table_ids"],
            lo=hold["block_start"],
            hi=hold["end_at"],
            actor=actor.label,
        )
        repo.delete_hold(conn, rid, hold_id)
        row = _present(repo.get_booking(conn, rid, booking_id))
        view = booking_view(venue, row)
        repo.emit(conn, rid, "hold.confirmed", {"hold_id": hold_id, "booking_id": booking_id})
        repo.emit(conn, rid, "booking.created", view)
        return view, True

    return db.run(rid, use_case)


# --- direct bookings ------------------------------------------------------------------


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def create_booking(
    db: Database,
    rid: str,
    *,
    party: int,
    start: str,
    guest: Guest,
    notes: str | None,
    labels: Sequence[str] | None,
    allow_slack: bool,
    idempotency_key: str | None,
    body_hash: str,
    actor: Actor,
) -> tuple[dict[str, Any], bool]:
    """Plan and commit a confirmed booking in one transaction.

    Same key and body: the same booking, created=False. Same key, other body: 409.
    """

    def use_case(conn: Conn) -> tuple[dict[str, Any], bool]:
        now = utcnow()
        venue = venue_snapshot(conn, rid, for_write=True)
        if idempotency_key is not None:
            earlier = repo.booking_by_idempotency_key(conn, rid, idempotency_key)
            if earlier is not None:
                if earlier["request_hash"] != body_hash:
                    raise IdempotencyKeyReused("this Idempotency-Key was used with another request body")
                return booking_view(venue, earlier), False
        instant = resolve_start(venue, start)
        window, table_ids = _reserve(conn, rid, venue, party, instant, labels, now, allow_slack=allow_slack)
        booking_id = str(uuid.uuid4())
        row = {
            "id": booking_id,
            "status": "confirmed",
            "party_size": party,
            **window_columns(window),
            "guest_name": guest.name,
            "guest_phone": guest.phone,
            "guest_email": guest.email,
            "notes": notes,
            "channel": actor.role,
            "created_by_key": actor.key_id,
            "allow_slack": allow_slack,
            "policy_version": policy_version(venue.policy),
            "idempotency_key": idempotency_key,
            "request_hash": body_hash if idempotency_key else None,
            "hold_id": None,
            "created_at": now,
        }
        repo.insert_booking(conn, rid, row, table_ids)
        ledger.insert_allocations(conn, rid, table_ids, window.block_start, window.block_end, booking_id=booking_id)
        # Rendered from what was written (no read back: the writes stay in one round trip).
        view = booking_view(venue, {**row, "labels": [venue.table_by_id[t].label for t in sorted(table_ids)]})
        repo.emit(conn, rid, "booking.created", view)
        return view, True

    return db.run(rid, use_case, pipeline=True)


# --- status changes and reads --------------------------------------------------------


def transition(
    db: Database, rid: str, booking_id: str, action: str, actor: Actor, *, own_only: bool = False
) -> dict[str, Any]:
    """Apply `action` (cancel, seat, complete, no-show) under the state machine.

    Cancel and no-show give the tables and the pacing back at once; complete gives
    the tables back (the party has left) and keeps its covers counted (it did start).
    `own_only` restricts the action to bookings the actor's key created.
    """
    booking_id = parse_id(booking_id, "booking")

    def use_case(conn: Conn) -> dict[str, Any]:
        venue = venue_snapshot(conn, rid, for_write=True)
        current = repo.get_booking(conn, rid, booking_id)
        if current is None or (own_only and current["created_by_key"] != actor.key_id):
            raise NotFound("no such booking")
        if current["status"] in OCCUPYING and action in ("cancel", "no-show"):
            # Lock order: the slot's pacing row before the booking.
            ledger.lock_slot(conn, rid, current["slot_start"], pacing_of_slot(venue, current["slot_start"]), utcnow())
        row = _present(repo.get_booking(conn, rid, booking_id, for_update=True))
        new = TRANSITIONS[row["status"]].get(action)
        if new is None:
            raise IllegalTransition(
                f"a {row['status']} booking cannot be {action}", booking_status=row["status"], action=action
            )
        if new in ("cancelled", "no_show"):
            ledger.archive_allocations(conn, rid, booking_id=booking_id)
            ledger.add_pacing(conn, rid, row["slot_start"], -row["party_size"], -1)
        elif new == "completed":
            ledger.archive_allocations(conn, rid, booking_id=booking_id)
        repo.set_status(conn, rid, booking_id, new)
        view = booking_view(venue, {**row, "status": new})  # only the status changed
        repo.emit(conn, rid, EVENTS[new], view)
        return view

    return db.run(rid, use_case)


def get_booking(db: Database, rid: str, booking_id: str) -> dict[str, Any]:
    booking_id = parse_id(booking_id, "booking")
    with db.tenant(rid) as conn:
        venue = venue_snapshot(conn, rid)
        row = repo.get_booking(conn, rid, booking_id)
        if row is None:
            raise NotFound("no such booking")
        return booking_view(venue, row)


def list_bookings(db: Database, rid: str, day_text: str) -> list[dict[str, Any]]:
    """Every booking of a local date (the date its service started), all statuses."""
    day = parse_local_date(day_text)
    with db.tenant(rid) as conn:
        venue = venue_snapshot(conn, rid)
        return [booking_view(venue, r) for r in repo.bookings_on(conn, rid, day)]
