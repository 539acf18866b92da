"""Time rules: DST days, midnight-crossing services, closures, last seating, windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatwise.core.errors import (
    OutsideServiceHours,
    ServiceOverrun,
    ValidationFailed,
)
from seatwise.core.model import Pacing, Policy, Service, Table, TurnBand, Venue, Zone
from seatwise.core.timerules import (
    booking_window,
    day_slots,
    day_span,
    parse_local_date,
    parse_local_time,
    resolve_start,
    service_at,
    turn_minutes,
)

ALL_DAYS = frozenset(range(7))
TURNS = (TurnBand(2, 60), TurnBand(4, 75), TurnBand(8, 90))


def hm(value: str) -> time:
    h, m = value.split(":")
    return time(int(h), int(m))


def service(
    name: str = "dinner",
    start: str = "17:00",
    end: str = "22:00",
    last: str | None = "21:00",
    *,
    days: frozenset[int] = ALL_DAYS,
    overrun: bool = False,
    before: int = 0,
    after: int = 5,
    pacing: Pacing | None = None,
) -> Service:
    return Service(
        name=name,
        days=days,
        start=hm(start),
        end=hm(end),
        turns=TURNS,
        last_seating=None if last is None else hm(last),
        allow_overrun=overrun,
        buffer_before_minutes=before,
        buffer_after_minutes=after,
        pacing=pacing,
    )


def venue(
    *services: Service,
    tz: str = "Europe/London",
    closures: frozenset[date] = frozenset(),
    slot_minutes: int = 15,
) -> Venue:
    return Venue(
        name="Test",
        slug="test",
        timezone=tz,
        policy=Policy(services=services or (service(),), closures=closures),
        zones=(Zone("main", "Main"),),
        tables=(Table(1, "T1", "main", 4),),
        adjacency=frozenset(),
        slot_minutes=slot_minutes,
    )


def local(v: Venue, value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(v.timezone))


def labels(v: Venue, on: date) -> list[str]:
    return [s.time for s in day_slots(v, on)]


def assert_round_trip(v: Venue, on: date) -> None:
    tz = ZoneInfo(v.timezone)
    for slot in day_slots(v, on):
        assert slot.start.tzinfo is UTC
        assert slot.start.astimezone(tz).strftime("%H:%M") == slot.time


# --- parsing ---------------------------------------------------------------------


def test_parse_local_date() -> None:
    assert parse_local_date("2026-02-28") == date(2026, 2, 28)
    for bad in ("2026-02-30", "2026-2-3", "", "2026-02-28T00:00", "tomorrow"):
        with pytest.raises(ValidationFailed):
            parse_local_date(bad)


def test_parse_local_time() -> None:
    assert parse_local_time("09:05") == time(9, 5)
    for bad in ("9:05", "24:00", "12:60", "12:00:00", ""):
        with pytest.raises(ValidationFailed):
            parse_local_time(bad)


def test_resolve_start_accepts_offsets_and_local_times() -> None:
    v = venue()
    expected = datetime(2026, 6, 1, 17, 0, tzinfo=UTC)
    assert resolve_start(v, "2026-06-01T18:00:00+01:00") == expected
    assert resolve_start(v, "2026-06-01T17:00:00Z") == expected
    assert resolve_start(v, "2026-06-01T18:00") == expected  # BST
    assert resolve_start(v, "2026-06-01T18:00:00") == expected
    with pytest.raises(ValidationFailed, match="whole minutes"):  # issue 9: starts are whole minutes
        resolve_start(v, "2026-06-01T18:00:30")
    assert resolve_start(v, "2026-01-05T18:00") == datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
    for bad in ("2026-06-01", "2026-06-01 18:00", "2026-13-01T18:00", "now", "2026-06-01T25:00Z"):
        with pytest.raises(ValidationFailed):
            resolve_start(v, bad)


# --- DST -------------------------------------------------------------------------

LATE = service("late", "00:00", "04:00", "03:45")


@pytest.mark.parametrize(
    ("tz", "on", "gap"),
    [
        ("Europe/London", date(2026, 3, 29), ("01:00", "01:15", "01:30", "01:45")),
        ("America/New_York", date(2026, 3, 8), ("02:00", "02:15", "02:30", "02:45")),
    ],
)
def test_spring_forward_gap_is_never_offered(tz: str, on: date, gap: tuple[str, ...]) -> None:
    v = venue(LATE, tz=tz)
    offered = labels(v, on)
    assert not set(gap) & set(offered)
    assert len(offered) == 16 - len(gap)
    assert_round_trip(v, on)
    for label in gap:
        with pytest.raises(ValidationFailed, match="does not exist"):
            resolve_start(v, f"{on}T{label}")


@pytest.mark.parametrize(
    ("tz", "on", "ambiguous", "first_utc"),
    [
        ("Europe/London", date(2026, 10, 25), "01:30", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        ("America/New_York", date(2026, 11, 1), "01:30", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
    ],
)
def test_fall_back_offers_first_occurrence_once(tz: str, on: date, ambiguous: str, first_utc: datetime) -> None:
    v = venue(LATE, tz=tz)
    offered = labels(v, on)
    assert len(offered) == len(set(offered)) == 16
    assert_round_trip(v, on)
    (slot,) = (s for s in day_slots(v, on) if s.time == ambiguous)
    assert slot.start == first_utc
    assert resolve_start(v, f"{on}T{ambiguous}") == first_utc
    starts = [s.start for s in day_slots(v, on)]
    assert starts == sorted(starts)


def test_service_window_spans_the_real_night_on_dst_days() -> None:
    v = venue(LATE, tz="Europe/London")
    spring = service_at(v, datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    assert spring.end - spring.start == timedelta(hours=3)
    autumn = service_at(v, datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
    assert autumn.end - autumn.start == timedelta(hours=5)
    # The second 01:30 (GMT) is inside the window and before the last seating.
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert service_at(v, second).service_date == date(2026, 10, 25)


def test_service_opening_inside_a_gap_opens_when_clocks_jump() -> None:
    v = venue(service("gap", "01:30", "05:00", None), tz="Europe/London")
    sd = service_at(v, datetime(2026, 3, 29, 1, 0, tzinfo=UTC))  # 02:00 BST
    assert sd.start == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert labels(v, date(2026, 3, 29))[0] == "02:00"
    window = booking_window(v, 2, datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
    assert window.slot_start == window.start


# --- services ----------------------------------------------------------------------

FRI = date(2026, 6, 5)
BAR = service("bar", "22:00", "02:00", "01:00", days=frozenset({4}))


def test_midnight_crossing_service_lists_after_midnight_slots_under_start_date() -> None:
    v = venue(BAR)
    friday = labels(v, FRI)
    assert friday[0] == "22:00"
    assert friday[-1] == "01:00"
    assert "00:30" in friday
    assert labels(v, FRI + timedelta(days=1)) == []
    (slot,) = (s for s in day_slots(v, FRI) if s.time == "00:30")
    assert slot.start == local(v, "2026-06-06T00:30").astimezone(UTC)
    assert slot.service_date == FRI
    sd = service_at(v, slot.start)
    assert (sd.service.name, sd.service_date) == ("bar", FRI)
    window = booking_window(v, 8, local(v, "2026-06-06T01:00"))
    assert window.block_end == local(v, "2026-06-06T02:00")  # clamped at service end
    assert window.service_date == FRI


def test_closures_give_no_slots_and_refuse_starts() -> None:
    v = venue(service(), BAR, closures=frozenset({FRI}))
    assert labels(v, FRI) == []
    assert labels(v, FRI + timedelta(days=1)) != []
    with pytest.raises(OutsideServiceHours, match="closed"):
        service_at(v, local(v, "2026-06-05T18:00"))
    with pytest.raises(OutsideServiceHours):
        service_at(v, local(v, "2026-06-06T00:30"))  # bar service of the closed Friday


def test_services_run_only_on_their_days() -> None:
    v = venue(service(days=frozenset({0})))  # Mondays
    assert labels(v, date(2026, 6, 1)) != []
    assert labels(v, date(2026, 6, 2)) == []
    with pytest.raises(OutsideServiceHours):
        service_at(v, local(v, "2026-06-02T18:00"))


def test_last_seating_is_the_last_slot_and_later_starts_are_refused() -> None:
    v = venue()
    offered = labels(v, FRI)
    assert offered[0] == "17:00"
    assert offered[-1] == "21:00"
    assert len(offered) == 17
    assert service_at(v, local(v, "2026-06-05T21:00")).service.name == "dinner"
    with pytest.raises(OutsideServiceHours, match="last seating"):
        service_at(v, local(v, "2026-06-05T21:05"))
    with pytest.raises(OutsideServiceHours):
        service_at(v, local(v, "2026-06-05T16:59"))
    with pytest.raises(OutsideServiceHours):
        service_at(v, local(v, "2026-06-05T22:00"))


def test_without_last_seating_slots_run_up_to_the_end() -> None:
    v = venue(service(last=None))
    assert labels(v, FRI)[-1] == "21:45"
    assert service_at(v, local(v, "2026-06-05T21:59")).service.name == "dinner"
    with pytest.raises(OutsideServiceHours):
        service_at(v, local(v, "2026-06-05T22:00"))


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        service_at(venue(), datetime(2026, 6, 5, 18, 0))  # noqa: DTZ001 - the point of the test


# --- booking windows -------------------------------------------------------------------


def test_turn_bands() -> None:
    s = service()
    assert [turn_minutes(s, p) for p in (1, 2, 3, 4, 5, 8, 9, 20)] == [
        60,
        60,
        75,
        75,
        90,
        90,
        90,
        90,
    ]


def test_window_buffers_and_pacing_slot() -> None:
    v = venue(service(before=10, after=5))
    start = local(v, "2026-06-05T18:07")
    window = booking_window(v, 4, start)
    assert window.start == start
    assert window.block_start == start - timedelta(minutes=10)
    assert window.block_end == start + timedelta(minutes=80)
    assert window.slot_start == local(v, "2026-06-05T18:00")
    assert (window.service.name, window.service_date) == ("dinner", FRI)


def test_window_is_clamped_at_service_end_unless_overrun_allowed() -> None:
    start = datetime(2026, 6, 5, 20, 30, tzinfo=UTC)  # 21:30 BST
    v = venue(service(last="21:30"))
    assert booking_window(v, 4, start).block_end == datetime(2026, 6, 5, 21, 0, tzinfo=UTC)
    v = venue(service(last="21:30", overrun=True))
    assert booking_window(v, 4, start).block_end == start + timedelta(minutes=80)


def test_no_dining_time_left_is_service_overrun() -> None:
    v = venue(service(last="22:00"))
    assert labels(v, FRI)[-1] == "22:00"
    with pytest.raises(ServiceOverrun):
        booking_window(v, 2, local(v, "2026-06-05T22:00"))
    v = venue(service(last="22:00", overrun=True))
    assert booking_window(v, 2, local(v, "2026-06-05T22:00")).block_end == local(v, "2026-06-05T23:05")


# --- properties -------------------------------------------------------------------------

ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "America/Santiago",
    "Pacific/Chatham",
    "Asia/Tokyo",
]


@st.composite
def venues_and_dates(draw: st.DrawFn) -> tuple[Venue, date]:
    tz = draw(st.sampled_from(ZONES))
    step = draw(st.sampled_from([5, 10, 15, 20, 30, 60]))
    start_min = draw(st.integers(0, 24 * 60 - 1)) // 5 * 5
    length = draw(st.integers(1, 24 * 60))  # minutes; end = start + length (mod day)
    end_min = (start_min + length) % (24 * 60)
    last: str | None = None
    if draw(st.booleans()):
        offset = draw(st.integers(0, length))
        lm = (start_min + offset) % (24 * 60)
        last = f"{lm // 60:02d}:{lm % 60:02d}"
    s = service(
        "s",
        f"{start_min // 60:02d}:{start_min % 60:02d}",
        f"{end_min // 60:02d}:{end_min % 60:02d}",
        last,
    )
    on = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)))
    # Bias towards DST transition days.
    if draw(st.booleans()):
        on = draw(
            st.sampled_from(
                [
                    date(on.year, 3, 29),
                    date(on.year, 10, 25),
                    date(on.year, 3, 8),
                    date(on.year, 11, 1),
                    date(on.year, 4, 5),
                    date(on.year, 10, 4),
                    date(on.year, 9, 6),
                ]
            )
        )
    return venue(s, tz=tz, slot_minutes=step), on


@settings(max_examples=200, deadline=None)
@given(venues_and_dates())
def test_every_slot_round_trips_and_belongs_to_its_service(case: tuple[Venue, date]) -> None:
    v, on = case
    slots = day_slots(v, on)
    assert_round_trip(v, on)
    starts = [s.start for s in slots]
    assert starts == sorted(starts)
    assert len(set(starts)) == len(starts)
    for slot in slots:
        assert slot.service_date == on
        local_label = slot.start.astimezone(ZoneInfo(v.timezone)).strftime("%Y-%m-%dT%H:%M")
        assert resolve_start(v, local_label) == slot.start
        sd = service_at(v, slot.start)
        assert sd.service_date == on
        try:
            window = booking_window(v, 2, slot.start)
        except ServiceOverrun:
            continue
        assert window.slot_start == slot.start
        assert window.block_start <= window.start < window.block_end
        assert window.block_end <= sd.end


@settings(max_examples=150, deadline=None)
@given(venues_and_dates(), st.integers(1, 10))
def test_day_span_holds_every_booking_window_of_the_date(case: tuple[Venue, date], party: int) -> None:
    v, on = case
    lo, hi = day_span(v, on)
    assert lo <= hi
    for slot in day_slots(v, on):
        try:
            window = booking_window(v, party, slot.start)
        except ServiceOverrun:
            continue
        assert lo <= window.block_start
        assert window.block_end <= hi
