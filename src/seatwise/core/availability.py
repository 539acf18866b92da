"""Availability (DESIGN §5): which slots of a day can take a party.

A slot is available when pacing for that slot allows the party and a table plan
exists for the slot's whole booking window on the ledger (a window that raises
ServiceOverrun is unavailable). One evaluation reads the ledger once: live rows are
turned into per-slot busy bitmasks by one sweep per service, singles are a single
mask test, and combination searches stop at the first plan and are memoised per
busy mask.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from seatwise.core.errors import OutsideServiceHours, ServiceOverrun, ValidationFailed
from seatwise.core.model import DayLedger, PacingUsage, Service, Venue
from seatwise.core.occupancy import busy_masks, live_rows
from seatwise.core.pacing import CapacitySummary, capacity_summary, pacing_allows
from seatwise.core.planner import plan_exists_on
from seatwise.core.timerules import (
    Slot,
    booking_window,
    day_slots,
    in_gap,
    local_instant,
    parse_local_time,
    service_at,
    service_day,
    venue_zone,
    window_in_service,
)
from seatwise.core.venue_index import venue_index

_NO_USAGE = PacingUsage()


@dataclass(frozen=True, slots=True)
class SlotAvailability:
    slot: Slot
    available: bool

    @property
    def time(self) -> str:
        return self.slot.time

    @property
    def start(self) -> datetime:
        return self.slot.start

    @property
    def service(self) -> str:
        return self.slot.service.name


@dataclass(frozen=True, slots=True)
class AtTime:
    """Answer for one requested local time.

    `slot` is the requested slot (None when the time is not a slot of that date);
    `alternatives` are up to 4 other available slot labels, nearest first (ties:
    earlier first); `capacity` is the pacing usage of the requested slot; `slots` is
    the whole day, as :func:`day_availability` would return it.
    """

    available: bool
    alternatives: tuple[str, ...]
    capacity: CapacitySummary
    slot: Slot | None
    slots: tuple[SlotAvailability, ...]


def check_party(venue: Venue, party: int) -> None:
    """A party outside ``1..max_party_size`` can never be served: ValidationFailed."""
    limit = venue.policy.max_party_size
    if not 1 <= party <= limit:
        raise ValidationFailed(f"party size must be between 1 and {limit}, got {party}")


def _evaluate(
    venue: Venue, ledger: DayLedger, slots: tuple[Slot, ...], party: int, now: datetime
) -> tuple[SlotAvailability, ...]:
    index = venue_index(venue)
    rows = live_rows(index, ledger, now)
    groups: dict[tuple[int, date], tuple[Service, list[int]]] = {}
    for pos, slot in enumerate(slots):
        key = (id(slot.service), slot.service_date)
        groups.setdefault(key, (slot.service, []))[1].append(pos)
    available = [False] * len(slots)
    exists: dict[int, bool] = {}
    for (_, on), (service, members) in groups.items():
        sd = service_day(venue, service, on)
        todo: list[int] = []
        windows: list[tuple[datetime, datetime]] = []
        for pos in members:
            slot = slots[pos]
            if not pacing_allows(service.pacing, ledger.pacing.get(slot.start, _NO_USAGE), party):
                continue
            try:
                window = window_in_service(sd, party, slot.start, slot.start)
            except ServiceOverrun:
                continue
            todo.append(pos)
            windows.append((window.block_start, window.block_end))
        for pos, busy in zip(todo, busy_masks(rows, windows), strict=True):
            found = exists.get(busy)
            if found is None:
                found = exists[busy] = plan_exists_on(venue, party, busy)
            available[pos] = found
    return tuple(SlotAvailability(s, a) for s, a in zip(slots, available, strict=True))


def day_availability(
    venue: Venue, ledger: DayLedger, local_date: date, party: int, now: datetime
) -> tuple[SlotAvailability, ...]:
    """Every slot of `local_date` (see timerules.day_slots) with its availability."""
    check_party(venue, party)
    return _evaluate(venue, ledger, day_slots(venue, local_date), party, now)


def _nearest(evaluated: tuple[SlotAvailability, ...], target: datetime, n: int, *, skip_label: str | None) -> list[str]:
    ranked = sorted(
        (sa for sa in evaluated if sa.available and sa.slot.time != skip_label and sa.slot.start != target),
        key=lambda sa: (abs(sa.slot.start - target), sa.slot.start),
    )
    out: list[str] = []
    for sa in ranked:
        if sa.slot.time not in out:
            out.append(sa.slot.time)
            if len(out) == n:
                break
    return out


def availability_at(
    venue: Venue,
    ledger: DayLedger,
    local_date: date,
    party: int,
    time_label: str,
    now: datetime,
) -> AtTime:
    """Availability of one local time on `local_date`, with alternatives.

    A time that is not a slot of that date answers what a booking at that time would
    get (issue 9: 19:07 said unavailable and then booked); a time that does not
    exist that day (DST gap) raises ValidationFailed. After-
    midnight labels of a service crossing midnight are found under the date it
    started, as slots are listed.
    """
    check_party(venue, party)
    wall_time = parse_local_time(time_label)
    evaluated = _evaluate(venue, ledger, day_slots(venue, local_date), party, now)
    matches = [sa for sa in evaluated if sa.slot.time == time_label]
    if matches:
        chosen = next((sa for sa in matches if sa.available), matches[0])
        slot = chosen.slot
        usage = ledger.pacing.get(slot.start, _NO_USAGE)
        return AtTime(
            chosen.available,
            tuple(_nearest(evaluated, slot.start, 4, skip_label=time_label)),
            capacity_summary(slot.service.pacing, usage),
            slot,
            evaluated,
        )
    tz = venue_zone(venue)
    wall = datetime.combine(local_date, wall_time)
    if in_gap(wall, tz):
        raise ValidationFailed(f"{local_date} {time_label} does not exist in {venue.timezone}")
    candidates = [local_instant(wall, tz)]
    if not in_gap(wall + timedelta(days=1), tz):
        candidates.append(local_instant(wall + timedelta(days=1), tz))
    # The label may mean the next morning (after midnight); take the reading nearest the slots.
    target = min(
        candidates,
        key=lambda c: min((abs(sa.slot.start - c) for sa in evaluated), default=timedelta(0)),
    )
    available, capacity = _booking_at(venue, ledger, local_date, party, target, now)
    return AtTime(
        available,
        tuple(_nearest(evaluated, target, 4, skip_label=time_label)),
        capacity,
        None,
        evaluated,
    )


def _booking_at(
    venue: Venue, ledger: DayLedger, local_date: date, party: int, start: datetime, now: datetime
) -> tuple[bool, CapacitySummary]:
    """What a booking starting at `start` (on or off the slot grid) would get: its
    service on `local_date`, its pacing slot's allowance and a free plan for its
    block. With that slot's pacing usage."""
    try:
        window = booking_window(venue, party, start)
    except (OutsideServiceHours, ServiceOverrun):
        return False, capacity_summary(None, _NO_USAGE)
    usage = ledger.pacing.get(window.slot_start, _NO_USAGE)
    capacity = capacity_summary(window.service.pacing, usage)
    if window.service_date != local_date or not pacing_allows(window.service.pacing, usage, party):
        return False, capacity
    rows = live_rows(venue_index(venue), ledger, now)
    (busy,) = busy_masks(rows, [(window.block_start, window.block_end)])
    return plan_exists_on(venue, party, busy), capacity


def nearest_available(
    venue: Venue, ledger: DayLedger, start: datetime, party: int, now: datetime, n: int = 4
) -> list[str]:
    """Labels of up to `n` available slots nearest `start` on its service date.

    Used for the alternatives of a CAPACITY_EXCEEDED answer: the slot at `start`
    itself is excluded; ties go to the earlier slot. A start outside any service
    looks at its own local date; a party outside ``1..max_party_size`` gets [].
    """
    if not 1 <= party <= venue.policy.max_party_size or n <= 0:
        return []
    try:
        on = service_at(venue, start).service_date
    except OutsideServiceHours:
        on = start.astimezone(venue_zone(venue)).date()
    evaluated = _evaluate(venue, ledger, day_slots(venue, on), party, now)
    return _nearest(evaluated, start, n, skip_label=None)


def valid_until(ledgers: Iterable[DayLedger], slot_starts: Iterable[datetime], now: datetime) -> datetime | None:
    """When time alone may change an answer computed at `now` on these ledgers: the
    earliest expiry of a live hold in any of them (its tables and covers come free) or
    the first of `slot_starts` after `now` (a slot passing), whichever comes first;
    None when neither exists."""
    bounds = [
        b.expires_at for d in ledgers for rows in d.busy.values() for b in rows if b.expires_at and b.expires_at > now
    ]
    bounds += [s for s in sorted(slot_starts) if s > now][:1]
    return min(bounds, default=None)
