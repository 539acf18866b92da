"""Direct bookings (hold and confirm in one transaction) and reading bookings.

In shadow mode (services.shadow) a booking enforcement would refuse for want of
room is accepted unassigned and marked `overbooked`.

A request with an Idempotency-Key is answered once: the same key and request give
the same booking (created=False), the same key with another request is refused.
The request's fingerprint is computed here, from the typed request, so every shell
(API, CLI, jobs) gets the same answer for the same request.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from seatwise import telemetry
from seatwise.core.errors import IdempotencyKeyReused, NotFound, SeatwiseError
from seatwise.core.events import EventType
from seatwise.core.text import check_texts
from seatwise.core.timerules import STAFF_BACKDATING, check_not_past, parse_local_date, resolve_start
from seatwise.core.venue_doc import policy_version
from seatwise.services import refusals
from seatwise.services.auth import Permission, Principal, authorize
from seatwise.services.common import NewBooking, booking_row, emit, reserve, utcnow, window_columns
from seatwise.services.ids import parse_id
from seatwise.services.reseating import Reseat, run_reseating
from seatwise.services.results import Booking, Guest, booking_of, guest_texts, labels_of
from seatwise.services.shadow import shadow_reserve, shadows
from seatwise.services.snapshot import venue_snapshot
from seatwise.store import bookings as repo
from seatwise.store import ledger
from seatwise.store.db import Database
from seatwise.store.probe import AsyncReads, Probe
from seatwise.store.venues import Conn


@dataclass(frozen=True, slots=True)
class BookingRequest:
    party_size: int
    start: str  # an ISO instant with offset, or a local YYYY-MM-DDTHH:MM
    guest: Guest
    notes: str | None = None
    table_labels: Sequence[str] | None = None
    allow_slack: bool = False  # waive the slack budget: staff only
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        check_texts(guest_texts(self.guest, self.notes))

    def fingerprint(self) -> str:
        """What an Idempotency-Key promises: the same request (the key itself aside)."""
        body = asdict(self)
        body.pop("idempotency_key")
        body["table_labels"] = list(self.table_labels) if self.table_labels is not None else None
        encoded = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(encoded.encode()).hexdigest()


def _backdating(actor: Principal) -> timedelta:
    # Channels book ahead; staff may record a booking that started up to 12 h ago.
    return STAFF_BACKDATING if actor.may(Permission.MANAGE_BOOKINGS) else timedelta(0)


def _scope(rid: str, request: BookingRequest, actor: Principal, seen: Probe) -> refusals.Scope | None:
    return refusals.scope_for(
        rid,
        request.party_size,
        request.start,
        venue_version=seen.venue_version,
        ledger_version=seen.ledger_version,
        labels=request.table_labels,
        allow_slack=request.allow_slack,
        idempotency_key=request.idempotency_key,
        backdating=_backdating(actor),
    )


async def book(
    db: Database, reads: AsyncReads, rid: str, request: BookingRequest, actor: Principal, seen: Probe
) -> tuple[Booking, bool]:
    """`create_booking` from the event loop, for a request whose versions `seen` read
    (`store.probe`): a refusal kept for them is answered without a worker thread or a
    transaction; anything else waits at its slot's gate, then runs in a worker thread
    (`services.refusals.run_write`)."""
    scope = _scope(rid, request, actor, seen)
    return await refusals.run_write(reads, scope, lambda: create_booking(db, rid, request, actor, scope=scope))


def create_booking(
    db: Database, rid: str, request: BookingRequest, actor: Principal, *, scope: refusals.Scope | None = None
) -> tuple[Booking, bool]:
    """Plan and commit a confirmed booking in one transaction; returns (booking, created).

    With no free plan, re-seats (services.reseating) when the policy allows. With
    `scope` (services.refusals: the versions read before this call), a "no room"
    refusal is kept for them, and one already kept is raised without planning."""
    if request.allow_slack:
        authorize(actor, rid, Permission.MANAGE_BOOKINGS)  # only staff may waive the slack budget
    key = request.idempotency_key
    fingerprint = request.fingerprint() if key is not None else None
    backdating = _backdating(actor)

    def use_case(conn: Conn, attempt: Reseat) -> tuple[Booking, bool]:
        now = utcnow()
        venue = venue_snapshot(conn, rid, for_write=True)
        if key is not None:
            earlier = repo.booking_by_idempotency_key(conn, rid, key)
            if earlier is not None:
                if earlier["request_hash"] != fingerprint:
                    raise IdempotencyKeyReused("this Idempotency-Key was used with another request body")
                return booking_of(venue, earlier), False
        instant = resolve_start(venue, request.start)
        check_not_past(instant, now, backdating=backdating)
        shadow: dict[str, Any] = {}
        try:
            window, table_ids = reserve(
                conn,
                rid,
                venue,
                request.party_size,
                instant,
                request.table_labels,
                now,
                allow_slack=request.allow_slack,
                reseat=attempt,
                refusals=scope,
            )
        except SeatwiseError as refusal:
            # A concurrent request with the same key may have committed while this one
            # waited for the slot's lock (taking the last party or table): the key is
            # read again under the lock, so the duplicate is a replay, not a refusal.
            if key is not None and (earlier := repo.booking_by_idempotency_key(conn, rid, key)) is not None:
                if earlier["request_hash"] != fingerprint:
                    raise IdempotencyKeyReused("this Idempotency-Key was used with another request body") from None
                return booking_of(venue, earlier), False
            if not shadows(venue, refusal):
                raise
            window, counted = shadow_reserve(conn, rid, venue, request.party_size, instant, now)
            table_ids = ()
            shadow = {"overbooked": True, "would_refuse": refusal.code.value, "pacing_counted": counted}
        booking_id = str(uuid.uuid4())
        new = NewBooking(
            party_size=request.party_size,
            guest=request.guest,
            notes=request.notes,
            allow_slack=request.allow_slack,
            policy_version=policy_version(venue.policy),
            idempotency_key=key,
            request_hash=fingerprint,
            pinned=bool(request.table_labels) and not shadow,
        )
        row = {**booking_row(booking_id, new, window_columns(window), actor, now), **shadow}
        repo.insert_booking(conn, rid, row, table_ids)
        ledger.insert_allocations(conn, rid, table_ids, window.block_start, window.block_end, booking_id=booking_id)
        # Built from what was written (no read back: the writes stay in one round trip).
        booking = booking_of(venue, {**row, "labels": labels_of(venue, table_ids)})
        emit(conn, rid, EventType.BOOKING_CREATED, booking)
        return booking, True

    booking, created = run_reseating(db, rid, actor.label, use_case)
    if created:
        telemetry.BOOKINGS_CREATED.labels("direct", actor.role).inc()
        if booking.would_refuse is not None:
            telemetry.SHADOW_REFUSALS.labels(booking.would_refuse).inc()
    return booking, created


def get_booking(db: Database, rid: str, booking_id: str) -> Booking:
    booking_id = parse_id(booking_id, "booking")
    with db.tenant(rid) as conn:
        venue = venue_snapshot(conn, rid)
        row = repo.get_booking(conn, rid, booking_id)
        if row is None:
            raise NotFound("no such booking")
        return booking_of(venue, row)


def list_bookings(db: Database, rid: str, day_text: str) -> list[Booking]:
    """Every booking of a local date (the date its service started), all statuses."""
    day = parse_local_date(day_text)
    with db.tenant(rid) as conn:
        venue = venue_snapshot(conn, rid)
        return [booking_of(venue, r) for r in repo.bookings_on(conn, rid, day)]
