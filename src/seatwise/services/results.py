"""What the use cases return: typed, immutable results.

Every shell renders these: the API to JSON (:func:`to_json`, the one JSON shape,
also the `data` of outbox events and webhooks), the dashboard and the guest page
to HTML. Instants are in the restaurant's zone (so they carry its local offset);
tables are named by label, in natural order.
"""

from __future__ import annotations

import dataclasses
import keyword
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, ClassVar

from seatwise.core.model import Venue, natural_key
from seatwise.core.timerules import venue_zone


@dataclass(frozen=True, slots=True)
class Guest:
    name: str
    phone: str | None = None
    email: str | None = None


def guest_texts(guest: Guest, notes: str | None) -> list[tuple[str, str | None, bool, bool]]:
    """A guest's contact and the notes, as `core.text.check_texts` takes them."""
    return [
        ("guest.name", guest.name, False, True),
        ("guest.phone", guest.phone, False, False),
        ("guest.email", guest.email, False, False),
        ("notes", notes, True, False),
    ]


@dataclass(frozen=True, slots=True)
class Booking:
    """A booking. `tables` is empty for an unassigned one; `overbooked` and
    `would_refuse` mark a shadow booking (DESIGN §12); `external_ref` an imported one."""

    id: str
    status: str
    party_size: int
    start: datetime  # the guest's start
    end: datetime  # when the tables are free again (block end)
    tables: tuple[str, ...]
    guest: Guest
    notes: str | None
    service: str
    channel: str | None
    allow_slack: bool
    created_at: datetime
    overbooked: bool = False
    would_refuse: str | None = None  # the refusal enforcement would have given
    external_ref: str | None = None
    pinned: bool = False  # kept on its tables: re-seating and optimize never move it


@dataclass(frozen=True, slots=True)
class Hold:
    id: str
    party_size: int
    start: datetime
    end: datetime
    tables: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Slot:
    time: str  # local HH:MM
    start: datetime
    service: str
    available: bool


@dataclass(frozen=True, slots=True)
class Capacity:
    max_covers: int | None  # None: no cover limit
    booked_covers: int
    utilization_percent: float


@dataclass(frozen=True, slots=True)
class Availability:
    """A day's slots; with a requested time also `available`, `alternatives` (nearest
    first) and that slot's `capacity` (absent from the JSON without a time)."""

    OMIT_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"available", "alternatives", "capacity"})

    date: date
    party_size: int
    timezone: str
    slots: tuple[Slot, ...]
    available: bool | None = None
    alternatives: tuple[str, ...] | None = None
    capacity: Capacity | None = None


@dataclass(frozen=True, slots=True)
class TimelineAllocation:
    kind: str  # booking | hold | block
    id: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class TimelineTable:
    label: str
    zone: str
    seats: int
    allocations: tuple[TimelineAllocation, ...]


@dataclass(frozen=True, slots=True)
class Timeline:
    """Per table, what occupies it; `unassigned` is the lane of the live bookings that
    have no table (their blocks, oldest claim first)."""

    date: date
    timezone: str
    tables: tuple[TimelineTable, ...]
    unassigned: tuple[TimelineAllocation, ...] = ()


@dataclass(frozen=True, slots=True)
class Block:
    id: str
    tables: tuple[str, ...]
    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class ZoneInfo:
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class Restaurant:
    id: str
    slug: str
    name: str
    timezone: str
    slot_minutes: int
    venue_version: int
    policy_version: str
    zones: tuple[ZoneInfo, ...]
    tables: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CreatedRestaurant(Restaurant):
    api_keys: dict[str, str]  # role -> secret, shown in this result only


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    role: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class CreatedApiKey(ApiKey):
    key: str  # the secret, shown in this result only


@dataclass(frozen=True, slots=True)
class ImportedRow:
    """What an import did with one row (`row` counts from 1, in file order).

    `outcome`: placed (on its own tables), planned (by the planner), unassigned (kept
    without tables; `reason` says why), invalid (not stored; `problem` says why). A row
    whose `external_ref` was imported before is `replayed`: the earlier booking and
    outcome are answered and nothing is written.
    """

    row: int
    outcome: str
    external_ref: str | None
    booking_id: str | None = None
    tables: tuple[str, ...] = ()
    reason: str | None = None
    problem: str | None = None
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class ImportResult:
    rows: tuple[ImportedRow, ...]
    counts: dict[str, int]  # outcome -> rows, and "replayed"


# --- building results from rows -------------------------------------------------------


def labels_of(venue: Venue, table_ids: Any) -> tuple[str, ...]:
    """Labels of table ids in table order, as bookings and holds list them (ids of
    tables since removed are skipped)."""
    return tuple(venue.table_by_id[t].label for t in sorted(table_ids) if t in venue.table_by_id)


def booking_of(venue: Venue, row: dict[str, Any]) -> Booking:
    """A booking row as read by `store.bookings` (labels in table-id order)."""
    zone = venue_zone(venue)
    return Booking(
        id=row["id"],
        status=row["status"],
        party_size=row["party_size"],
        start=row["start_at"].astimezone(zone),
        end=row["end_at"].astimezone(zone),
        tables=tuple(row["labels"]),
        guest=Guest(row["guest_name"], row["guest_phone"], row["guest_email"]),
        notes=row["notes"],
        service=row["service_name"],
        channel=row["channel"],
        allow_slack=row["allow_slack"],
        created_at=row["created_at"].astimezone(zone),
        overbooked=row.get("overbooked", False),
        would_refuse=row.get("would_refuse"),
        external_ref=row.get("external_ref"),
        pinned=row.get("pinned", False),
    )


def hold_of(venue: Venue, row: dict[str, Any]) -> Hold:
    zone = venue_zone(venue)
    return Hold(
        id=row["id"],
        party_size=row["party_size"],
        start=row["start_at"].astimezone(zone),
        end=row["end_at"].astimezone(zone),
        tables=labels_of(venue, row["table_ids"]),
        expires_at=row["expires_at"].astimezone(zone),
    )


def block_of(venue: Venue, row: dict[str, Any]) -> Block:
    zone = venue_zone(venue)
    labels = (venue.table_by_id[t].label for t in row["table_ids"] if t in venue.table_by_id)
    return Block(
        id=row["id"],
        tables=tuple(sorted(labels, key=natural_key)),
        start=row["start_at"].astimezone(zone),
        end=row["end_at"].astimezone(zone),
        reason=row["reason"],
    )


@dataclass(frozen=True, slots=True)
class TableMove:
    """One booking's tables before and after a move (labels, natural order)."""

    booking_id: str
    from_: tuple[str, ...]  # "from" in JSON
    to: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeatingFigures:
    """How a service sits on the floor (core.seating.Figures): bookings on tables,
    distinct tables they use, active tables none uses, bookings on combinations,
    seats beyond their parties."""

    bookings: int
    tables_used: int
    free_tables: int
    combinations: int
    wasted_seats: int


@dataclass(frozen=True, slots=True)
class Optimization:
    """The optimizer's answer (DESIGN §13): the moves, the service's figures before and
    after them, whether they were committed, and how the solve ended (`optimal`
    or the best `feasible` within its budget)."""

    date: date
    service: str
    moves: tuple[TableMove, ...]
    before: SeatingFigures
    after: SeatingFigures
    applied: bool
    outcome: str
    solve_ms: float


# --- JSON -----------------------------------------------------------------------------


def _json_name(field_name: str) -> str:
    """A field named after a keyword with a trailing underscore (`from_`) is the
    keyword in JSON (`from`)."""
    bare = field_name[:-1]
    return bare if field_name.endswith("_") and keyword.iskeyword(bare) else field_name


@cache
def _members(cls: type) -> tuple[tuple[str, str, bool], ...]:
    """A result class's fields: attribute, JSON name, and whether it is left out when None."""
    omit: frozenset[str] = getattr(cls, "OMIT_WHEN_NONE", frozenset())
    return tuple((f.name, _json_name(f.name), f.name in omit) for f in dataclasses.fields(cls))


def to_json(value: Any) -> Any:
    """The JSON form of a result: field names as members, instants and dates in ISO
    8601 (instants with their offset), tuples as arrays. Fields a result lists in
    `OMIT_WHEN_NONE` are left out when None."""
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for name, shown, omit in _members(type(value)):
            item = getattr(value, name)
            if item is None and omit:
                continue
            out[shown] = to_json(item)
        return out
    return value
