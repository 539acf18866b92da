"""Staff blocks: tables taken out of service for an interval.

A block is allocation rows with `block_id`, so the exclusion constraint guards it
like any booking. A block never moves anything behind the host's back: one that
would overlap a live booking, hold or another block is refused with 409
BLOCK_CONFLICT listing them all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from seatwise.core.assignment import tables_named
from seatwise.core.errors import BlockConflict, NotFound, ValidationFailed
from seatwise.core.events import EventType
from seatwise.core.text import check_texts
from seatwise.core.timerules import resolve_start, venue_zone
from seatwise.services.auth import Principal
from seatwise.services.claims import place_claims
from seatwise.services.common import emit, utcnow
from seatwise.services.ids import parse_id
from seatwise.services.results import Block, block_of, to_json
from seatwise.services.snapshot import venue_snapshot
from seatwise.store import bookings as repo
from seatwise.store import ledger
from seatwise.store.db import Database
from seatwise.store.venues import Conn

# A block is stored as rows of at most LONGEST_BLOCK each, which a day's ledger read
# always sees; a block may span this many days in all.
MAX_BLOCK = timedelta(days=31)


def _pieces(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    lo = start
    while lo < end:
        hi = min(lo + ledger.LONGEST_BLOCK, end)
        yield lo, hi
        lo = hi


@dataclass(frozen=True, slots=True)
class BlockRequest:
    table_labels: Sequence[str]
    start: str  # ISO instant with offset, or local YYYY-MM-DDTHH:MM
    end: str
    reason: str = ""

    def __post_init__(self) -> None:
        check_texts([("reason", self.reason, True, False)])


def create_block(db: Database, rid: str, request: BlockRequest, actor: Principal) -> Block:
    """Take the tables out of service over `[start, end)`, or refuse with every overlap."""

    def use_case(conn: Conn) -> Block:
        now = utcnow()
        venue = venue_snapshot(conn, rid, for_write=True)
        lo, hi = resolve_start(venue, request.start), resolve_start(venue, request.end)
        if hi <= lo:
            raise ValidationFailed("end must be after start")
        if hi - lo > MAX_BLOCK:
            raise ValidationFailed(f"a block lasts at most {MAX_BLOCK.days} days")
        table_ids = sorted(t.id for t in tables_named(venue, request.table_labels))
        day = ledger.load_ledger(conn, rid, lo, hi, now)
        zone = venue_zone(venue)
        overlaps = [
            {
                "kind": b.kind,
                "id": b.ref,
                "table": venue.table_by_id[t].label,
                "start": b.start.astimezone(zone).isoformat(),
                "end": b.end.astimezone(zone).isoformat(),
            }
            for t in table_ids
            for b in sorted(day.busy.get(t, ()), key=lambda b: (b.start, b.ref))
            if b.live(now) and b.start < hi and b.end > lo
        ]
        if overlaps:
            names = "; ".join(f"{o['table']}: {o['kind']} {o['id']}" for o in overlaps)
            raise BlockConflict(f"the block would overlap {names}", bookings=overlaps)
        block_id = str(uuid.uuid4())
        repo.insert_block(conn, rid, block_id, lo, hi, request.reason)
        ledger.clear_expired_holds(conn, rid, lo, hi, now, table_ids)
        for piece_lo, piece_hi in _pieces(lo, hi):
            ledger.insert_allocations(conn, rid, table_ids, piece_lo, piece_hi, block_id=block_id)
        row = {"id": block_id, "start_at": lo, "end_at": hi, "reason": request.reason, "table_ids": table_ids}
        block = block_of(venue, row)
        emit(conn, rid, EventType.BLOCK_CREATED, {**to_json(block), "actor": actor.label})
        return block

    return db.run(rid, use_case)


def delete_block(db: Database, rid: str, block_id: str, actor: Principal) -> None:
    """Lift a block: its tables are free again at once."""
    block_id = parse_id(block_id, "block")

    def use_case(conn: Conn) -> None:
        venue = venue_snapshot(conn, rid, for_write=True)
        span = repo.delete_block(conn, rid, block_id)
        if span is None:
            raise NotFound("no such block")
        place_claims(conn, rid, venue, *span, utcnow(), actor)  # the freed tables go to claims first
        emit(conn, rid, EventType.BLOCK_DELETED, {"id": block_id, "actor": actor.label})

    db.run(rid, use_case)
