"""Immutable snapshots the core works on: a venue and a day's ledger.

Nothing here does I/O. Instants are timezone-aware `datetime`s (UTC in ledgers);
local wall-clock values (`time`, `date`) are interpreted in `Venue.timezone`.
Intervals are half-open `[start, end)`: touching intervals do not overlap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from functools import cached_property

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()


class AdjacencyMode(StrEnum):
    CONNECTED = "connected"  # the tables form a connected subgraph
    PAIRWISE = "pairwise"  # every two tables are adjacent
    NEIGHBORS = "neighbors"  # one table is adjacent to all the others


def natural_key(label: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders T2 before T10 (digits compare as numbers)."""
    parts = re.split(r"(\d+)", label)
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower()) for p in parts if p != "")


class Reseating(StrEnum):
    AUTO = "auto"  # a party that finds no free plan may move unseated, unpinned bookings (core.seating)
    OFF = "off"  # refused as no room, as without re-seating


class Enforcement(StrEnum):
    ENFORCE = "enforce"  # refusals are refused
    SHADOW = "shadow"  # what enforcement would refuse is accepted, unassigned and flagged


@dataclass(frozen=True, slots=True)
class TurnBand:
    max_party: int
    minutes: int


@dataclass(frozen=True, slots=True)
class Pacing:
    """Limits on parties *starting* in one slot. None means no limit."""

    max_covers_per_slot: int | None = None
    max_parties_per_slot: int | None = None


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    days: frozenset[int]  # 0 = Monday, as date.weekday()
    start: time
    end: time  # at or before start: the service ends the next local day
    turns: tuple[TurnBand, ...]
    last_seating: time | None = None  # None: the service end
    allow_overrun: bool = False
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    pacing: Pacing | None = None

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True, slots=True)
class Policy:
    services: tuple[Service, ...]
    adjacency_mode: AdjacencyMode = AdjacencyMode.CONNECTED
    max_tables_per_combination: int = 3
    max_overage: int = 4
    hold_ttl_seconds: int = 180
    max_party_size: int = 20
    closures: frozenset[date] = frozenset()
    enforcement: Enforcement = Enforcement.ENFORCE
    reseating: Reseating = Reseating.AUTO
    reseating_budget_ms: int = 150  # the re-seating solve's time limit


PRIORITY = (0, 100)
"""Bounds of a zone's or table's `priority` (higher is filled first; default 0)."""


@dataclass(frozen=True, slots=True)
class Zone:
    key: str
    name: str
    priority: int = 0  # higher is filled first (after waste and table count)


class Shape(StrEnum):
    RECT = "rect"
    ROUND = "round"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a table stands on the floor plan (plan units, origin top left)."""

    x: int
    y: int
    width: int
    height: int
    shape: Shape = Shape.RECT


@dataclass(frozen=True, slots=True)
class Table:
    id: int  # database id; venues parsed from a document number tables 1..n
    label: str
    zone: str  # Zone.key
    seats: int
    min_party: int = 1
    max_party: int = 0  # 0 in a constructor call means "= seats"; Venue normalises
    movable: bool = True
    active: bool = True
    position: Position | None = None  # None: the floor plan lays it out automatically
    priority: int | None = None  # None: the zone's priority

    def __post_init__(self) -> None:
        if self.max_party == 0:
            object.__setattr__(self, "max_party", self.seats)


@dataclass(frozen=True)
class Venue:
    """A restaurant's published venue at one venue version."""

    name: str
    slug: str
    timezone: str
    policy: Policy
    zones: tuple[Zone, ...]
    tables: tuple[Table, ...]
    adjacency: frozenset[frozenset[int]]  # undirected edges as pairs of table ids
    slot_minutes: int = 15
    restaurant_id: str = ""
    version: int = 0

    @cached_property
    def table_by_id(self) -> Mapping[int, Table]:
        return {t.id: t for t in self.tables}

    @cached_property
    def table_by_label(self) -> Mapping[str, Table]:
        return {t.label: t for t in self.tables}

    @cached_property
    def priority_of(self) -> Mapping[int, int]:
        """Each table's priority: its own, else its zone's (higher is filled first)."""
        zone = {z.key: z.priority for z in self.zones}
        return {t.id: t.priority if t.priority is not None else zone.get(t.zone, 0) for t in self.tables}

    @cached_property
    def neighbours(self) -> Mapping[int, frozenset[int]]:
        out: dict[int, set[int]] = {t.id: set() for t in self.tables}
        for edge in self.adjacency:
            a, b = tuple(edge)
            out[a].add(b)
            out[b].add(a)
        return {k: frozenset(v) for k, v in out.items()}

    @cached_property
    def memo(self) -> dict[str, object]:
        """Per-instance cache for data derived purely from this venue.

        Safe because a Venue never changes: the planner keeps its bitset index and
        timerules its slot grids here (keyed by module), so they are built once per
        venue version and dropped with the venue. Not part of equality or hashing.
        """
        return {}


@dataclass(frozen=True, slots=True)
class Busy:
    """One ledger row occupying a table over `[start, end)`."""

    start: datetime
    end: datetime
    kind: str  # "booking" | "hold" | "block"
    ref: str  # id of the booking, hold or block
    expires_at: datetime | None = None  # holds only: occupies nothing from this instant

    def live(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


@dataclass(frozen=True, slots=True)
class PacingUsage:
    covers: int = 0
    parties: int = 0


@dataclass(frozen=True, slots=True)
class Claim:
    """An unassigned occupying booking: no table, but a claim on one over its block.

    Claims are placed before anyone else, oldest first (`core.claims`).
    """

    booking_id: str
    party_size: int
    start: datetime  # block start
    end: datetime  # block end
    created_at: datetime


@dataclass(frozen=True)
class DayLedger:
    """What occupies a restaurant around one local day.

    `busy` maps table id to its ledger rows (any order); `pacing` maps a slot's start
    instant to the covers and parties already starting in it; `claims` are the
    unassigned bookings whose block overlaps the span read (they occupy nothing until
    :func:`seatwise.core.claims.with_claims` places them).
    """

    busy: Mapping[int, tuple[Busy, ...]] = field(default_factory=dict)
    pacing: Mapping[datetime, PacingUsage] = field(default_factory=dict)
    claims: tuple[Claim, ...] = ()


EMPTY_LEDGER = DayLedger()
