"""Day figures: covers per slot against pacing, utilisation, no-shows, cancellations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from seatwise.core.day_summary import BookingFacts, summarise_day
from seatwise.core.venue_doc import parse_venue_document
from tests.conftest import small_venue

DAY = date(2027, 3, 10)  # Wednesday; London is on GMT (UTC+0) then


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2027, 3, 10, hh, mm, tzinfo=UTC)


def booking(status: str, party: int, hh: int, mm: int = 0, minutes: int = 90) -> BookingFacts:
    start = at(hh, mm)
    return BookingFacts(status, party, start, start + timedelta(minutes=minutes), start)


def test_covers_per_slot_against_limits_and_the_counts() -> None:
    venue = parse_venue_document(small_venue(tables=10, seats=4, pacing={"max_covers_per_slot": 8}))
    figures = summarise_day(
        venue,
        DAY,
        [
            booking("confirmed", 4, 19),
            booking("seated", 4, 19),
            booking("completed", 2, 17, minutes=60),
            booking("cancelled", 6, 19),
            booking("no_show", 3, 20),
        ],
    )
    by_time = {s.time: s for s in figures.slots}
    assert by_time["17:00"].covers == 2
    assert (by_time["19:00"].covers, by_time["19:00"].parties, by_time["19:00"].max_covers) == (8, 2, 8)
    assert by_time["19:00"].full
    assert not by_time["17:00"].full
    assert by_time["20:00"].covers == 0  # a no-show gives its covers back
    assert sum(s.covers for s in figures.slots) == figures.covers == 10
    assert (figures.bookings, figures.no_shows, figures.no_show_covers) == (3, 1, 3)
    assert (figures.cancellations, figures.cancelled_covers) == (1, 6)
    # Offered: 40 seats x 360 minutes (17:00-23:00); booked: 4x90 + 4x90 + 2x60.
    assert figures.seat_minutes_offered == 40 * 360
    assert figures.seat_minutes_booked == 840
    assert figures.utilisation_percent == round(100 * 840 / 14400, 1)


def test_a_closed_day_offers_nothing_and_never_divides_by_zero() -> None:
    doc = small_venue()
    doc["policy"]["closures"] = [DAY.isoformat()]
    figures = summarise_day(parse_venue_document(doc), DAY, [])
    assert figures.slots == ()
    assert figures.seat_minutes_offered == 0
    assert figures.utilisation_percent == 0.0


def test_booked_time_outside_the_service_windows_is_not_counted() -> None:
    venue = parse_venue_document(small_venue(tables=1, seats=4))
    late = booking("confirmed", 4, 22, 30, minutes=90)  # runs to 00:00, the service ends at 23:00
    assert summarise_day(venue, DAY, [late]).seat_minutes_booked == 4 * 30
