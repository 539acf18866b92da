"""Pieces every write use case shares: the clock, the booking row, the refusals,
"lock the slot, then plan", and "read, lock the slot, re-read".

Lock order: docs/architecture.md ("Lock order") states it once; every helper here
takes its locks in that order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from seatwise import telemetry
from seatwise.core.assignment import Check, check_assignment
from seatwise.core.availability import check_party, nearest_available, valid_until
from seatwise.core.claims import with_claims
from seatwise.core.errors import (
    AdjacencyMismatch,
    CapacityExceeded,
    HoldConflict,
    NotFound,
    SeatwiseError,
    SlackExceeded,
    TableConflict,
    ValidationFailed,
    ZoneMismatch,
)
from seatwise.core.events import EventType
from seatwise.core.model import DayLedger, Enforcement, Pacing, PacingUsage, Venue
from seatwise.core.outlook import Outlook
from seatwise.core.pacing import pacing_allows
from seatwise.core.planner import best_plan
from seatwise.core.timerules import BookingWindow, booking_window, day_slots, day_span, service_at
from seatwise.services import demand, reseating
from seatwise.services.auth import Principal
from seatwise.services.results import Guest, to_json
from seatwise.store import bookings as repo
from seatwise.store import ledger
from seatwise.store.db import Conflict
from seatwise.store.venues import Conn

if TYPE_CHECKING:  # services.refusals uses this module's clock
    from seatwise.services.refusals import Scope

# Only these statuses occupy tables and pacing.
OCCUPYING = frozenset({"pending", "confirmed", "seated"})


def utcnow() -> datetime:
    """The one clock of the services (the core is given `now`, never reads it)."""
    return datetime.now(UTC)


def present(row: dict[str, Any] | None) -> dict[str, Any]:
    """A row this transaction just wrote or locked: its absence is a bug, not a 404."""
    if row is None:
        raise LookupError("a row written in this transaction is missing")
    return row


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


@dataclass(frozen=True, slots=True)
class NewBooking:
    """What a new booking row says beyond its window."""

    party_size: int
    guest: Guest
    notes: str | None
    allow_slack: bool
    policy_version: str
    idempotency_key: str | None = None
    request_hash: str | None = None
    hold_id: str | None = None
    # Tables named by the request (or by the hold it confirms): the engine never
    # moves a pinned booking (re-seating, optimize).
    pinned: bool = False


def booking_row(
    booking_id: str, new: NewBooking, window: dict[str, Any], actor: Principal, now: datetime
) -> dict[str, Any]:
    """The one place a booking row is built (direct bookings and confirmed holds)."""
    return {
        "id": booking_id,
        "status": "confirmed",
        "party_size": new.party_size,
        **window,
        "guest_name": new.guest.name,
        "guest_phone": new.guest.phone,
        "guest_email": new.guest.email,
        "notes": new.notes,
        "channel": actor.role,
        "created_by_key": actor.key_id,
        "allow_slack": new.allow_slack,
        "policy_version": new.policy_version,
        "idempotency_key": new.idempotency_key,
        "request_hash": new.request_hash,
        "hold_id": new.hold_id,
        "pinned": new.pinned,
        "created_at": now,
    }


def emit(conn: Conn, rid: str, event: EventType, payload: Any) -> None:
    """Write an outbox event in the caller's transaction; a result is sent as its JSON."""
    repo.emit(conn, rid, event.value, to_json(payload))


def pacing_of_slot(venue: Venue, slot: datetime) -> Pacing | None:
    """The current pacing limits of the service a stored slot belongs to."""
    try:
        return service_at(venue, slot).service.pacing
    except SeatwiseError:
        return None  # the policy changed since; no limit to refresh


# --- refusals -------------------------------------------------------------------------

# The first failed check, in this order, names the refusal: sets that can never work
# are 422, sets blocked by others are 409.
_REFUSAL_BY_CHECK: tuple[tuple[str, type[SeatwiseError]], ...] = (
    ("capacity", ValidationFailed),
    ("zone", ZoneMismatch),
    ("movable", AdjacencyMismatch),
    ("adjacency", AdjacencyMismatch),
    ("slack", SlackExceeded),
    ("conflict", TableConflict),
    ("hold", HoldConflict),
)


def refusal_for(checks: Sequence[Check]) -> SeatwiseError | None:
    """The error for a failed table-set check, carrying every check, or None."""
    failed = {c.check: c for c in checks if not c.ok}
    if not failed:
        return None
    rendered = [{"check": c.check, "ok": c.ok, "message": c.message} for c in checks]
    for name, cls in _REFUSAL_BY_CHECK:
        if name in failed:
            return cls(failed[name].message, checks=rendered)
    return ValidationFailed("the table set was refused", checks=rendered)


def capacity_exceeded(
    conn: Conn, rid: str, venue: Venue, window: BookingWindow, party: int, now: datetime, why: str
) -> CapacityExceeded:
    """ "No room" with the nearest available times of that service date."""
    return _no_room(conn, rid, venue, window, party, now, why)[0]


def _no_room(
    conn: Conn, rid: str, venue: Venue, window: BookingWindow, party: int, now: datetime, why: str
) -> tuple[CapacityExceeded, DayLedger]:
    day, _ = with_claims(venue, ledger.load_ledger(conn, rid, *day_span(venue, window.service_date), now), now)
    return CapacityExceeded(why, alternatives=nearest_available(venue, day, window.start, party, now)), day


def _refused(
    conn: Conn,
    rid: str,
    venue: Venue,
    window: BookingWindow,
    party: int,
    decided_on: DayLedger,
    now: datetime,
    why: str,
    keep: Scope | None,
) -> CapacityExceeded:
    """ "No room", kept in `keep` (services.refusals) until time alone may change it:
    a live hold of the ledger it was decided on or of the alternatives' expires, or
    the next slot starts."""
    refusal, day = _no_room(conn, rid, venue, window, party, now, why)
    if keep is not None:
        slots = [s.start for s in day_slots(venue, window.service_date)]
        keep.keep(refusal, window.start, valid_until([decided_on, day], slots, now), slot=(rid, window.slot_start))
    return refusal


# --- locking --------------------------------------------------------------------------


def reserve(
    conn: Conn,
    rid: str,
    venue: Venue,
    party: int,
    start: datetime,
    labels: Sequence[str] | None,
    now: datetime,
    *,
    allow_slack: bool = False,
    reseat: reseating.Reseat | None = None,
    refusals: Scope | None = None,
) -> tuple[BookingWindow, tuple[int, ...]]:
    """Lock the slot, check pacing, plan (or check the chosen tables), clear expired
    holds in the way, and count the party in pacing. The caller inserts allocations.

    With `refusals` (services.refusals), a "no room" refusal already kept for a
    ledger version this request read is raised without planning, and one decided
    here is kept.

    With `reseat` (the use case runs under :func:`reseating.run_reseating`), a party
    that finds no free plan while pacing allows it may be seated by moving other
    bookings (services.reseating): this raises `reseating.NoRoom` to solve outside
    the transaction, or writes the solved moves it is given."""
    check_party(venue, party)
    window = booking_window(venue, party, start)
    # Named tables need no ranking; a plan looks ahead with the expected demand, and
    # then reads the ledger as far around the block as that demand reaches.
    outlook = None if labels else demand.outlook_for(conn, rid, venue, window)
    span = demand.ledger_span(window, outlook)
    if refusals is not None and (
        refusals.venue_version != venue.version
        or venue.policy.enforcement is not Enforcement.ENFORCE  # in shadow mode a refusal is a booking
    ):
        refusals = None  # planned under another venue version than the probe's
    planning = _Planning(conn, rid, venue, party, window, labels, now, allow_slack, outlook, reseat, refusals)
    if venue.policy.enforcement is Enforcement.SHADOW:
        # Here a refusal becomes an unassigned booking: it is decided under the slot's
        # lock and the claims lock, never on a plain read, so a table freed meanwhile
        # is seen or else placed on this booking by its freer (`ledger.lock_claims`).
        locked = ledger.queue_lock_slot(conn, rid, window.slot_start, window.service.pacing, now)
        ledger.lock_claims(conn, rid)
        reads = ledger.queue_ledger(conn, rid, *span, now)
        usage, (day, _) = ledger.usage_of(locked), with_claims(venue, ledger.ledger_of(reads), now)
        return window, _count(planning, planning.plan(day, usage), usage)
    # First without waiting (one round trip in pipeline mode): take the slot's lock
    # if no other writer holds it, then read the ledger, so the read is under the
    # lock when it was free. The server runs them in order.
    tried = ledger.queue_try_lock_slot(conn, rid, window.slot_start, window.service.pacing)
    reads = ledger.queue_ledger(conn, rid, *span, now)
    # Unassigned bookings' claims come first (DESIGN §12): plan on what they leave.
    (held, created, version), (day, _) = ledger.try_lock_of(tried), with_claims(venue, ledger.ledger_of(reads), now)
    if refusals is not None:
        refusals.saw(version)
        refusals.raise_kept(now)  # no plan needed (a lock just taken goes with the rollback)
    if held:
        # Gives back the slot's expired holds' covers and refreshes its limits (a row
        # just created has neither to do); the usage it returns is the one just read
        # (expired holds already subtracted).
        if not created:
            ledger.queue_lock_slot(conn, rid, window.slot_start, window.service.pacing, now)
        usage = day.pacing.get(window.slot_start, PacingUsage())
    else:
        # Another writer holds the slot (or was creating its row). What this plain read of
        # committed rows proves impossible is refused now, without waiting its turn;
        # anything else waits for the lock and plans again on a fresh read. The wait
        # is patient for a while only: between waits, a fresh plain read may prove
        # the refusal (the writers ahead committed), so a refusal does not queue
        # behind every writer of the slot and then hold the lock while it is refused.
        planning.plan(day, precheck=True)
        usage, day = _lock_slot_refusing_early(planning, span)
        if refusals is not None:
            refusals.raise_kept(now)  # kept by another request while this one waited
    return window, _count(planning, planning.plan(day, usage), usage)


def _count(p: _Planning, table_ids: tuple[int, ...], usage: PacingUsage) -> tuple[int, ...]:
    """Clear the expired holds in the planned tables' way and count the party in pacing."""
    window = p.window
    ledger.clear_expired_holds(p.conn, p.rid, window.block_start, window.block_end, p.now, table_ids)
    ledger.add_pacing(p.conn, p.rid, window.slot_start, p.party, 1)
    limit = window.service.pacing.max_covers_per_slot if window.service.pacing else None
    if limit:
        telemetry.PACING_UTILISATION.observe((usage.covers + p.party) / limit)
    return table_ids


PATIENT_WAITS = 25  # then the writer waits its turn, however long (up to the lock timeout)


@dataclass(frozen=True, slots=True)
class _Planning:
    """One request's planning inputs, so each plan on a fresh ledger names only that."""

    conn: Conn
    rid: str
    venue: Venue
    party: int
    window: BookingWindow
    labels: Sequence[str] | None
    now: datetime
    allow_slack: bool
    outlook: Outlook | None
    reseat: reseating.Reseat | None
    refusals: Scope | None

    def plan(self, day: DayLedger, usage: PacingUsage | None = None, *, precheck: bool = False) -> tuple[int, ...]:
        """`_plan` on `day`; without `usage`, the slot's usage as `day` read it."""
        if usage is None:
            usage = day.pacing.get(self.window.slot_start, PacingUsage())
        return _plan(
            self.conn,
            self.rid,
            self.venue,
            self.party,
            self.window,
            self.labels,
            day,
            usage,
            self.now,
            allow_slack=self.allow_slack,
            outlook=self.outlook,
            reseat=self.reseat,
            precheck=precheck,
            keep=self.refusals if self.reseat is None or self.reseat.certain else None,
        )


def _lock_slot_refusing_early(p: _Planning, span: tuple[datetime, datetime]) -> tuple[PacingUsage, DayLedger]:
    """The slot's lock and the ledger of `span` read under it; between patient waits
    for it, a plain read that proves the refusal raises it (`_plan`, a precheck: with
    re-seating wanted it decides nothing) without the lock, as does a refusal kept
    meanwhile for a ledger version this request read (services.refusals)."""
    conn, rid, venue, window, now = p.conn, p.rid, p.venue, p.window, p.now
    (lo, hi), pacing = span, window.service.pacing
    for _ in range(PATIENT_WAITS):
        got = ledger.patient_lock_slot(conn, rid, lo, hi, window.slot_start, pacing, now)
        if got is not None:
            if p.refusals is not None:
                p.refusals.saw(got[2])
            return got[0], with_claims(venue, got[1], now)[0]
        _poll(p, lo, hi)
    locked = ledger.queue_lock_slot(conn, rid, window.slot_start, pacing, now)
    reads = ledger.queue_ledger(conn, rid, lo, hi, now)
    return ledger.usage_of(locked), with_claims(venue, ledger.ledger_of(reads), now)[0]


def _poll(p: _Planning, lo: datetime, hi: datetime) -> None:
    """A plain read of committed rows: the refusal kept for the version it reads, or
    the refusal it proves (a precheck), raised; else nothing."""
    if p.refusals is not None:
        p.refusals.raise_kept(p.now)  # kept for a version already read: no read needed
        version = ledger.queue_version(p.conn, p.rid)
        reads = ledger.queue_ledger(p.conn, p.rid, lo, hi, p.now)
        p.refusals.saw(ledger.version_of(version))
        p.refusals.raise_kept(p.now)
    else:
        reads = ledger.queue_ledger(p.conn, p.rid, lo, hi, p.now)
    p.plan(with_claims(p.venue, ledger.ledger_of(reads), p.now)[0], precheck=True)


def _plan(
    conn: Conn,
    rid: str,
    venue: Venue,
    party: int,
    window: BookingWindow,
    labels: Sequence[str] | None,
    day: DayLedger,
    usage: PacingUsage,
    now: datetime,
    *,
    allow_slack: bool,
    outlook: Outlook | None = None,
    reseat: reseating.Reseat | None = None,
    precheck: bool = False,
    keep: Scope | None = None,
) -> tuple[int, ...]:
    """The tables for the party on `day` (pacing, then the named tables' checks or the
    best plan, looking ahead with `outlook`), or the refusal raised.

    No free plan with re-seating wanted: a `precheck` (a plain read without the slot
    lock) decides nothing and returns (); under the lock, the attempt's solved moves
    are written (their new tables returned), or `NoRoom` is raised to solve, or the
    refusal."""
    if not pacing_allows(window.service.pacing, usage, party):
        raise _refused(conn, rid, venue, window, party, day, now, "pacing for this time is full", keep)
    if labels:
        checks = check_assignment(
            venue, party, labels, window.block_start, window.block_end, day, now, allow_slack=allow_slack
        )
        refusal = refusal_for(checks)
        if refusal is not None:
            raise refusal
        return tuple(sorted(venue.table_by_label[x].id for x in labels))
    plan = best_plan(venue, party, window.block_start, window.block_end, day, now, outlook=outlook)
    if plan is not None:
        return plan.table_ids
    if reseat is not None and reseating.wanted(venue, reseat, labels):
        if precheck:
            return ()
        moved = reseating.apply(conn, rid, venue, reseat, party, window, now)
        if moved is not None:
            return moved
        if reseat.may_ask:
            raise reseating.ask(conn, rid, venue, window, party, now)
    raise _refused(conn, rid, venue, window, party, day, now, "no table can take this party at that time", keep)


SlotsToLock = Callable[[dict[str, Any]], Mapping[datetime, Pacing | None]]


def lock_booking(
    conn: Conn,
    rid: str,
    booking_id: str,
    now: datetime,
    slots: SlotsToLock,
    *,
    visible: Callable[[dict[str, Any]], bool] = lambda _row: True,
) -> tuple[dict[str, Any], dict[datetime, PacingUsage]]:
    """Read a booking, lock the pacing rows `slots(row)` names (ascending), then lock
    the booking row and read it again: the lock order puts slots before bookings.

    A booking `visible` refuses is answered 404, as if it did not exist. A booking whose slot
    or party changed between the two reads was moved concurrently: the use case is
    retried on fresh rows.
    """
    current = repo.get_booking(conn, rid, booking_id)
    if current is None or not visible(current):
        raise NotFound("no such booking")
    wanted = slots(current)
    usage = ledger.lock_slots(conn, rid, dict(wanted), now) if wanted else {}
    row = present(repo.get_booking(conn, rid, booking_id, for_update=True))
    if (row["slot_start"], row["party_size"]) != (current["slot_start"], current["party_size"]):
        raise Conflict("moved concurrently")
    return row, usage
