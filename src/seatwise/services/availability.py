"""Read use cases: availability and the timeline. A constant number of queries each:
the tenant setting, the restaurant row (venue snapshot cached by version), the
ledger's allocations and its pacing usage."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from seatwise.core.availability import availability_at, day_availability
from seatwise.core.model import natural_key
from seatwise.core.timerules import day_span, parse_local_date, venue_zone
from seatwise.services.bookings import utcnow
from seatwise.services.snapshot import venue_snapshot
from seatwise.store import ledger
from seatwise.store.db import Database


def availability(db: Database, rid: str, day_text: str, party: int, time_label: str | None) -> dict[str, Any]:
    day = parse_local_date(day_text)
    now = utcnow()
    with db.tenant(rid) as conn:
        venue = venue_snapshot(conn, rid)
        lo, hi = day_span(venue, day)
        day_ledger = ledger.load_ledger(conn, rid, lo, hi, now)
    zone = venue_zone(venue)
    out: dict[str, Any] = {"date": day.isoformat(), "party_size": party, "timezone": venue.timezone}
    if time_label is None:
        slots = day_availability(venue, day_ledger, day, party, now)
    else:
        at = availability_at(venue, day_ledger, day, party, time_label, now)
        slots = at.slots
        out.update(available=at.available, alternatives=list(at.alternatives), capacity=dict(at.capacity))
    out["slots"] = [
        {"time": s.time, "start": s.start.astimezone(zone).isoformat(), "service": s.service, "available": s.available}
        for s in slots
    ]
    # Keep the documented key order: slots before the time-specific answer.
    return {
        k: out[k]
        for k in ("date", "party_size", "timezone", "slots", "available", "alternatives", "capacity")
        if k in out
    }


def timeline(db: Database, rid: str, day_text: str) -> dict[str, Any]:
    """Per table, the bookings, live holds and blocks overlapping the local day."""
    day = parse_local_date(day_text)
    now = utcnow()
    with db.tenant(rid) as conn:
        venue = venue_snapshot(conn, rid)
        zone = venue_zone(venue)
        lo = datetime.combine(day, datetime.min.time(), zone)
        hi = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
        day_ledger = ledger.load_ledger(conn, rid, lo, hi, now)
    tables = []
    for table in sorted(venue.tables, key=lambda t: natural_key(t.label)):
        rows = sorted(
            (b for b in day_ledger.busy.get(table.id, ()) if b.live(now) and b.start < hi and b.end > lo),
            key=lambda b: (b.start, b.ref),
        )
        tables.append(
            {
                "label": table.label,
                "zone": table.zone,
                "seats": table.seats,
                "allocations": [
                    {
                        "kind": b.kind,
                        "id": b.ref,
                        "start": b.start.astimezone(zone).isoformat(),
                        "end": b.end.astimezone(zone).isoformat(),
                    }
                    for b in rows
                ],
            }
        )
    return {"date": day.isoformat(), "timezone": venue.timezone, "tables": tables}
