"""Look-ahead for table choice (DESIGN §4, §13): what a plan costs the rest of the night.

An :class:`Outlook` is the demand expected for a service date, learned from the
restaurant's own bookings by a service (``services.demand``) and passed in: for each
party size, expected requests per window of block starts. Nothing here does I/O.

The cost of seating a block ``[s, e)`` on table ``t`` is the expected covers of later
requests that ``t`` alone could have seated and no longer can: a request of party
``p`` whose block lasts ``D`` fits ``t`` alone (the planner's single-table rule) and
could start at any ``x`` with ``prev <= x`` and ``x + D <= next``, where ``prev`` is
the end of ``t``'s last live row before ``s`` and ``next`` the start of its first
live row after ``e``; the block takes away the starts with ``s - D < x < e``. Its
cost is ``p`` times the expected requests starting there, summed over party sizes.
A block tucked against another booking, or into a gap too short for anyone, costs
little; one that splits a long free stretch costs the most. Only the
``horizon`` (the longest block) on each side of the block matters, so a ledger read
that far around the block is enough.

Costs are integers (thousandths of a cover), so ranking stays exact and
deterministic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from seatwise.core.model import DayLedger, Service, Venue
from seatwise.core.timerules import runs_on, service_day, turn_minutes
from seatwise.core.venue_index import VenueIndex

MILLI = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
HISTORY_WEEKS = 4
"""How many past weeks of the same weekday a demand profile learns from."""
MIN_HISTORY_BOOKINGS = 10
"""Fewer past bookings than this: no profile (the plain ranking, not noise)."""


@dataclass(frozen=True, slots=True)
class Demand:
    """Expected requests of one party size whose block starts in ``[start, end)``,
    spread evenly over it, in thousandths of a request."""

    party: int
    block: timedelta  # how long such a party's block lasts (turn plus buffers)
    start: datetime
    end: datetime
    milli_requests: int


@dataclass(frozen=True)
class Outlook:
    """The demand expected around one booking's block (see the module docstring)."""

    demand: tuple[Demand, ...]
    nights: int = 0  # how many past service dates it was learned from
    by_party: Mapping[int, tuple[Demand, ...]] = field(init=False, repr=False, compare=False)
    # Per party: (start, end, block) in microseconds since the epoch, and the weight.
    _spans: Mapping[int, tuple[tuple[int, int, int, int], ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        grouped: dict[int, list[Demand]] = {}
        for d in self.demand:
            if d.end > d.start and d.milli_requests > 0:
                grouped.setdefault(d.party, []).append(d)
        object.__setattr__(self, "by_party", {p: tuple(ds) for p, ds in sorted(grouped.items())})
        spans = {
            p: tuple((_us(d.start), _us(d.end), d.block // _MICRO, d.milli_requests) for d in ds)
            for p, ds in self.by_party.items()
        }
        object.__setattr__(self, "_spans", spans)

    @property
    def horizon(self) -> timedelta:
        """The longest block of any expected request: how far around a block matters."""
        return max((d.block for d in self.demand), default=timedelta(0))


def _us(instant: datetime) -> int:
    """Microseconds since the epoch: exact integers, so costs are exact."""
    return (instant - _EPOCH) // _MICRO


def _span_costs(outlook: Outlook, fits: Mapping[int, bool], s: int, e: int, lo: int, hi: int) -> int:
    """Thousandths of covers of expected requests fitting this table whose start
    window inside the free gap ``[lo, hi)`` the block ``[s, e)`` takes away
    (instants in microseconds)."""
    total = 0
    for party, items in outlook._spans.items():
        if not fits.get(party, False):
            continue
        for start, end, block, milli in items:
            first = max(s - block, lo, start)  # starts after s - D (exclusive: measure zero)
            last = min(e, hi - block, end)
            if last > first:
                total += party * milli * (last - first) // (end - start)
    return total


def lookahead_costs(
    venue: Venue,
    index: VenueIndex,
    outlook: Outlook,
    ledger: DayLedger,
    now: datetime,
    block_start: datetime,
    block_end: datetime,
    candidates: int,
    *,
    ignore_ref: str | None = None,
) -> tuple[int, ...]:
    """Each table bit's cost (thousandths of covers) of seating the block on it.

    Only the bits of `candidates` (free tables) are computed; the others cost 0.
    """
    policy = venue.policy
    horizon = outlook.horizon
    far_before, far_after = block_start - horizon, block_end + horizon
    s, e = _us(block_start), _us(block_end)
    out = [0] * len(index.tables)
    fits_by_table: dict[tuple[int, int, int], dict[int, bool]] = {}
    # Tables alike for the singles rule with the same free gap cost the same (every
    # empty table, for a start): computed once.
    known: dict[tuple[tuple[int, int, int], datetime, datetime], int] = {}
    mask = candidates
    while mask:
        low = mask & -mask
        bit = low.bit_length() - 1
        mask ^= low
        table = index.tables[bit]
        lo, hi = far_before, far_after
        for r in ledger.busy.get(table.id, ()):
            if not r.live(now) or r.ref == ignore_ref or not r.start < r.end:
                continue
            if r.end <= block_start:
                lo = max(lo, r.end)
            elif r.start >= block_end:
                hi = min(hi, r.start)
        key = (table.seats, table.min_party, table.max_party)
        fits = fits_by_table.get(key)
        if fits is None:
            fits = {
                p: table.min_party <= p <= table.max_party and table.seats - p <= policy.max_overage
                for p in outlook.by_party
            }
            fits_by_table[key] = fits
        cost = known.get((key, lo, hi))
        if cost is None:
            cost = known[(key, lo, hi)] = _span_costs(outlook, fits, s, e, _us(lo), _us(hi))
        out[bit] = cost
    return tuple(out)


@dataclass(frozen=True, slots=True)
class PastBooking:
    """One booking of the history a profile learns from (any status but cancelled)."""

    service_date: date
    service_name: str
    party_size: int
    start: datetime  # the guest's start


def history_dates(venue: Venue, service: Service, service_date: date) -> tuple[date, ...]:
    """The past dates a profile for `service` on `service_date` learns from: the same
    weekday in each of the HISTORY_WEEKS weeks before, when the service ran."""
    past = (service_date - timedelta(weeks=w) for w in range(1, HISTORY_WEEKS + 1))
    return tuple(d for d in past if runs_on(venue, service, d))


def learn_outlook(venue: Venue, service: Service, service_date: date, history: Sequence[PastBooking]) -> Outlook | None:
    """The demand expected for `service` on `service_date`: the bookings of its
    :func:`history_dates`, counted per party size and slot (offset from the service
    start), averaged per night and laid on the date's slots as block starts.

    None when the history holds fewer than MIN_HISTORY_BOOKINGS bookings.
    """
    dates = history_dates(venue, service, service_date)
    starts = {d: service_day(venue, service, d).start for d in dates}
    slot = timedelta(minutes=venue.slot_minutes)
    counts: Counter[tuple[int, int]] = Counter()
    for b in history:
        if b.service_name != service.name or b.service_date not in starts:
            continue
        offset = b.start - starts[b.service_date]
        if offset >= timedelta(0):
            counts[(b.party_size, offset // slot)] += 1
    if sum(counts.values()) < MIN_HISTORY_BOOKINGS:
        return None
    first = service_day(venue, service, service_date).start - timedelta(minutes=service.buffer_before_minutes)
    buffers = service.buffer_before_minutes + service.buffer_after_minutes
    demand = tuple(
        Demand(
            party=party,
            block=timedelta(minutes=turn_minutes(service, party) + buffers),
            start=first + k * slot,
            end=first + (k + 1) * slot,
            milli_requests=round(MILLI * n / len(dates)),
        )
        for (party, k), n in sorted(counts.items())
    )
    return Outlook(demand, nights=len(dates))
