"""Read use cases: availability and the timeline. A constant number of queries each:
the tenant setting, the restaurant row (venue snapshot cached by version), the
ledger's allocations and its pacing usage.

Availability answers are also kept in a per-process cache (`AnswerCache`), each
valid only for the venue version and ledger version the caller read before the
ledger (`store.probe`; every write bumps the ledger version in its own transaction,
migration 0010), and only until the earliest expiry of a live hold in that ledger or
the next slot start, whichever comes first: time alone changes nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import anyio.to_thread

from seatwise import telemetry
from seatwise.core.availability import SlotAvailability, availability_at, day_availability, valid_until
from seatwise.core.claims import oldest_first, with_claims
from seatwise.core.model import DayLedger, Venue, natural_key
from seatwise.core.timerules import day_slots, day_span, parse_local_date, venue_zone
from seatwise.services.common import utcnow
from seatwise.services.lru import Lru
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
from seatwise.store.probe import Probe

AnswerKey = tuple[str, str, int, str | None]  # restaurant, date, party, time


@dataclass(frozen=True, slots=True)
class _Answer:
    venue_version: int
    ledger_version: int
    valid_until: datetime | None  # None: no live hold, no slot ahead
    result: Availability


class AnswerCache:
    """At most `max_size` answers, least recently used evicted first (thread-safe:
    `services.lru`): the event loop reads it, worker threads fill it."""

    def __init__(self, max_size: int = 4096) -> None:
        self.max_size = max_size
        self._entries: Lru[AnswerKey, _Answer] = Lru(max_size)

    def get(self, key: AnswerKey, probe: Probe, now: datetime) -> Availability | None:
        def current(found: _Answer) -> bool:
            return (
                found.venue_version == probe.venue_version
                and found.ledger_version == probe.ledger_version
                and (found.valid_until is None or now < found.valid_until)
            )

        found = self._entries.get(key, current, drop_unusable=True)
        return found.result if found is not None else None

    def put(self, key: AnswerKey, answer: _Answer) -> None:
        versions = (answer.venue_version, answer.ledger_version)
        # A slow reader must not put back an older answer.
        self._entries.put(key, answer, unless=lambda kept: (kept.venue_version, kept.ledger_version) > versions)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


answers = AnswerCache()


async def read_availability(
    db: Database, rid: str, day_text: str, party: int, time_label: str | None, probe: Probe
) -> Availability:
    """`availability`, answered from the cache when the probe's versions (read by the
    caller before this) still match; otherwise computed in a worker thread and kept."""
    key: AnswerKey = (rid, day_text, party, time_label)
    if probe.venue_version is not None:
        cached = answers.get(key, probe, utcnow())
        if cached is not None:
            telemetry.AVAILABILITY_ANSWERS.labels("cache").inc()
            return cached
    telemetry.AVAILABILITY_ANSWERS.labels("computed").inc()
    return await anyio.to_thread.run_sync(lambda: availability(db, rid, day_text, party, time_label, probe))


def availability(
    db: Database, rid: str, day_text: str, party: int, time_label: str | None, probe: Probe | None = None
) -> Availability:
    """The slots of a date for a party. With `probe` (versions read before this
    call), the answer is kept in the cache under the probe's versions."""
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
    result = _answer(venue, day_ledger, day, party, time_label, now)
    if probe is not None and probe.venue_version == venue.version:
        until = valid_until([day_ledger], [s.start for s in day_slots(venue, day)], now)
        answers.put((rid, day_text, party, time_label), _Answer(venue.version, probe.ledger_version, until, result))
    return result


def _answer(
    venue: Venue, day_ledger: DayLedger, day: date, party: int, time_label: str | None, now: datetime
) -> Availability:
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
        span = day_span(venue, day)
        busy = ledger.timeline_busy(conn, rid, day, span, (lo, hi))
        claims = ledger.load_ledger(conn, rid, *span, now).claims  # the unassigned lane of the business date
    tables = []
    for table in sorted(venue.tables, key=lambda t: natural_key(t.label)):
        rows = sorted((b for b in busy.get(table.id, ()) if b.live(now)), key=lambda b: (b.start, b.ref))
        allocations = tuple(
            TimelineAllocation(b.kind, b.ref, b.start.astimezone(zone), b.end.astimezone(zone)) for b in rows
        )
        tables.append(TimelineTable(table.label, table.zone, table.seats, allocations))
    unassigned = tuple(
        TimelineAllocation("booking", c.booking_id, c.start.astimezone(zone), c.end.astimezone(zone))
        for c in oldest_first(claims)
        if c.start < span[1] and c.end > span[0]
    )
    return Timeline(day, venue.timezone, tuple(tables), unassigned)
