"""Read use cases: availability and the timeline. A constant number of queries each:
the tenant setting, the restaurant row (venue snapshot cached by version), the
ledger's allocations and its pacing usage."""

from __future__ import annotations

from datetime import datetime, timedelta

from seatwise.core.availability import SlotAvailability, availability_at, day_availability
from seatwise.core.claims import oldest_first, with_claims
from seatwise.core.model import natural_key
from seatwise.core.timerules import day_span, parse_local_date, venue_zone
from seatwise.services.common import utcnow
from seatwise.services.results import (
    Availability,
    Capacity,
    Slot,
    Timeline,
    TimelineAllocation,
    TimelineTable,
)
from seatwise.services.snapshot import venue_snapshot
from seatwise.store import ledger
from seatwise.store.db import Database


def availability(db: Database, rid: str, day_text: str, party: int, time_label: str | None) -> Availability:
    day = parse_local_date(day_text)
    now = utcnow()
    with db.tenant(rid) as conn:
        venue = venue_snapshot(conn, rid)
        lo, hi = day_span(venue, day)
        if time_label is not None:
            # An off-grid time after the last slot (up to the last seating) reaches a
            # little past the span of the grid.
            hi += timedelta(minutes=venue.slot_minutes)
        day_ledger = ledger.load_ledger(conn, rid, lo, hi, now)
    # Offer only what the unassigned bookings' claims leave (DESIGN §12).
    day_ledger, _ = with_claims(venue, day_ledger, now)
    zone = venue_zone(venue)

    def slots(found: tuple[SlotAvailability, ...]) -> tuple[Slot, ...]:
        return tuple(Slot(s.time, s.start.astimezone(zone), s.service, s.available) for s in found)

    if time_label is None:
        return Availability(day, party, venue.timezone, slots(day_availability(venue, day_ledger, day, party, now)))
    at = availability_at(venue, day_ledger, day, party, time_label, now)
    return Availability(
        day,
        party,
        venue.timezone,
        slots(at.slots),
        available=at.available,
        alternatives=tuple(at.alternatives),
        capacity=Capacity(**at.capacity),
    )


def timeline(db: Database, rid: str, day_text: str) -> Timeline:
    """Per table, the bookings and live holds of the business date (the date their
    service started on, as the bookings list has them) and the blocks of the local day;
    and the lane of live bookings without tables (oldest claim first)."""
    day = parse_local_date(day_text)
    now = utcnow()
    with db.tenant(rid) as conn:
        venue = venue_snapshot(conn, rid)
        zone = venue_zone(venue)
        lo = datetime.combine(day, datetime.min.time(), zone)
        hi = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
        busy = ledger.timeline_busy(conn, rid, day, day_span(venue, day), (lo, hi))
    tables = []
    for table in sorted(venue.tables, key=lambda t: natural_key(t.label)):
        rows = sorted((b for b in busy.get(table.id, ()) if b.live(now)), key=lambda b: (b.start, b.ref))
        allocations = tuple(
            TimelineAllocation(b.kind, b.ref, b.start.astimezone(zone), b.end.astimezone(zone)) for b in rows
        )
        tables.append(TimelineTable(table.label, table.zone, table.seats, allocations))
    unassigned = tuple(
        TimelineAllocation("booking", c.booking_id, c.start.astimezone(zone), c.end.astimezone(zone))
        for c in oldest_first(day_ledger.claims)
        if c.start < hi and c.end > lo
    )
    return Timeline(day, venue.timezone, tuple(tables), unassigned)
