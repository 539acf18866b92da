"""The venue document's published schema (OpenAPI component `VenueDocument`).

It describes the document; it does not validate it. Validation is
`core.venue_doc.parse_venue_document`, which lists every problem with its path
(422 INVALID_VENUE), so request bodies reach it as plain JSON.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _absent(value: object) -> bool:
    return value is None


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TurnBand(_Doc):
    max_party: int = Field(ge=1)
    minutes: int = Field(ge=1)


class PacingLimits(_Doc):
    max_covers_per_slot: int | None = Field(default=None, ge=0)
    max_parties_per_slot: int | None = Field(default=None, ge=0)


class ServiceDoc(_Doc):
    name: str
    days: list[Weekday]
    start: str = Field(description="local HH:MM")
    end: str = Field(description="local HH:MM; at or before start: the next day")
    last_seating: str | None = None
    allow_overrun: bool = False
    buffer_before_minutes: int = Field(default=0, ge=0)
    buffer_after_minutes: int = Field(default=0, ge=0)
    turns: list[TurnBand]
    pacing: PacingLimits | None = None


class PolicyDoc(_Doc):
    adjacency_mode: Literal["connected", "pairwise", "neighbors"] = "connected"
    max_tables_per_combination: int = Field(default=3, ge=1, le=5)
    max_overage: int = Field(default=4, ge=0)
    hold_ttl_seconds: int = Field(default=180, ge=1, le=3600)
    max_party_size: int = Field(default=20, ge=1)
    services: list[ServiceDoc]
    closures: list[str] = Field(default_factory=list, description="local dates YYYY-MM-DD")
    enforcement: Literal["enforce", "shadow"] = Field(
        default="enforce",
        description="shadow: what enforcement would refuse is accepted as an unassigned, overbooked booking",
    )
    reseating: Literal["auto", "off"] = Field(
        default="auto",
        description="auto: a party that finds no free plan may move unseated, unpinned bookings of its service",
    )
    reseating_budget_ms: int = Field(default=150, ge=10, le=2000, description="the re-seating solve's time limit")


class ZoneDoc(_Doc):
    key: str
    name: str
    priority: int = Field(
        default=0,
        ge=0,
        le=100,
        description="higher is filled first, after wasted seats and table count; default 0",
        exclude_if=lambda v: v == 0,
    )


class TableDoc(_Doc):
    label: str
    zone: str = Field(description="a zone key")
    seats: int = Field(ge=1)
    min_party: int = Field(default=1, ge=1)
    max_party: int | None = Field(default=None, ge=1, description="default: seats")
    movable: bool = True
    active: bool = True
    priority: int | None = Field(
        default=None, ge=0, le=100, description="default: the zone's priority", exclude_if=_absent
    )
    # Floor-plan position: absent (not null) when the table has none, as in the
    # canonical document; the dashboard then lays the table out automatically.
    x: int | None = Field(default=None, ge=0, description="floor plan position, with y", exclude_if=_absent)
    y: int | None = Field(default=None, ge=0, exclude_if=_absent)
    width: int | None = Field(default=None, ge=1, description="default 60", exclude_if=_absent)
    height: int | None = Field(default=None, ge=1, description="default 60", exclude_if=_absent)
    shape: Literal["rect", "round"] | None = Field(default=None, description="default rect", exclude_if=_absent)


class VenueDocument(_Doc):
    """A restaurant's whole venue: tables, zones, adjacency and policy."""

    name: str
    slug: str
    timezone: str = Field(description="an IANA time zone name")
    slot_minutes: int = Field(default=15, ge=1)
    policy: PolicyDoc
    zones: list[ZoneDoc]
    tables: list[TableDoc]
    adjacency: list[list[str]] = Field(default_factory=list, description="pairs of table labels")
