"""The demand profile the planner looks ahead with (DESIGN §4, §13).

:func:`outlook_for` learns, from the restaurant's own bookings of the same service on
the same weekday of the past weeks (``core.outlook.learn_outlook``), what demand to
expect on a booking's service date, and hands it to the planner, which then prefers
the plan that takes the least of it away. A restaurant without that history gets
None: the plain ranking.

The profile changes slowly (it reads past nights only), so it is cached per
(restaurant, venue version, service, date) for CACHE_SECONDS: at most one read of
the history per service date and restaurant in that time, none on the hot path
otherwise. A stale profile only weighs a tie-break; it never decides feasibility.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import datetime, timedelta

from seatwise.core.model import Venue
from seatwise.core.outlook import Outlook, PastBooking, history_dates, learn_outlook
from seatwise.core.timerules import BookingWindow
from seatwise.store import bookings as repo
from seatwise.store.venues import Conn

CACHE_SECONDS = 600.0
CACHE_SIZE = 2000

_Key = tuple[str, int, str, str]
_cache: OrderedDict[_Key, tuple[float, Outlook | None]] = OrderedDict()
_lock = threading.Lock()


def outlook_for(conn: Conn, rid: str, venue: Venue, window: BookingWindow) -> Outlook | None:
    """The expected demand of the window's service and date, or None (no history)."""
    service, day = window.service, window.service_date
    key = (rid, venue.version, service.name, day.isoformat())
    clock = time.monotonic()
    with _lock:
        found = _cache.get(key)
        if found is not None and clock - found[0] < CACHE_SECONDS:
            _cache.move_to_end(key)
            return found[1]
    dates = history_dates(venue, service, day)
    rows = repo.past_bookings(conn, rid, service.name, dates) if dates else []
    history = [PastBooking(r["service_date"], r["service_name"], r["party_size"], r["start_at"]) for r in rows]
    outlook = learn_outlook(venue, service, day, history)
    with _lock:
        _cache[key] = (clock, outlook)
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return outlook


def ledger_span(window: BookingWindow, outlook: Outlook | None) -> tuple[datetime, datetime]:
    """What of the ledger a plan needs: the block, widened by the outlook's horizon
    (the gaps around the block decide what a table could still seat)."""
    reach = outlook.horizon if outlook is not None else timedelta(0)
    return window.block_start - reach, window.block_end + reach
