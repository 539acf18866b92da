"""What re-seating and the optimizer share: a service as the seating model sees it,
and applying a set of moves in the caller's transaction, all or nothing.

Movable: a `pending` or `confirmed` booking of the service, not pinned, on tables.
Everything else that occupies a table (seated or pinned bookings, other services'
bookings, holds, blocks, unassigned bookings' claims) is fixed.

:func:`apply_moves` is the one writer of moves. Its caller holds the restaurant row
(`FOR KEY SHARE`, step 1 of the lock order) and, for re-seating, the new party's slot
(step 3); it then locks the moved bookings' rows in ascending id (step 4), re-reads
and re-checks them and the ledger, takes the table locks of every table involved in
ascending order (step 6), defers `allocations_no_overlap` to the commit and writes.
When anything changed since the solve it writes nothing and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from seatwise.core.claims import with_claims
from seatwise.core.events import EventType
from seatwise.core.model import DayLedger, Venue
from seatwise.core.seating import Move, Occupant, fits
from seatwise.services.results import labels_of, to_json
from seatwise.store import bookings as repo
from seatwise.store import ledger
from seatwise.store import seating as seating_store
from seatwise.store.venues import Conn

MOVABLE_STATUSES = frozenset({"pending", "confirmed"})


@dataclass(frozen=True, slots=True)
class PlannedMove:
    """One booking's tables before and after, with its (unchanged) block."""

    booking_id: str
    from_tables: tuple[int, ...]
    to_tables: tuple[int, ...]
    start: datetime  # block start
    end: datetime  # block end


@dataclass(frozen=True)
class ServiceState:
    """One service read in one transaction: the ledger around it (claims placed),
    every occupying booking of it on tables, and which of them may move."""

    venue: Venue
    ledger: DayLedger
    bookings: tuple[dict[str, Any], ...]
    occupants: tuple[Occupant, ...]
    now: datetime


def planned_moves(occupants: Sequence[Occupant], solved: Sequence[Move]) -> tuple[PlannedMove, ...]:
    """A solve's moves with the blocks of the bookings they move (which stay the same)."""
    blocks = {o.booking_id: (o.start, o.end) for o in occupants}
    return tuple(PlannedMove(m.booking_id, m.from_tables, m.to_tables, *blocks[m.booking_id]) for m in solved)


def move_allocations(
    conn: Conn, rid: str, booking_id: str, table_ids: Sequence[int], lo: datetime, hi: datetime, now: datetime
) -> None:
    """Put a booking's block `[lo, hi)` on `table_ids` instead of its current tables
    (expired holds in the way cleared, under the table locks of both), in the
    caller's transaction: staff moves, reschedules, re-seating and optimize."""
    ledger.clear_expired_holds(conn, rid, lo, hi, now, table_ids, with_booking=booking_id)
    ledger.delete_allocations(conn, rid, booking_id=booking_id)
    ledger.insert_allocations(conn, rid, table_ids, lo, hi, booking_id=booking_id)
    repo.set_booking_tables(conn, rid, booking_id, table_ids)


def movable(row: dict[str, Any]) -> bool:
    return row["status"] in MOVABLE_STATUSES and not row["pinned"] and bool(row["table_ids"])


def occupant_of(row: dict[str, Any]) -> Occupant:
    return Occupant(row["id"], row["party_size"], row["block_start"], row["end_at"], tuple(sorted(row["table_ids"])))


def read_service(
    conn: Conn,
    rid: str,
    venue: Venue,
    service_date: date,
    service_name: str,
    now: datetime,
    *,
    also: tuple[datetime, datetime] | None = None,
) -> ServiceState:
    """The service's bookings on tables and the ledger over their blocks (and the
    window `also`): two reads, whatever the size of the service."""
    rows = tuple(seating_store.service_bookings(conn, rid, service_date, service_name))
    windows = [(r["block_start"], r["end_at"]) for r in rows] + ([also] if also else [])
    if windows:
        lo, hi = min(w[0] for w in windows), max(w[1] for w in windows)
        day, _ = with_claims(venue, ledger.load_ledger(conn, rid, lo, hi, now), now)
    else:
        day = DayLedger()
    occupants = tuple(occupant_of(r) for r in rows if movable(r))
    return ServiceState(venue, day, rows, occupants, now)


def apply_moves(
    conn: Conn,
    rid: str,
    venue: Venue,
    moves: Sequence[PlannedMove],
    now: datetime,
    *,
    actor: str,
    reason: str,
    also: Sequence[tuple[str, tuple[int, ...], datetime, datetime]] = (),
) -> bool:
    """Write `moves` (and check the placements `also`, which the caller writes), or
    nothing. False when a moved booking changed since the solve (status, pin, tables,
    block) or a target is no longer free: the caller re-plans or refuses.

    Emits `assignment.changed` per moved booking (`reason`: reseating or optimize).
    """
    ids = [m.booking_id for m in moves]
    rows = seating_store.lock_bookings(conn, rid, ids) if ids else {}
    for m in moves:
        row = rows.get(m.booking_id)
        if row is None or not movable(row):
            return False
        if (tuple(sorted(row["table_ids"])), row["block_start"], row["end_at"]) != (m.from_tables, m.start, m.end):
            return False
    placements = [(m.booking_id, m.to_tables, m.start, m.end) for m in moves] + list(also)
    if not placements:
        return True
    lo, hi = min(p[2] for p in placements), max(p[3] for p in placements)
    day, _ = with_claims(venue, ledger.load_ledger(conn, rid, lo, hi, now), now)
    if not fits(day, now, placements, moving=ids):
        return False
    if not moves:
        return True
    tables = {t for m in moves for t in (*m.from_tables, *m.to_tables)} | {t for p in also for t in p[1]}
    ledger.lock_tables(conn, rid, tables)
    seating_store.defer_overlap_check(conn)
    for m in moves:
        move_allocations(conn, rid, m.booking_id, m.to_tables, m.start, m.end, now)
    payloads = [
        {
            "booking_id": m.booking_id,
            "from": list(labels_of(venue, m.from_tables)),
            "to": list(labels_of(venue, m.to_tables)),
            "actor": actor,
            "reason": reason,
        }
        for m in moves
    ]
    repo.emit_many(conn, rid, EventType.ASSIGNMENT_CHANGED.value, [to_json(p) for p in payloads])
    return True
