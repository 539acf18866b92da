"""Response models: the published shape of what the API answers.

Services render plain dicts; these models only describe (and, at the boundary,
check) them, so the OpenAPI document is a contract schemathesis can test.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GuestOut(BaseModel):
    name: str
    phone: str | None = None
    email: str | None = None


class BookingOut(BaseModel):
    id: str
    status: str = Field(description="pending | confirmed | seated | completed | cancelled | no_show")
    party_size: int
    start: str = Field(description="the guest's start, ISO 8601 with the restaurant's offset")
    end: str = Field(description="when the tables are free again (block end)")
    tables: list[str] = Field(description="table labels; empty for an unassigned booking")
    guest: GuestOut
    notes: str | None = None
    service: str
    channel: str | None = None
    allow_slack: bool
    created_at: str
    overbooked: bool = Field(default=False, description="a shadow booking enforcement would have refused")
    would_refuse: str | None = Field(default=None, description="the code enforcement would have answered")
    external_ref: str | None = Field(default=None, description="the reference of an imported booking")
    pinned: bool = Field(
        default=False,
        description="kept on its tables: re-seating and optimize never move it (staff assignment and"
        " requests naming tables pin)",
    )


class HoldOut(BaseModel):
    id: str
    party_size: int
    start: str
    end: str
    tables: list[str]
    expires_at: str


class BlockOut(BaseModel):
    id: str
    tables: list[str]
    start: str
    end: str
    reason: str


class ApiKeyOut(BaseModel):
    id: str
    role: str
    created_at: str
    revoked_at: str | None = None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the secret, shown in this answer only")


class ZoneOut(BaseModel):
    key: str
    name: str


class RestaurantOut(BaseModel):
    id: str
    slug: str
    name: str
    timezone: str
    slot_minutes: int
    venue_version: int
    policy_version: str
    zones: list[ZoneOut]
    tables: int
    created_at: str


class RestaurantCreated(RestaurantOut):
    api_keys: dict[str, str] = Field(description="role -> key, shown in this answer only")


class SlotOut(BaseModel):
    time: str = Field(description="local HH:MM")
    start: str = Field(description="ISO 8601 with the restaurant's offset")
    service: str
    available: bool


class CapacityOut(BaseModel):
    max_covers: int | None = Field(description="the slot's cover limit; null: unlimited")
    booked_covers: int
    utilization_percent: float


class AvailabilityOut(BaseModel):
    date: str
    party_size: int
    timezone: str
    slots: list[SlotOut]
    available: bool | None = Field(default=None, description="with `time` only")
    alternatives: list[str] | None = Field(default=None, description="with `time` only: nearest available times")
    capacity: CapacityOut | None = Field(default=None, description="with `time` only: that slot's pacing")


class TimelineAllocationOut(BaseModel):
    kind: str = Field(description="booking | hold | block")
    id: str
    start: str
    end: str


class TimelineTableOut(BaseModel):
    label: str
    zone: str
    seats: int
    allocations: list[TimelineAllocationOut]


class TimelineOut(BaseModel):
    date: str
    timezone: str
    tables: list[TimelineTableOut]
    unassigned: list[TimelineAllocationOut] = Field(
        default_factory=list, description="the lane of live bookings without tables, oldest claim first"
    )


class ImportedRowOut(BaseModel):
    row: int = Field(description="the row's position, from 1")
    outcome: str = Field(description="placed | planned | unassigned | invalid")
    external_ref: str | None = None
    booking_id: str | None = None
    tables: list[str] = Field(default_factory=list)
    reason: str | None = Field(default=None, description="unassigned: why")
    problem: str | None = Field(default=None, description="invalid: what is wrong (nothing was stored)")
    replayed: bool = Field(default=False, description="imported before (same external_ref): nothing written")


class ImportResultOut(BaseModel):
    rows: list[ImportedRowOut]
    counts: dict[str, int] = Field(description="rows per outcome, and how many were replayed")


class TableMoveOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    booking_id: str
    from_: list[str] = Field(alias="from", description="table labels before the move")
    to: list[str] = Field(description="table labels after the move")


class SeatingFiguresOut(BaseModel):
    bookings: int = Field(description="the service's bookings on tables")
    tables_used: int = Field(description="distinct tables they use over the service")
    free_tables: int = Field(description="active tables none of them uses")
    combinations: int = Field(description="bookings on more than one table")
    wasted_seats: int = Field(description="seats beyond their parties, summed")


class OptimizationOut(BaseModel):
    date: str = Field(description="the service date, YYYY-MM-DD")
    service: str
    moves: list[TableMoveOut] = Field(description="bookings whose tables change (times never do)")
    before: SeatingFiguresOut
    after: SeatingFiguresOut
    applied: bool = Field(description="true: the moves were committed (apply=true); false: a dry run")
    outcome: str = Field(description="optimal | feasible (the best found within the time budget)")
    solve_ms: float = Field(description="the solver's wall time")
