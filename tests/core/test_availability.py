"""Availability: slots, pacing, alternatives, and agreement with the planner."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatwise.core.availability import availability_at, day_availability, nearest_available
from seatwise.core.errors import OutsideServiceHours, ServiceOverrun, ValidationFailed
from seatwise.core.model import (
    AdjacencyMode,
    Busy,
    DayLedger,
    Pacing,
    PacingUsage,
    Policy,
    Service,
    Table,
    Venue,
    Zone,
)
from seatwise.core.pacing import pacing_allows
from seatwise.core.planner import best_plan
from seatwise.core.timerules import booking_window, day_slots
from tests.core.test_timerules import BAR, service

FRI = date(2026, 6, 5)
NOW = datetime(2026, 6, 5, 9, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


def make_venue(*services: Service, tables: tuple[Table, ...] | None = None) -> Venue:
    return Venue(
        name="Bistro",
        slug="bistro",
        timezone="Europe/London",
        policy=Policy(services=services or (service(),), max_party_size=12),
        zones=(Zone("main", "Main"),),
        tables=tables or (Table(1, "T1", "main", 2), Table(2, "T2", "main", 4)),
        adjacency=frozenset({frozenset({1, 2})}),
    )


def local(value: str) -> datetime:
    return datetime.fromisoformat(f"2026-06-05T{value}").replace(tzinfo=LONDON).astimezone(UTC)


def open_labels(v: Venue, ledger: DayLedger, party: int, on: date = FRI) -> list[str]:
    return [sa.time for sa in day_availability(v, ledger, on, party, NOW) if sa.available]


def test_empty_ledger_everything_available() -> None:
    v = make_venue()
    day = day_availability(v, DayLedger(), FRI, 2, NOW)
    assert [sa.time for sa in day] == [s.time for s in day_slots(v, FRI)]
    assert all(sa.available for sa in day)
    assert day[0].service == "dinner"
    assert day[0].start == local("17:00")
    assert open_labels(v, DayLedger(), 6) == [sa.time for sa in day]  # T1+T2
    assert open_labels(v, DayLedger(), 7) == []


def test_busy_table_blocks_overlapping_windows_only() -> None:
    v = make_venue()
    # T2 booked 18:00-19:20; a party of 4 needs T2 (alone or with T1) for 80 minutes,
    # so every start in (16:40, 19:20) overlaps it.
    ledger = DayLedger(busy={2: (Busy(local("18:00"), local("19:20"), "booking", "b"),)})
    labels = open_labels(v, ledger, 4)
    assert labels[0] == "19:30"
    assert open_labels(v, ledger, 2) == [s.time for s in day_slots(v, FRI)]  # T1 free


def test_expired_hold_does_not_block() -> None:
    v = make_venue()
    hold = Busy(local("17:00"), local("22:00"), "hold", "h", expires_at=NOW)
    assert len(open_labels(v, DayLedger(busy={2: (hold,)}), 4)) == 17


def test_pacing_limits_a_slot() -> None:
    v = make_venue(service(pacing=Pacing(max_covers_per_slot=6, max_parties_per_slot=2)))
    ledger = DayLedger(pacing={local("18:00"): PacingUsage(covers=4, parties=1), local("19:00"): PacingUsage(2, 2)})
    labels = open_labels(v, ledger, 2)
    assert "18:00" in labels
    assert "19:00" not in labels  # parties full
    assert "18:00" not in open_labels(v, ledger, 3)  # covers would exceed 6


def test_pacing_math() -> None:
    assert pacing_allows(None, PacingUsage(100, 100), 50)
    assert pacing_allows(Pacing(10, None), PacingUsage(6, 9), 4)
    assert not pacing_allows(Pacing(10, None), PacingUsage(6, 9), 5)
    assert not pacing_allows(Pacing(None, 3), PacingUsage(0, 3), 1)


def test_party_size_is_validated() -> None:
    v = make_venue()
    for party in (0, 13):
        with pytest.raises(ValidationFailed):
            day_availability(v, DayLedger(), FRI, party, NOW)
        with pytest.raises(ValidationFailed):
            availability_at(v, DayLedger(), FRI, party, "18:00", NOW)
    assert nearest_available(v, DayLedger(), local("18:00"), 13, NOW) == []


def test_slot_with_no_dining_time_is_unavailable() -> None:
    v = make_venue(service(last="22:00"))
    day = day_availability(v, DayLedger(), FRI, 2, NOW)
    assert day[-1].time == "22:00"
    assert not day[-1].available
    assert all(sa.available for sa in day[:-1])


def test_closed_day_has_no_slots() -> None:
    v = make_venue()
    closed = replace(v, policy=replace(v.policy, closures=frozenset({FRI})))
    assert day_availability(closed, DayLedger(), FRI, 2, NOW) == ()


def test_availability_at_a_slot_with_alternatives_and_capacity() -> None:
    v = make_venue(service(pacing=Pacing(max_covers_per_slot=8)))
    ledger = DayLedger(
        busy={
            1: (Busy(local("18:00"), local("19:05"), "booking", "a"),),
            2: (Busy(local("18:00"), local("19:20"), "booking", "b"),),
        },
        pacing={local("18:00"): PacingUsage(covers=6, parties=2)},
    )
    answer = availability_at(v, ledger, FRI, 2, "18:30", NOW)
    assert answer.available is False
    assert answer.slot is not None
    assert answer.slot.start == local("18:30")
    # A party of 2 dines 65 minutes; T1 is free again from 19:05 (T2 from 19:20), and
    # 17:00 + 65 min already overlaps 18:00.
    assert answer.alternatives == ("19:15", "19:30", "19:45", "20:00")
    assert answer.capacity == {"max_covers": 8, "booked_covers": 0, "utilization_percent": 0.0}
    at_six = availability_at(v, ledger, FRI, 2, "18:00", NOW)
    assert at_six.capacity == {"max_covers": 8, "booked_covers": 6, "utilization_percent": 75.0}
    assert len(at_six.slots) == 17
    ok = availability_at(v, DayLedger(), FRI, 2, "19:00", NOW)
    assert ok.available is True
    assert ok.alternatives == ("18:45", "19:15", "18:30", "19:30")  # ties: earlier first
    assert ok.capacity["max_covers"] == 8


def test_availability_at_a_time_that_is_not_a_slot() -> None:
    v = make_venue()
    answer = availability_at(v, DayLedger(), FRI, 2, "16:00", NOW)
    assert answer.available is False
    assert answer.slot is None
    assert answer.alternatives == ("17:00", "17:15", "17:30", "17:45")
    assert answer.capacity == {"max_covers": None, "booked_covers": 0, "utilization_percent": 0.0}
    late = availability_at(v, DayLedger(), FRI, 2, "21:07", NOW)
    assert late.alternatives == ("21:00", "20:45", "20:30", "20:15")
    with pytest.raises(ValidationFailed):
        availability_at(v, DayLedger(), FRI, 2, "7pm", NOW)


def test_availability_at_in_a_dst_gap_is_refused() -> None:
    v = make_venue(service("late", "00:00", "04:00", "03:45"))
    with pytest.raises(ValidationFailed):
        availability_at(v, DayLedger(), date(2026, 3, 29), 2, "01:30", NOW)
    gap_day = availability_at(v, DayLedger(), date(2026, 3, 29), 2, "02:00", NOW)
    assert gap_day.available is True
    # 02:00 BST is 01:00 UTC: 00:45 GMT and 02:15 BST are both 15 minutes away.
    assert gap_day.alternatives == ("00:45", "02:15", "00:30", "02:30")


def test_after_midnight_labels_belong_to_the_start_date() -> None:
    v = make_venue(BAR)
    answer = availability_at(v, DayLedger(), FRI, 2, "00:30", NOW)
    assert answer.available is True
    assert answer.slot is not None
    assert answer.slot.start == local("00:30") + timedelta(days=1)


def test_nearest_available_for_capacity_exceeded() -> None:
    v = make_venue()
    ledger = DayLedger(busy={1: (Busy(local("17:00"), local("20:00"), "booking", "a"),)})
    # Party of 4 at 19:00: T2 is free all evening, so the start itself is excluded.
    assert nearest_available(v, ledger, local("19:00"), 4, NOW) == [
        "18:45",
        "19:15",
        "18:30",
        "19:30",
    ]
    assert nearest_available(v, ledger, local("19:00"), 4, NOW, n=1) == ["18:45"]
    # Outside service hours: looks at the start's local date.
    assert nearest_available(v, ledger, local("23:00"), 2, NOW)[0] == "21:00"
    with pytest.raises(OutsideServiceHours):
        booking_window(v, 2, local("23:00"))


# --- agreement with a slot-by-slot reference -----------------------------------------


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[Venue, DayLedger, int]:
    tables = tuple(
        Table(i, f"T{i}", "main", draw(st.integers(1, 6)), movable=draw(st.booleans()))
        for i in range(1, draw(st.integers(1, 6)) + 1)
    )
    edges = frozenset(frozenset({a.id, b.id}) for a in tables for b in tables if a.id < b.id and draw(st.booleans()))
    services = (
        service("lunch", "12:00", "15:00", "14:00", before=draw(st.sampled_from([0, 10]))),
        service(
            "dinner",
            "17:00",
            "22:00",
            draw(st.sampled_from(["21:00", "22:00", None])),
            overrun=draw(st.booleans()),
            pacing=Pacing(draw(st.sampled_from([None, 6, 10])), 3),
        ),
        replace(BAR, start=time(22, 15)),
    )
    v = Venue(
        name="P",
        slug="p",
        timezone="Europe/London",
        policy=Policy(
            services=services,
            adjacency_mode=draw(st.sampled_from(list(AdjacencyMode))),
            max_overage=draw(st.integers(0, 4)),
        ),
        zones=(Zone("main", "Main"),),
        tables=tables,
        adjacency=edges,
    )
    slots = day_slots(v, FRI)
    busy: dict[int, tuple[Busy, ...]] = {}
    for t in tables:
        rows = []
        for j in range(draw(st.integers(0, 4))):
            s = draw(st.sampled_from(slots)).start + timedelta(minutes=draw(st.integers(-20, 20)))
            kind = draw(st.sampled_from(["booking", "hold", "block"]))
            expires = NOW + timedelta(minutes=draw(st.integers(-1, 1))) if kind == "hold" else None
            rows.append(
                Busy(
                    s,
                    s + timedelta(minutes=draw(st.integers(1, 180))),
                    kind,
                    f"{t.id}-{j}",
                    expires,
                )
            )
        busy[t.id] = tuple(rows)
    pacing = {
        draw(st.sampled_from(slots)).start: PacingUsage(draw(st.integers(0, 8)), draw(st.integers(0, 3)))
        for _ in range(draw(st.integers(0, 5)))
    }
    return v, DayLedger(busy=busy, pacing=pacing), draw(st.integers(1, 12))


@settings(max_examples=150, deadline=None)
@given(ledgers())
def test_day_availability_matches_slot_by_slot_planning(case: tuple[Venue, DayLedger, int]) -> None:
    v, ledger, party = case
    for sa in day_availability(v, ledger, FRI, party, NOW):
        usage = ledger.pacing.get(sa.start, PacingUsage())
        try:
            window = booking_window(v, party, sa.start)
        except (ServiceOverrun, OutsideServiceHours):
            expected = False
        else:
            plan = best_plan(v, party, window.block_start, window.block_end, ledger, NOW)
            expected = plan is not None and pacing_allows(sa.slot.service.pacing, usage, party)
        assert sa.available is expected, sa
