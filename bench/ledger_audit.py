"""The ledger audit over every restaurant, in SQL, as the schema owner (sees every row).

The same four questions as tests/concurrency/audit.py, asked of the whole database at
once: overlapping live allocations, pacing usage against the ledger (and its limits),
live bookings without tables, orphan allocations. Every count must be zero.
"""

from __future__ import annotations

from typing import Any

import psycopg

CHECKS: dict[str, str] = {
    # Two live allocations of one table that overlap in time: an overbooking.
    "overlapping_allocations": """
        SELECT a.restaurant_id, a.table_id, a.id, b.id FROM allocations a
        JOIN allocations b ON b.restaurant_id = a.restaurant_id AND b.table_id = a.table_id
             AND a.id < b.id AND a.during && b.during
        WHERE (a.expires_at IS NULL OR a.expires_at > now()) AND (b.expires_at IS NULL OR b.expires_at > now())""",
    # pacing_usage against what the ledger says: occupying bookings plus holds whose covers
    # were not given back; and no slot over its limits.
    "pacing_mismatches": """
        WITH expected AS (
            SELECT restaurant_id, slot_start, sum(covers)::int AS covers, sum(parties)::int AS parties FROM (
                SELECT restaurant_id, slot_start, party_size AS covers, 1 AS parties FROM bookings
                WHERE status IN ('pending', 'confirmed', 'seated', 'completed')
                UNION ALL
                SELECT restaurant_id, slot_start, party_size, 1 FROM holds WHERE NOT pacing_released
            ) x GROUP BY restaurant_id, slot_start)
        SELECT coalesce(p.restaurant_id, e.restaurant_id), coalesce(p.slot_start, e.slot_start),
               p.covers, p.parties, e.covers, e.parties
        FROM pacing_usage p FULL JOIN expected e USING (restaurant_id, slot_start)
        WHERE (coalesce(p.covers, 0), coalesce(p.parties, 0))
              IS DISTINCT FROM (coalesce(e.covers, 0), coalesce(e.parties, 0))""",
    "pacing_overruns": """
        SELECT restaurant_id, slot_start, covers, max_covers, parties, max_parties FROM pacing_usage
        WHERE (max_covers IS NOT NULL AND covers > max_covers)
           OR (max_parties IS NOT NULL AND parties > max_parties)""",
    # A live booking holds at least one table, and exactly the tables it was assigned.
    "live_bookings_without_tables": """
        SELECT b.restaurant_id, b.id FROM bookings b
        WHERE b.status IN ('pending', 'confirmed', 'seated') AND NOT EXISTS (
            SELECT 1 FROM allocations a WHERE a.restaurant_id = b.restaurant_id AND a.booking_id = b.id)""",
    "assignment_mismatches": """
        SELECT b.restaurant_id, b.id FROM bookings b WHERE b.status IN ('pending', 'confirmed', 'seated')
        AND array(SELECT table_id FROM booking_tables bt WHERE bt.restaurant_id = b.restaurant_id
                  AND bt.booking_id = b.id ORDER BY 1)
            IS DISTINCT FROM
            array(SELECT table_id FROM allocations a WHERE a.restaurant_id = b.restaurant_id
                  AND a.booking_id = b.id ORDER BY 1)""",
    # Allocations nobody owns any more: of a booking that no longer occupies its tables,
    # or a hold still live although it was confirmed into a booking.
    "orphan_allocations": """
        SELECT a.restaurant_id, a.id FROM allocations a JOIN bookings b
            ON b.restaurant_id = a.restaurant_id AND b.id = a.booking_id
        WHERE b.status NOT IN ('pending', 'confirmed', 'seated')
        UNION ALL
        SELECT a.restaurant_id, a.id FROM allocations a JOIN bookings b
            ON b.restaurant_id = a.restaurant_id AND b.hold_id = a.hold_id
        WHERE a.expires_at > now()""",
}


def audit(owner_url: str, sample: int = 5) -> dict[str, Any]:
    """Counts per check, and a few example rows of each failing one."""
    out: dict[str, Any] = {"findings": 0, "checks": {}, "examples": {}}
    with psycopg.connect(owner_url) as conn:
        for name, query in CHECKS.items():
            rows = conn.execute(query).fetchall()  # fixed catalogue queries
            out["checks"][name] = len(rows)
            out["findings"] += len(rows)
            if rows:
                out["examples"][name] = [[str(v) for v in r] for r in rows[:sample]]
        counts = conn.execute(
            """SELECT (SELECT count(*) FROM bookings),
                      (SELECT count(*) FROM bookings WHERE status IN ('pending', 'confirmed', 'seated')),
                      (SELECT count(*) FROM holds), (SELECT count(*) FROM allocations)"""
        ).fetchone()
    assert counts is not None
    out["ledger"] = dict(zip(("bookings", "live_bookings", "holds", "allocations"), map(int, counts), strict=True))
    return out
