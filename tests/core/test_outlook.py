"""Look-ahead ranking: the demand profile, the cost of a plan to the rest of the
night, and the planner with an outlook against a brute-force oracle."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from seatwise.core.model import Busy, DayLedger, Table, Venue
from seatwise.core.outlook import MIN_HISTORY_BOOKINGS, Demand, Outlook, PastBooking, history_dates, learn_outlook
from seatwise.core.planner import best_plan, plan_tables, rank_key
from seatwise.core.venue_doc import parse_venue_document
from tests.core.test_planner import NOW, at, dense_scenarios, make_venue, oracle, scenarios, shuffled, tbl

# --- the cost of a block to later demand --------------------------------------------


def two_twins() -> Venue:
    return make_venue([tbl(1, "T1", 2), tbl(2, "T2", 2)])


def demand(party: int, block: int, start: int, end: int, requests: float) -> Demand:
    return Demand(party, timedelta(minutes=block), at(start), at(end), round(1000 * requests))


EVENING = Outlook((demand(2, 60, -120, 240, 6.0),))  # a two every hour, blocks of an hour


def test_a_block_tucked_against_a_booking_beats_one_that_splits_a_free_table() -> None:
    # T1 is free all evening; T2 has a booking that ends when the new block starts.
    ledger = DayLedger(busy={2: (Busy(at(-60), at(0), "booking", "b1"),)})
    plain = best_plan(two_twins(), 2, at(0), at(60), ledger, NOW)
    ahead = best_plan(two_twins(), 2, at(0), at(60), ledger, NOW, outlook=EVENING)
    assert plain is not None
    assert ahead is not None
    assert plain.labels == ("T1",)  # natural order: the plain ranking splits T1's evening
    assert ahead.labels == ("T2",)
    # Killed starts: T1 (-60, 60) = 2 h of 6 h of 6 requests, 2 covers each: 4 covers;
    # T2 [0, 60) only: 2 covers.
    assert "takes 2.00 expected later covers" in ahead.reason
    result = plan_tables(two_twins(), 2, at(0), at(60), ledger, NOW, outlook=EVENING)
    assert [p.labels for p in result.plans] == [("T2",), ("T1",)]
    assert "takes 4.00 expected later covers" in result.plans[1].reason


def test_a_gap_too_short_for_anyone_costs_nothing_to_fill() -> None:
    # T2's gap [0, 45) is too short for an hour's block: filling it with a 45-minute
    # block takes nothing from later demand; T1 would lose an hour and three quarters.
    ledger = DayLedger(busy={2: (Busy(at(-60), at(0), "booking", "b1"), Busy(at(45), at(120), "booking", "b2"))})
    ahead = plan_tables(two_twins(), 2, at(0), at(45), ledger, NOW, outlook=EVENING)
    assert [p.labels for p in ahead.plans] == [("T2",), ("T1",)]
    assert "takes 0.00 expected" in ahead.plans[0].reason


def test_demand_the_table_cannot_seat_costs_nothing() -> None:
    venue = make_venue([tbl(1, "T1", 2), tbl(2, "T2", 2, min_party=2)])
    ones = Outlook((demand(1, 60, -120, 240, 6.0),))  # only parties of one: T2 never takes them
    best = best_plan(venue, 2, at(0), at(60), DayLedger(), NOW, outlook=ones)
    assert best is not None
    assert best.labels == ("T2",)


def test_priority_ranks_before_the_look_ahead() -> None:
    venue = make_venue([tbl(1, "T1", 2), replace(tbl(2, "T2", 2), priority=3)])
    ledger = DayLedger(busy={1: (Busy(at(-60), at(0), "booking", "b1"),)})  # T1 is the tight fit
    best = best_plan(venue, 2, at(0), at(60), ledger, NOW, outlook=EVENING)
    assert best is not None
    assert best.labels == ("T2",)


def test_an_empty_outlook_is_the_plain_ranking() -> None:
    ledger = DayLedger(busy={2: (Busy(at(-60), at(0), "booking", "b1"),)})
    empty = best_plan(two_twins(), 2, at(0), at(60), ledger, NOW, outlook=Outlook(()))
    assert empty == best_plan(two_twins(), 2, at(0), at(60), ledger, NOW)


# --- the oracle: costs from free intervals, rank from scratch -------------------------


def _valid_starts(free: list[tuple[datetime, datetime]], block: timedelta) -> list[tuple[datetime, datetime]]:
    return [(a, b - block) for a, b in free if b - a >= block]


def _free(rows: list[tuple[datetime, datetime]], lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    out, cursor = [], lo
    for s, e in sorted(rows):
        if s > cursor:
            out.append((cursor, min(s, hi)))
        cursor = max(cursor, e)
    if cursor < hi:
        out.append((cursor, hi))
    return out


def _measure(spans: list[tuple[datetime, datetime]], lo: datetime, hi: datetime) -> float:
    return sum(max(0.0, (min(b, hi) - max(a, lo)).total_seconds()) for a, b in spans)


def reference_cost(v: Venue, t: Table, ledger: DayLedger, s: datetime, e: datetime, outlook: Outlook) -> int:
    """Valid starts of each expected request on `t` before and after the block, from
    the table's whole free time (no nearest-row shortcut, no horizon)."""
    rows = [(r.start, r.end) for r in ledger.busy.get(t.id, ()) if r.live(NOW) and r.start < r.end]
    lo, hi = at(-10_000), at(10_000)
    before, after = _free(rows, lo, hi), _free([*rows, (s, e)], lo, hi)
    total = 0
    for d in outlook.demand:
        fits = t.min_party <= d.party <= t.max_party and t.seats - d.party <= v.policy.max_overage
        if not fits:
            continue
        killed = _measure(_valid_starts(before, d.block), d.start, d.end) - _measure(
            _valid_starts(after, d.block), d.start, d.end
        )
        total += int(d.party * d.milli_requests * killed // (d.end - d.start).total_seconds())
    return total


@st.composite
def outlooks(draw: st.DrawFn) -> Outlook:
    items = []
    for _ in range(draw(st.integers(0, 6))):
        start = draw(st.integers(-180, 240))
        items.append(
            demand(
                draw(st.integers(1, 8)),
                draw(st.integers(15, 150)),
                start,
                start + draw(st.integers(1, 120)),
                draw(st.integers(1, 5000)) / 1000,
            )
        )
    return Outlook(tuple(items))


def with_priorities(v: Venue, draws: list[int]) -> Venue:
    tables = tuple(replace(t, priority=draws[i % len(draws)] or None) for i, t in enumerate(v.tables))
    return replace(v, tables=tables)


def check_against_oracle(v: Venue, party: int, ledger: DayLedger, s: datetime, e: datetime, outlook: Outlook) -> None:
    result = plan_tables(v, party, s, e, ledger, NOW, outlook=outlook)
    expected = oracle(v, party, ledger, s, e)
    assert {frozenset(p.table_ids) for p in result.plans} == expected

    def key(ids: frozenset[int]) -> tuple[object, ...]:
        plain = rank_key(v, party, sorted(ids))
        cost = sum(reference_cost(v, v.table_by_id[i], ledger, s, e, outlook) for i in ids)
        return (*plain[:3], cost, *plain[4:])

    keys = [key(frozenset(p.table_ids)) for p in result.plans]
    assert keys == sorted(keys)
    for p in result.plans:
        looked = rank_key(v, party, p.table_ids, outlook=outlook, ledger=ledger, block=(s, e), now=NOW)
        assert looked == key(frozenset(p.table_ids))
    best = best_plan(v, party, s, e, ledger, NOW, outlook=outlook)
    assert best == result.best
    if expected:
        assert frozenset(result.plans[0].table_ids) == min(expected, key=key)


@settings(max_examples=250, deadline=None)
@given(scenarios(), outlooks(), st.lists(st.integers(0, 3), min_size=1, max_size=4), st.integers(0, 10**6))
def test_look_ahead_planner_matches_brute_force(
    case: tuple[Venue, int, DayLedger, int, int], outlook: Outlook, priorities: list[int], seed: int
) -> None:
    v, party, ledger, s, e = case
    v = with_priorities(v, priorities)
    check_against_oracle(v, party, ledger, at(s), at(e), outlook)
    got = plan_tables(v, party, at(s), at(e), ledger, NOW, outlook=outlook)
    assert plan_tables(shuffled(v, seed), party, at(s), at(e), ledger, NOW, outlook=outlook) == got


@settings(max_examples=200, deadline=None)
@given(dense_scenarios(), outlooks(), st.lists(st.integers(0, 2), min_size=1, max_size=3), st.data())
def test_look_ahead_best_plan_on_dense_zones_matches_brute_force(
    case: tuple[Venue, int, DayLedger], outlook: Outlook, priorities: list[int], data: st.DataObject
) -> None:
    v, party, ledger = case
    v = with_priorities(v, priorities)
    # Rows around the block, so that twins differ in what they leave free.
    busy = dict(ledger.busy)
    for t in v.tables:
        if t.id not in busy and data.draw(st.booleans()):
            end = data.draw(st.integers(-90, 0))
            start = data.draw(st.integers(90, 200))
            busy[t.id] = (
                Busy(at(end - 30), at(end), "booking", f"p{t.id}"),
                Busy(at(start), at(start + 30), "booking", f"n{t.id}"),
            )
    check_against_oracle(v, party, DayLedger(busy=busy), at(0), at(90), outlook)


# --- learning the profile -------------------------------------------------------------

VENUE = parse_venue_document(
    {
        "name": "Learn",
        "slug": "learn",
        "timezone": "Europe/London",
        "policy": {
            "services": [
                {
                    "name": "dinner",
                    "days": ["wed"],
                    "start": "18:00",
                    "end": "22:00",
                    "buffer_before_minutes": 5,
                    "buffer_after_minutes": 10,
                    "turns": [{"max_party": 2, "minutes": 60}, {"max_party": 8, "minutes": 90}],
                }
            ],
            "closures": ["2027-02-17"],
        },
        "zones": [{"key": "main", "name": "Main"}],
        "tables": [{"label": "T1", "zone": "main", "seats": 4}],
    }
)
DINNER = VENUE.policy.services[0]
NIGHT = date(2027, 3, 3)  # a Wednesday


def past(day: date, hh: int, mm: int, party: int, service: str = "dinner") -> PastBooking:
    return PastBooking(day, service, party, datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC))


def test_history_is_the_same_weekday_of_the_past_weeks_when_open() -> None:
    # 2027-02-17 is closed; the service runs on Wednesdays only.
    assert history_dates(VENUE, DINNER, NIGHT) == (date(2027, 2, 24), date(2027, 2, 10), date(2027, 2, 3))


def test_the_profile_averages_bookings_per_night_and_slot() -> None:
    dates = history_dates(VENUE, DINNER, NIGHT)
    # London is on UTC in February: 18:00 local is 18:00 UTC.
    history = [past(d, 19, 5, 2) for d in dates] + [past(d, 19, 10, 2) for d in dates]  # 2 per night at 19:00-19:15
    history += [past(dates[0], 20, 0, 6)] * (MIN_HISTORY_BOOKINGS - len(history))
    history += [past(dates[0], 19, 0, 2, service="lunch"), past(date(2027, 2, 23), 19, 0, 2)]  # ignored
    outlook = learn_outlook(VENUE, DINNER, NIGHT, history)
    assert outlook is not None
    assert outlook.nights == 3
    twos = outlook.by_party[2]
    assert len(twos) == 1
    assert twos[0].milli_requests == 2000
    # Block starts: the slot less the buffer before; blocks: turn plus both buffers.
    assert twos[0].start == datetime(2027, 3, 3, 18, 55, tzinfo=UTC)
    assert twos[0].end == datetime(2027, 3, 3, 19, 10, tzinfo=UTC)
    assert twos[0].block == timedelta(minutes=75)
    sixes = outlook.by_party[6]
    assert sixes[0].milli_requests == round(1000 * (MIN_HISTORY_BOOKINGS - 6) / 3)
    assert outlook.horizon == timedelta(minutes=105)


def test_too_little_history_gives_no_profile() -> None:
    dates = history_dates(VENUE, DINNER, NIGHT)
    history = [past(dates[0], 19, 0, 2)] * (MIN_HISTORY_BOOKINGS - 1)
    assert learn_outlook(VENUE, DINNER, NIGHT, history) is None


def test_a_combination_takes_the_twins_that_lose_least() -> None:
    # Four identical, pairwise adjacent two-tops (one class of twins); T3 and T4 have
    # bookings ending as the block starts. A party of four takes T3+T4, not T1+T2.
    tables = [tbl(i, f"T{i}", 2) for i in range(1, 5)]
    edges = [(f"T{a}", f"T{b}") for a in range(1, 5) for b in range(a + 1, 5)]
    venue = make_venue(tables, edges)
    ledger = DayLedger(busy={i: (Busy(at(-60), at(0), "booking", f"b{i}"),) for i in (3, 4)})
    four = Outlook((demand(2, 60, -120, 240, 6.0), demand(4, 60, -120, 240, 1.0)))
    best = best_plan(venue, 4, at(0), at(60), ledger, NOW, outlook=four)
    assert best is not None
    assert best.labels == ("T3", "T4")
    assert best == plan_tables(venue, 4, at(0), at(60), ledger, NOW, outlook=four).best
    assert best_plan(venue, 4, at(0), at(60), ledger, NOW) == plan_tables(venue, 4, at(0), at(60), ledger, NOW).best
