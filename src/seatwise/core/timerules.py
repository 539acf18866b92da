"""Time rules (DESIGN §3): local times, service windows, slots and booking windows.

Invariants:

* Every instant returned here is timezone-aware UTC.
* A local wall time is read in ``venue.timezone`` with :mod:`zoneinfo`. A wall time in
  a spring-forward gap is never offered as a slot and is refused by
  :func:`resolve_start`; an ambiguous (fall-back) wall time is its first occurrence
  (``fold=0``).
* A service belongs to the local date on which it starts; one whose end is at or
  before its start ends on the next local date, and its after-midnight slots are
  listed under the date it started.
* Intervals are half-open ``[start, end)`` and exact to the second.

Nothing here reads the clock or does I/O.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from seatwise.core.errors import OutsideServiceHours, ServiceOverrun, StartInPast, ValidationFailed
from seatwise.core.model import Service, Venue

_NAIVE_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?")
_AWARE_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:[Zz]|[+-]\d{2}:\d{2})")
_LOCAL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LOCAL_TIME = re.compile(r"(\d{2}):(\d{2})")
_ONE_DAY = timedelta(days=1)
_SLOT_CACHE_KEY = "timerules.day_slots"
_SLOT_CACHE_MAX = 512  # dates kept per venue before the cache is reset


@dataclass(frozen=True, slots=True)
class Slot:
    """An offered start: `time` is its local "HH:MM" label, `start` the UTC instant.

    `start` converted to the venue's zone always shows `time` (gap times are never
    slots). `service_date` is the local date the service started on, which differs
    from the label's calendar date for after-midnight slots.
    """

    time: str
    start: datetime
    service: Service
    service_date: date


@dataclass(frozen=True, slots=True)
class ServiceDay:
    """One service on one local date, as instants.

    The window is ``[start, end)``. `last_seating` is the latest accepted guest start:
    the policy's last seating when set (accepted inclusively), else `end` (exclusive,
    see :meth:`accepts`).
    """

    service: Service
    service_date: date
    start: datetime
    end: datetime
    last_seating: datetime

    def accepts(self, instant: datetime) -> bool:
        """Whether a guest may start at `instant` in this service."""
        if instant < self.start:
            return False
        if self.service.last_seating is None:
            return instant < self.end
        return instant <= self.last_seating


@dataclass(frozen=True, slots=True)
class BookingWindow:
    """The tables' block for a guest start.

    ``block_start = start - buffer_before``; ``block_end = start + turn +
    buffer_after``, clamped to the service end unless overrun is allowed; always
    ``block_start <= start < block_end``. `slot_start` is the pacing slot: the grid
    slot at or before `start` in its service.
    """

    start: datetime
    block_start: datetime
    block_end: datetime
    service: Service
    service_date: date
    slot_start: datetime


# --- parsing -------------------------------------------------------------------------


def venue_zone(venue: Venue) -> ZoneInfo:
    """The venue's IANA zone (ValidationFailed if unknown)."""
    try:
        return ZoneInfo(venue.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"unknown time zone {venue.timezone!r}") from exc


# Dates the engine takes: wide enough for any booking, narrow enough that a day's
# ledger range (a day either side) never leaves what `datetime` can represent.
FIRST_DATE = date(1970, 1, 1)
LAST_DATE = date(9998, 12, 31)


def _check_range(day: date, shown: str) -> None:
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValidationFailed(f"{shown} is out of range: dates run from {FIRST_DATE} to {LAST_DATE}")


def parse_local_date(value: str) -> date:
    """Parse ``YYYY-MM-DD``; malformed, impossible or out-of-range dates raise ValidationFailed."""
    if not _LOCAL_DATE.fullmatch(value):
        raise ValidationFailed(f"date must be YYYY-MM-DD, got {value!r}")
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(f"{value!r} is not a date") from exc
    _check_range(day, value)
    return day


def parse_local_time(value: str) -> time:
    """Parse ``HH:MM`` (24 h); anything else raises ValidationFailed."""
    match = _LOCAL_TIME.fullmatch(value)
    if match is None:
        raise ValidationFailed(f"time must be HH:MM, got {value!r}")
    try:
        return time(int(match.group(1)), int(match.group(2)))
    except ValueError as exc:
        raise ValidationFailed(f"{value!r} is not a time of day") from exc


def resolve_start(venue: Venue, value: str) -> datetime:
    """Turn an API `start` into a UTC instant.

    Accepts an ISO 8601 instant with offset (``Z`` or ``±HH:MM``) or a naive local
    ``YYYY-MM-DDTHH:MM[:SS]`` read in the venue's zone. A local time inside a DST gap
    raises ValidationFailed; an ambiguous one is the first occurrence.
    """
    tz = venue_zone(venue)
    try:
        if _AWARE_INSTANT.fullmatch(value):
            instant = datetime.fromisoformat(value).astimezone(UTC)
        elif _NAIVE_LOCAL.fullmatch(value):
            naive = datetime.fromisoformat(value)
            _check_range(naive.date(), value)
            if in_gap(naive, tz):
                raise ValidationFailed(f"{value} does not exist in {venue.timezone} (clocks go forward)")
            instant = local_instant(naive, tz)
        else:
            raise ValidationFailed(
                f"start must be an ISO instant with offset or a local YYYY-MM-DDTHH:MM, got {value!r}"
            )
    except (ValueError, OverflowError) as exc:
        raise ValidationFailed(f"{value!r} is not a valid start") from exc
    _check_range(instant.date(), value)
    if instant.second or instant.microsecond:
        raise ValidationFailed(f"start must be in whole minutes, got {value!r}")
    return instant


# A host may record a booking that began a little while ago (a walk-in entered late).
STAFF_BACKDATING = timedelta(hours=12)


def check_not_past(start: datetime, now: datetime, *, backdating: timedelta = timedelta(0)) -> None:
    """Refuse a start before `now - backdating` (422 START_IN_PAST)."""
    if start < now - backdating:
        limit = "now" if not backdating else f"{backdating.total_seconds() / 3600:g} hours ago"
        raise StartInPast(f"the start {start.isoformat()} is before {limit}")


# --- local wall time <-> instant ---------------------------------------------------


def local_instant(naive: datetime, tz: tzinfo) -> datetime:
    """The UTC instant of a local wall time (first occurrence when ambiguous)."""
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def in_gap(naive: datetime, tz: tzinfo) -> bool:
    """Whether a local wall time does not exist (spring-forward gap)."""
    back = local_instant(naive, tz).astimezone(tz).replace(tzinfo=None)
    return back != naive


def _wall(instant: datetime, tz: tzinfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def boundary_instant(naive: datetime, tz: tzinfo) -> datetime:
    """The first instant whose local wall time is at or after `naive`.

    Equal to :func:`local_instant` for existing times; for a time inside a gap it is
    the transition instant (a service "opening at 02:30" on a night when 02:30 is
    skipped opens when the clocks jump).
    """
    if not in_gap(naive, tz):
        return local_instant(naive, tz)
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)  # offset after: earlier
    hi = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)  # offset before: later
    lo_s, hi_s = 0, int((hi - lo).total_seconds())
    while lo_s < hi_s:  # invariant: wall(lo + hi_s) >= naive
        mid = (lo_s + hi_s) // 2
        if _wall(lo + timedelta(seconds=mid), tz) >= naive:
            hi_s = mid
        else:
            lo_s = mid + 1
    return lo + timedelta(seconds=hi_s)


# --- services and slots -----------------------------------------------------------


def runs_on(venue: Venue, service: Service, local_date: date) -> bool:
    """A service runs on a local date if its weekday is listed and the date is open."""
    return local_date.weekday() in service.days and local_date not in venue.policy.closures


def _end_date(service: Service, local_date: date) -> date:
    return local_date + _ONE_DAY if service.crosses_midnight else local_date


def _last_seating_naive(service: Service, local_date: date) -> datetime | None:
    if service.last_seating is None:
        return None
    on = local_date
    if service.crosses_midnight and service.last_seating < service.start:
        on = local_date + _ONE_DAY
    return datetime.combine(on, service.last_seating)


def service_day(venue: Venue, service: Service, local_date: date) -> ServiceDay:
    """The instants of `service` started on `local_date` (whether or not it runs)."""
    tz = venue_zone(venue)
    start = boundary_instant(datetime.combine(local_date, service.start), tz)
    end = boundary_instant(datetime.combine(_end_date(service, local_date), service.end), tz)
    last_naive = _last_seating_naive(service, local_date)
    last = end if last_naive is None else boundary_instant(last_naive, tz)
    return ServiceDay(service, local_date, start, end, last)


def _walls(service: Service, local_date: date, step: timedelta) -> list[datetime]:
    """The service's slot wall times on `local_date` (before removing gap times)."""
    wall = datetime.combine(local_date, service.start)
    last = _last_seating_naive(service, local_date)
    end = datetime.combine(_end_date(service, local_date), service.end)
    out = []
    while (wall <= last) if last is not None else (wall < end):
        out.append(wall)
        wall += step
    return out


def _build_slots(venue: Venue, local_date: date) -> tuple[Slot, ...]:
    tz = venue_zone(venue)
    step = timedelta(minutes=venue.slot_minutes)
    if step <= timedelta(0):
        raise ValidationFailed("slot_minutes must be positive")
    out: list[tuple[datetime, int, Slot]] = []
    for order, service in enumerate(venue.policy.services):
        if not runs_on(venue, service, local_date):
            continue
        walls = _walls(service, local_date, step)
        if not walls:
            continue
        first, last = local_instant(walls[0], tz), local_instant(walls[-1], tz)
        steady = _wall(first, tz) == walls[0] and _wall(last, tz) == walls[-1] and last - first == walls[-1] - walls[0]
        for wall in walls:
            if steady:
                # No clock change between the first and last slot (same offset at
                # both ends and elapsed time equal to wall time): instants follow
                # the wall clock, with no per-slot zone lookup.
                instant = first + (wall - walls[0])
            else:
                instant = local_instant(wall, tz)
                if _wall(instant, tz) != wall:  # inside a spring-forward gap
                    continue
            out.append((instant, order, Slot(wall.strftime("%H:%M"), instant, service, local_date)))
    out.sort(key=lambda item: (item[0], item[1]))
    return tuple(slot for _, _, slot in out)


def day_slots(venue: Venue, local_date: date) -> tuple[Slot, ...]:
    """Every slot offered on a local date, ordered by instant then policy order.

    Slots run every ``slot_minutes`` of local wall time from each running service's
    start to its last seating (inclusive), or, without a last seating, every slot
    that starts before the service end. Wall times inside a DST gap are skipped.
    Closed dates and weekdays a service does not run on give no slots. Memoised on
    the venue.
    """
    cache = venue.memo.get(_SLOT_CACHE_KEY)
    if not isinstance(cache, dict):
        cache = venue.memo[_SLOT_CACHE_KEY] = {}
    found = cache.get(local_date)
    if found is None:
        if len(cache) >= _SLOT_CACHE_MAX:
            cache.clear()
        try:
            found = cache[local_date] = _build_slots(venue, local_date)
        except OverflowError as exc:
            raise ValidationFailed(f"{local_date} is out of range") from exc
    return cast(tuple[Slot, ...], found)


def day_span(venue: Venue, local_date: date) -> tuple[datetime, datetime]:
    """The instants any booking window of a slot of `local_date` can touch: from the
    earliest slot less the largest buffer before, to the latest slot plus the longest
    turn and buffer after (clamping only shortens). An empty span when the date has
    no slots. What a day's availability needs from the ledger, and no more.
    """
    slots = day_slots(venue, local_date)
    if not slots:
        midnight = local_instant(datetime.combine(local_date, time()), venue_zone(venue))
        return midnight, midnight
    before = max(s.service.buffer_before_minutes for s in slots)
    after = max(max(b.minutes for b in s.service.turns) + s.service.buffer_after_minutes for s in slots)
    return slots[0].start - timedelta(minutes=before), slots[-1].start + timedelta(minutes=after)


def service_at(venue: Venue, start: datetime) -> ServiceDay:
    """The service whose local window contains `start`.

    Looks at services started on the start's local date and, for services that cross
    midnight, on the day before. When several windows contain it, the first in policy
    order that accepts the start wins. Raises OutsideServiceHours when no running
    service contains it, the date is closed, or the start is after the last seating.
    """
    if start.tzinfo is None:
        raise ValidationFailed("start must be timezone-aware")
    tz = venue_zone(venue)
    local_date = start.astimezone(tz).date()
    containing: list[ServiceDay] = []
    closed = False
    for on in (local_date, local_date - _ONE_DAY):
        for service in venue.policy.services:
            if on != local_date and not service.crosses_midnight:
                continue
            if on.weekday() not in service.days:
                continue
            sd = service_day(venue, service, on)
            inside = sd.start <= start < sd.end or (service.last_seating is not None and start == sd.last_seating)
            if not inside:
                continue
            if on in venue.policy.closures:
                closed = True
                continue
            containing.append(sd)
    for sd in containing:
        if sd.accepts(start):
            return sd
    when = start.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if containing:
        name = containing[0].service.name
        raise OutsideServiceHours(f"{when} is after the last seating of {name}")
    if closed:
        raise OutsideServiceHours(f"the restaurant is closed at {when}")
    raise OutsideServiceHours(f"no service at {when} ({venue.timezone})")


# --- booking windows --------------------------------------------------------------


def turn_minutes(service: Service, party: int) -> int:
    """The first band with ``party <= max_party``, else the last band."""
    if not service.turns:
        raise ValidationFailed(f"service {service.name} has no turn bands")
    for band in service.turns:
        if party <= band.max_party:
            return band.minutes
    return service.turns[-1].minutes


def window_in_service(sd: ServiceDay, party: int, start: datetime, slot_start: datetime) -> BookingWindow:
    """The booking window of a start already known to belong to `sd`.

    Raises ServiceOverrun when overrun is not allowed and clamping the block at the
    service end leaves no dining time.
    """
    service = sd.service
    block_start = start - timedelta(minutes=service.buffer_before_minutes)
    dining = turn_minutes(service, party) + service.buffer_after_minutes
    block_end = start + timedelta(minutes=dining)
    if not service.allow_overrun and block_end > sd.end:
        block_end = sd.end
        if block_end <= start:
            raise ServiceOverrun(f"{service.name} ends before a party of {party} could dine")
    return BookingWindow(start, block_start, block_end, service, sd.service_date, slot_start)


def pacing_slot(venue: Venue, sd: ServiceDay, start: datetime) -> datetime:
    """The grid slot at or before `start` in its service.

    If no slot of the service precedes it (a service opening inside a DST gap), the
    service's first slot; with no slots at all, `start` itself.
    """
    # The same service: its name, then the object (a dataclass's == builds two tuples
    # of every field, and this runs for every slot of the day).
    service = sd.service
    starts = [
        s.start
        for s in day_slots(venue, sd.service_date)
        if s.service.name == service.name and (s.service is service or s.service == service)
    ]
    if not starts:
        return start
    at = bisect_right(starts, start)
    return starts[at - 1] if at else starts[0]


def booking_window(venue: Venue, party: int, start: datetime) -> BookingWindow:
    """DESIGN §3 window for a guest start: service, block, clamping and pacing slot.

    Raises OutsideServiceHours (no service, closed, after last seating) or
    ServiceOverrun.
    """
    sd = service_at(venue, start)
    return window_in_service(sd, party, start, pacing_slot(venue, sd, start))
