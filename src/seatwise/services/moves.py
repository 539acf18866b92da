"""Staff moves: put a booking on other tables, or at another time or party size,
or pin it to its tables.

Each move is one transaction that deletes the booking's allocation rows and inserts
the new ones, so there is no committed instant at which the booking holds both
table sets or neither; the exclusion constraint still settles any race with other
writers (the attempt is retried on a fresh ledger). Locks follow the order of
docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from seatwise.core.assignment import check_assignment
from seatwise.core.availability import check_party
from seatwise.core.errors import IllegalTransition, NotFound, ValidationFailed
from seatwise.core.events import EventType
from seatwise.core.model import DayLedger, Pacing, PacingUsage, Venue
from seatwise.core.pacing import pacing_allows
from seatwise.core.planner import best_plan
from seatwise.core.timerules import BookingWindow, booking_window, resolve_start
from seatwise.core.venue_doc import policy_version
from seatwise.services.auth import Principal
from seatwise.services.claims import place_claims
from seatwise.services.common import (
    OCCUPYING,
    capacity_exceeded,
    emit,
    lock_booking,
    pacing_of_slot,
    present,
    refusal_for,
    utcnow,
    window_columns,
)
from seatwise.services.ids import parse_id
from seatwise.services.results import Booking, booking_of, to_json
from seatwise.services.seating import move_allocations
from seatwise.services.snapshot import venue_snapshot
from seatwise.store import bookings as repo
from seatwise.store import ledger
from seatwise.store.db import Database
from seatwise.store.venues import Conn


def _occupying(row: dict[str, Any], what: str) -> dict[str, Any]:
    if row["status"] not in OCCUPYING:
        status = row["status"]
        raise IllegalTransition(f"a {status} booking cannot be {what}", booking_status=status, action=what)
    return row


@dataclass(frozen=True, slots=True)
class AssignRequest:
    table_labels: Sequence[str]
    allow_slack: bool = False


@dataclass(frozen=True, slots=True)
class RescheduleRequest:
    start: str | None = None  # an ISO instant with offset, or a local YYYY-MM-DDTHH:MM
    party_size: int | None = None
    pinned: bool | None = None  # pin or unpin; alone, nothing else changes


def assign_tables(db: Database, rid: str, booking_id: str, request: AssignRequest, actor: Principal) -> Booking:
    """Move a live booking onto the tables `labels` over its current block.

    Every check of :func:`check_assignment` is run (the booking's own rows ignored);
    a failed one refuses the whole move with its code and every check listed. The
    booking records `allow_slack`, and is pinned: staff chose these tables, so
    re-seating and optimize leave it on them.
    """
    booking_id = parse_id(booking_id, "booking")

    labels, allow_slack = request.table_labels, request.allow_slack

    def use_case(conn: Conn) -> Booking:
        now = utcnow()
        venue = venue_snapshot(conn, rid, for_write=True)
        row, _ = lock_booking(
            conn, rid, booking_id, now, lambda cur: {cur["slot_start"]: pacing_of_slot(venue, cur["slot_start"])}
        )
        row = _occupying(row, "moved")
        lo, hi = row["block_start"], row["end_at"]
        day = ledger.load_ledger(conn, rid, lo, hi, now)
        checks = check_assignment(
            venue, row["party_size"], labels, lo, hi, day, now, allow_slack=allow_slack, ignore_ref=booking_id
        )
        refusal = refusal_for(checks)
        if refusal is not None:
            raise refusal
        table_ids = sorted(venue.table_by_label[x].id for x in labels)
        if set(row["table_ids"]) - set(table_ids):
            ledger.lock_claims(conn, rid)  # before the table locks: `place_claims` reads under it
        move_allocations(conn, rid, booking_id, table_ids, lo, hi, now)
        repo.set_allow_slack(conn, rid, booking_id, allow_slack)
        repo.set_pinned(conn, rid, booking_id, True)
        if set(row["table_ids"]) - set(table_ids):  # tables given back: claims first
            place_claims(conn, rid, venue, lo, hi, now, actor)
        booking = booking_of(venue, present(repo.get_booking(conn, rid, booking_id)))
        _assignment_changed(conn, rid, row, booking, actor)
        return booking

    return db.run(rid, use_case)


def _assignment_changed(conn: Conn, rid: str, before: dict[str, Any], after: Booking, actor: Principal) -> None:
    emit(
        conn,
        rid,
        EventType.ASSIGNMENT_CHANGED,
        {"booking_id": after.id, "from": list(before["labels"]), "to": list(after.tables), "actor": actor.label},
    )


def _keeps(
    venue: Venue, row: dict[str, Any], party: int, lo: datetime, hi: datetime, day: DayLedger, now: datetime
) -> bool:
    """Whether the booking's current tables pass every check for the new window."""
    labels = list(row["labels"])
    if not labels or any(x not in venue.table_by_label for x in labels):
        return False  # a retired table: re-plan
    checks = check_assignment(
        venue, party, labels, lo, hi, day, now, allow_slack=row["allow_slack"], ignore_ref=row["id"]
    )
    return all(c.ok for c in checks)


def reschedule(db: Database, rid: str, booking_id: str, request: RescheduleRequest, actor: Principal) -> Booking:
    """Move a live booking to another start and/or party size, all or nothing.

    The current tables are kept when they still pass every check for the new
    window; otherwise the best plan is taken. Pacing moves from the old slot to the
    new one (both locked, ascending). Nothing fits: 409 CAPACITY_EXCEEDED with
    alternatives, and the booking is left as it was.
    """
    start, party = request.start, request.party_size
    if start is None and party is None:
        if request.pinned is None:
            raise ValidationFailed("send start, party_size and/or pinned")
        return pin(db, rid, booking_id, request.pinned)
    booking_id = parse_id(booking_id, "booking")

    def use_case(conn: Conn) -> Booking:
        now = utcnow()
        venue = venue_snapshot(conn, rid, for_write=True)
        windows: list[BookingWindow] = []

        def slots_to_lock(current: dict[str, Any]) -> dict[datetime, Pacing | None]:
            _occupying(current, "rescheduled")
            new_party = current["party_size"] if party is None else party
            check_party(venue, new_party)
            instant = current["start_at"] if start is None else resolve_start(venue, start)
            window = booking_window(venue, new_party, instant)
            windows.append(window)
            old = current["slot_start"]
            return {old: pacing_of_slot(venue, old), window.slot_start: window.service.pacing}

        row, usage = lock_booking(conn, rid, booking_id, now, slots_to_lock)
        row = _occupying(row, "rescheduled")
        window, old_slot = windows[0], row["slot_start"]
        new_party = row["party_size"] if party is None else party
        new_usage = usage[window.slot_start]
        if window.slot_start == old_slot:  # the booking's own covers make room for themselves
            new_usage = PacingUsage(new_usage.covers - row["party_size"], new_usage.parties - 1)

        def refuse(why: str) -> Exception:
            return capacity_exceeded(conn, rid, venue, window, new_party, now, why)

        if not pacing_allows(window.service.pacing, new_usage, new_party):
            raise refuse("pacing for this time is full")
        day = ledger.load_ledger(conn, rid, window.block_start, window.block_end, now)
        if _keeps(venue, row, new_party, window.block_start, window.block_end, day, now):
            table_ids = sorted(row["table_ids"])
        else:
            plan = best_plan(venue, new_party, window.block_start, window.block_end, day, now, ignore_ref=booking_id)
            if plan is None:
                raise refuse("no table can take this party at that time")
            table_ids = sorted(plan.table_ids)
        if row["table_ids"]:
            ledger.lock_claims(conn, rid)  # before the table locks: `place_claims` reads under it
        move_allocations(conn, rid, booking_id, table_ids, window.block_start, window.block_end, now)
        if row["pacing_counted"]:  # give back first: CHECKs hold throughout
            ledger.add_pacing(conn, rid, old_slot, -row["party_size"], -1)
        ledger.add_pacing(conn, rid, window.slot_start, new_party, 1)
        repo.reschedule(
            conn,
            rid,
            booking_id,
            {
                "party_size": new_party,
                **window_columns(window),
                "policy_version": policy_version(venue.policy),
            },
        )
        if row["table_ids"]:  # the old block's tables are given back: claims first
            place_claims(conn, rid, venue, row["block_start"], row["end_at"], now, actor)
        if request.pinned is not None:
            repo.set_pinned(conn, rid, booking_id, request.pinned)
        booking = booking_of(venue, present(repo.get_booking(conn, rid, booking_id)))
        emit(conn, rid, EventType.BOOKING_RESCHEDULED, {**to_json(booking), "actor": actor.label})
        if list(booking.tables) != list(row["labels"]):
            _assignment_changed(conn, rid, row, booking, actor)
        return booking

    return db.run(rid, use_case)


def pin(db: Database, rid: str, booking_id: str, pinned: bool) -> Booking:
    """Pin a live booking to its tables (or unpin it). Only the engine's own moves
    (re-seating, optimize) respect a pin; staff can still move a pinned booking."""
    booking_id = parse_id(booking_id, "booking")

    def use_case(conn: Conn) -> Booking:
        row = repo.get_booking(conn, rid, booking_id, for_update=True)
        if row is None:
            raise NotFound("no such booking")
        _occupying(row, "pinned" if pinned else "unpinned")
        if row["pinned"] != pinned:
            repo.set_pinned(conn, rid, booking_id, pinned)
        return booking_of(venue_snapshot(conn, rid), {**row, "pinned": pinned})

    return db.run(rid, use_case)
