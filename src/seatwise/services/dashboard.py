"""Read use cases of the ops dashboard: the day board (timeline), the floor plan at
an instant and the day summary. One tenant transaction each, a constant number of
queries (restaurant row, bookings of the date, the day's ledger).

Results are frozen dataclasses with instants in the restaurant's zone; the shell
only renders them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from seatwise.core.day_summary import BookingFacts, DaySummary, summarise_day
from seatwise.core.floor import Heading, Placement, TableState, adjacency_lines, floor_layout, states_at, zone_headings
from seatwise.core.model import DayLedger, Venue, natural_key
from seatwise.core.timerules import (
    day_span,
    in_gap,
    local_instant,
    parse_local_date,
    parse_local_time,
    runs_on,
    service_day,
    venue_zone,
)
from seatwise.services.common import utcnow
from seatwise.services.snapshot import venue_snapshot
from seatwise.store import bookings as repo
from seatwise.store import ledger
from seatwise.store.db import Database

# Bookings drawn on the timeline: they hold (or held, for completed) their tables.
ON_TABLES = frozenset({"pending", "confirmed", "seated", "completed"})
DEFAULT_OPENING = (time(12, 0), time(23, 0))  # the axis of a day without services


def local_day(venue: Venue, day_text: str | None, now: datetime) -> date:
    """The requested local date, or today in the restaurant's zone."""
    if day_text:
        return parse_local_date(day_text)
    return now.astimezone(venue_zone(venue)).date()


@dataclass(frozen=True, slots=True)
class Bar:
    kind: str  # booking | hold | block
    id: str
    start: datetime  # local
    end: datetime  # local: when the table is free again
    status: str  # the booking's status; "held" or "blocked" for the others
    guest: str
    party_size: int
    tables: tuple[str, ...]
    expires_at: datetime | None = None  # holds


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    seats: int
    active: bool
    bars: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class ZoneRows:
    key: str
    name: str
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class DayBoard:
    date: date
    timezone: str
    now: datetime  # local
    axis_start: datetime  # local: the earliest service start (or noon)
    axis_end: datetime  # local: the latest service end (or 23:00)
    zones: tuple[ZoneRows, ...]
    bookings: tuple[Bar, ...]  # every booking of the date, every status, by start
    unassigned: tuple[Bar, ...]  # live bookings without tables
    labels: tuple[str, ...]  # every table label, natural order


def _booking_bar(venue: Venue, row: dict[str, Any]) -> Bar:
    zone = venue_zone(venue)
    return Bar(
        kind="booking",
        id=row["id"],
        start=row["start_at"].astimezone(zone),
        end=row["end_at"].astimezone(zone),
        status=row["status"],
        guest=row["guest_name"],
        party_size=row["party_size"],
        tables=tuple(row["labels"]),
    )


def _axis(venue: Venue, day: date) -> tuple[datetime, datetime]:
    zone = venue_zone(venue)
    days = [service_day(venue, s, day) for s in venue.policy.services if runs_on(venue, s, day)]
    if not days:
        lo, hi = DEFAULT_OPENING
        return datetime.combine(day, lo, zone), datetime.combine(day, hi, zone)
    return min(d.start for d in days).astimezone(zone), max(d.end for d in days).astimezone(zone)


def _load(
    db: Database, rid: str, day_text: str | None
) -> tuple[Venue, date, datetime, list[dict[str, Any]], DayLedger]:
    now = utcnow()
    with db.tenant(rid) as conn:
        venue = venue_snapshot(conn, rid)
        day = local_day(venue, day_text, now)
        rows = repo.bookings_on(conn, rid, day)
        day_ledger = ledger.load_ledger(conn, rid, *day_span(venue, day), now)
    return venue, day, now, rows, day_ledger


def _ledger_bars(venue: Venue, day_ledger: DayLedger, table_id: int, now: datetime) -> list[Bar]:
    zone = venue_zone(venue)
    out = []
    for b in day_ledger.busy.get(table_id, ()):
        if b.kind == "booking" or not b.live(now):
            continue
        out.append(
            Bar(
                kind=b.kind,
                id=b.ref,
                start=b.start.astimezone(zone),
                end=b.end.astimezone(zone),
                status="held" if b.kind == "hold" else "blocked",
                guest="",
                party_size=0,
                tables=(venue.table_by_id[table_id].label,),
                expires_at=b.expires_at.astimezone(zone) if b.expires_at else None,
            )
        )
    return out


def day_board(db: Database, rid: str, day_text: str | None) -> DayBoard:
    """Per table, grouped by zone: the bookings of the date on it, and the live holds
    and blocks of the ledger around it; plus every booking of the date."""
    venue, day, now, rows, day_ledger = _load(db, rid, day_text)
    zone = venue_zone(venue)
    bars = [_booking_bar(venue, r) for r in rows]
    on_table: dict[str, list[Bar]] = {t.label: [] for t in venue.tables}
    for bar in bars:
        if bar.status in ON_TABLES:
            for label in bar.tables:
                on_table.setdefault(label, []).append(bar)
    for table in venue.tables:
        on_table[table.label].extend(_ledger_bars(venue, day_ledger, table.id, now))
    zones = []
    for z in venue.zones:
        tables = sorted((t for t in venue.tables if t.zone == z.key), key=lambda t: natural_key(t.label))
        zone_rows = tuple(
            Row(t.label, t.seats, t.active, tuple(sorted(on_table[t.label], key=lambda b: (b.start, b.id))))
            for t in tables
        )
        if zone_rows:
            zones.append(ZoneRows(z.key, z.name, zone_rows))
    lo, hi = _axis(venue, day)
    return DayBoard(
        date=day,
        timezone=venue.timezone,
        now=now.astimezone(zone),
        axis_start=lo,
        axis_end=hi,
        zones=tuple(zones),
        bookings=tuple(bars),
        unassigned=tuple(b for b in bars if not b.tables and b.status in ("pending", "confirmed", "seated")),
        labels=tuple(sorted((t.label for t in venue.tables), key=natural_key)),
    )


# --- floor plan ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FloorTable:
    placement: Placement
    state: TableState
    guest: str  # the occupying booking's guest, if any
    party_size: int


@dataclass(frozen=True, slots=True)
class FloorPlan:
    date: date
    at: datetime  # local
    tables: tuple[FloorTable, ...]
    lines: tuple[tuple[str, str], ...]  # adjacency, as label pairs
    zones: tuple[tuple[str, str], ...]  # (key, name)
    headings: tuple[Heading, ...]  # zone names above the automatic layout
    width: int
    height: int


def _instant(venue: Venue, day: date, time_text: str | None, now: datetime) -> datetime:
    zone = venue_zone(venue)
    if time_text:
        naive = datetime.combine(day, parse_local_time(time_text))
        if in_gap(naive, zone):
            naive += timedelta(hours=1)  # a wall time the clocks skip: the first one after
        return local_instant(naive, zone)
    if now.astimezone(zone).date() == day:
        return now
    lo, _ = _axis(venue, day)
    return lo.astimezone(now.tzinfo)


def floor_plan(db: Database, rid: str, day_text: str | None, time_text: str | None) -> FloorPlan:
    """Every table at its position (or the automatic layout), with what occupies it
    at the chosen local time (default: now today, else the first service start)."""
    venue, day, now, rows, day_ledger = _load(db, rid, day_text)
    at = _instant(venue, day, time_text, now)
    status_of = {r["id"]: r["status"] for r in rows}
    by_id = {r["id"]: r for r in rows}
    states = states_at(venue, day_ledger, status_of, at, now)
    tables = []
    for p in floor_layout(venue):
        state = states[p.label]
        booking = by_id.get(state.ref or "")
        tables.append(
            FloorTable(p, state, booking["guest_name"] if booking else "", booking["party_size"] if booking else 0)
        )
    width = max((t.placement.position.x + t.placement.position.width for t in tables), default=0) + 40
    height = max((t.placement.position.y + t.placement.position.height for t in tables), default=0) + 40
    return FloorPlan(
        date=day,
        at=at.astimezone(venue_zone(venue)),
        tables=tuple(tables),
        lines=adjacency_lines(venue),
        zones=tuple((z.key, z.name) for z in venue.zones),
        headings=zone_headings(venue),
        width=width,
        height=height,
    )


# --- day summary ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    figures: DaySummary
    timezone: str


def _facts(rows: Sequence[dict[str, Any]]) -> list[BookingFacts]:
    return [BookingFacts(r["status"], r["party_size"], r["start_at"], r["end_at"], r["slot_start"]) for r in rows]


def day_summary(db: Database, rid: str, day_text: str | None) -> Summary:
    """Covers per slot against pacing, utilisation, no-shows and cancellations of a
    local date (see core.day_summary for the definitions)."""
    now = utcnow()
    with db.tenant(rid) as conn:
        venue = venue_snapshot(conn, rid)
        day = local_day(venue, day_text, now)
        rows = repo.bookings_on(conn, rid, day)
    return Summary(summarise_day(venue, day, _facts(rows)), venue.timezone)
