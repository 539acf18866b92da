"""A day in figures: covers per slot against pacing, utilisation, no-shows, cancellations.

Definitions (pure, so the dashboard and any report agree):
- A booking *counts* when its status is pending, confirmed, seated or completed
  (it took, or takes, its table and pacing). Cancelled and no-show bookings do not.
- Covers of a slot: the party sizes of counted bookings whose pacing slot it is,
  shown against the slot's service limits (`max_covers_per_slot`,
  `max_parties_per_slot`; None = no limit).
- Utilisation: seat-minutes of counted bookings (party size x minutes from the
  guest's start to the table's end, within the day's service windows) over
  seat-minutes offered (seats of active tables x minutes of the day's service
  windows), as a percentage rounded to one decimal; 0 when nothing is offered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from seatwise.core.model import Venue
from seatwise.core.timerules import day_slots, runs_on, service_day

COUNTED = frozenset({"pending", "confirmed", "seated", "completed"})


@dataclass(frozen=True, slots=True)
class BookingFacts:
    status: str
    party_size: int
    start: datetime
    end: datetime
    slot_start: datetime


@dataclass(frozen=True, slots=True)
class SlotLoad:
    time: str  # local HH:MM
    start: datetime
    service: str
    covers: int
    parties: int
    max_covers: int | None
    max_parties: int | None

    @property
    def full(self) -> bool:
        return (self.max_covers is not None and self.covers >= self.max_covers) or (
            self.max_parties is not None and self.parties >= self.max_parties
        )


@dataclass(frozen=True, slots=True)
class DaySummary:
    date: date
    slots: tuple[SlotLoad, ...]
    bookings: int  # counted bookings
    covers: int
    no_shows: int
    no_show_covers: int
    cancellations: int
    cancelled_covers: int
    seat_minutes_booked: int
    seat_minutes_offered: int

    @property
    def utilisation_percent(self) -> float:
        if self.seat_minutes_offered == 0:
            return 0.0
        return round(100 * self.seat_minutes_booked / self.seat_minutes_offered, 1)


def _minutes(lo: datetime, hi: datetime) -> int:
    return max(0, int((hi - lo).total_seconds() // 60))


def summarise_day(venue: Venue, day: date, bookings: Sequence[BookingFacts]) -> DaySummary:
    """The figures of `day` for the bookings of that service date (every status)."""
    counted = [b for b in bookings if b.status in COUNTED]
    covers_at: Counter[datetime] = Counter()
    parties_at: Counter[datetime] = Counter()
    for b in counted:
        covers_at[b.slot_start] += b.party_size
        parties_at[b.slot_start] += 1
    slots = []
    for slot in day_slots(venue, day):
        pacing = slot.service.pacing
        slots.append(
            SlotLoad(
                time=slot.time,
                start=slot.start,
                service=slot.service.name,
                covers=covers_at[slot.start],
                parties=parties_at[slot.start],
                max_covers=pacing.max_covers_per_slot if pacing else None,
                max_parties=pacing.max_parties_per_slot if pacing else None,
            )
        )
    windows = [
        (sd.start, sd.end)
        for sd in (service_day(venue, s, day) for s in venue.policy.services if runs_on(venue, s, day))
    ]
    seats = sum(t.seats for t in venue.tables if t.active)
    offered = seats * sum(_minutes(lo, hi) for lo, hi in windows)
    booked = sum(b.party_size * sum(_minutes(max(b.start, lo), min(b.end, hi)) for lo, hi in windows) for b in counted)
    gone = [b for b in bookings if b.status == "no_show"]
    cancelled = [b for b in bookings if b.status == "cancelled"]
    return DaySummary(
        date=day,
        slots=tuple(slots),
        bookings=len(counted),
        covers=sum(b.party_size for b in counted),
        no_shows=len(gone),
        no_show_covers=sum(b.party_size for b in gone),
        cancellations=len(cancelled),
        cancelled_covers=sum(b.party_size for b in cancelled),
        seat_minutes_booked=booked,
        seat_minutes_offered=offered,
    )
