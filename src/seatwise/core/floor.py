"""The floor plan: where each table stands, and what occupies it at an instant.

Tables with a position in the venue document keep it. The others are laid out per
zone in a tidy grid: zones one below another (in document order), below every
placed table, each zone's unplaced tables in natural label order, `COLUMNS` to a
row, sized by seats. Pure: the same venue always gives the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from seatwise.core.model import Busy, DayLedger, Position, Shape, Table, Venue, natural_key

COLUMNS = 6
CELL_WIDTH = 110
CELL_HEIGHT = 100
MARGIN = 20
ZONE_GAP = 40  # room for the zone's heading above its grid


@dataclass(frozen=True, slots=True)
class Placement:
    label: str
    zone: str
    seats: int
    position: Position
    automatic: bool  # laid out here, not placed in the venue document


def _auto_size(table: Table) -> tuple[int, int, Shape]:
    if table.seats <= 2:
        return 50, 50, Shape.ROUND
    width = min(CELL_WIDTH - MARGIN, 40 + 8 * table.seats)
    return width, 60, Shape.RECT


@dataclass(frozen=True, slots=True)
class Heading:
    """A zone's name above its automatic grid."""

    zone: str
    name: str
    x: int
    y: int


def _layout(venue: Venue) -> tuple[list[Placement], list[Heading]]:
    placed = [t for t in venue.tables if t.position is not None]
    out = [Placement(t.label, t.zone, t.seats, t.position, False) for t in placed if t.position is not None]
    headings = []
    top = max((p.position.y + p.position.height for p in out), default=0) + (MARGIN if out else 0)
    for zone in venue.zones:
        pending = sorted(
            (t for t in venue.tables if t.position is None and t.zone == zone.key), key=lambda t: natural_key(t.label)
        )
        if not pending:
            continue
        headings.append(Heading(zone.key, zone.name, MARGIN, top + ZONE_GAP - 12))
        top += ZONE_GAP
        for i, table in enumerate(pending):
            row, col = divmod(i, COLUMNS)
            width, height, shape = _auto_size(table)
            x = MARGIN + col * CELL_WIDTH + (CELL_WIDTH - MARGIN - width) // 2
            y = top + row * CELL_HEIGHT + (CELL_HEIGHT - MARGIN - height) // 2
            out.append(Placement(table.label, table.zone, table.seats, Position(x, y, width, height, shape), True))
        rows = -(-len(pending) // COLUMNS)
        top += rows * CELL_HEIGHT
    return out, headings


def floor_layout(venue: Venue) -> tuple[Placement, ...]:
    """Every table's placement: its own position, else the automatic grid."""
    placements, _ = _layout(venue)
    return tuple(sorted(placements, key=lambda p: natural_key(p.label)))


def zone_headings(venue: Venue) -> tuple[Heading, ...]:
    """Where the automatic layout writes each zone's name (zones with no unplaced
    table have none: their tables stand where the document put them)."""
    _, headings = _layout(venue)
    return tuple(headings)


@dataclass(frozen=True, slots=True)
class TableState:
    label: str
    state: str  # free | booked | seated | held | blocked
    ref: str | None  # the booking, hold or block occupying it


STATE_OF_STATUS = {"pending": "booked", "confirmed": "booked", "seated": "seated"}


def _state_of(busy: Busy, status_of: Mapping[str, str]) -> str:
    if busy.kind == "booking":
        return STATE_OF_STATUS.get(status_of.get(busy.ref, "confirmed"), "booked")
    return "held" if busy.kind == "hold" else "blocked"


def states_at(
    venue: Venue, ledger: DayLedger, status_of: Mapping[str, str], at: datetime, now: datetime
) -> dict[str, TableState]:
    """What occupies each table at instant `at`, as the ledger stands at `now` (a
    hold expired by `now` occupies nothing). `status_of` maps booking ids to their
    status (seated shows apart from booked); an inactive table shows as blocked."""
    out = {}
    for table in venue.tables:
        current = [b for b in ledger.busy.get(table.id, ()) if b.start <= at < b.end and b.live(now)]
        if not table.active:
            out[table.label] = TableState(table.label, "blocked", None)
        elif current:
            first = min(current, key=lambda b: (b.start, b.ref))
            out[table.label] = TableState(table.label, _state_of(first, status_of), first.ref)
        else:
            out[table.label] = TableState(table.label, "free", None)
    return out


def adjacency_lines(venue: Venue) -> tuple[tuple[str, str], ...]:
    """The adjacency edges as label pairs, in natural order."""
    pairs = []
    for edge in venue.adjacency:
        a, b = sorted((venue.table_by_id[i].label for i in edge), key=natural_key)
        pairs.append((a, b))
    return tuple(sorted(pairs, key=lambda p: (natural_key(p[0]), natural_key(p[1]))))
