"""SQL audits of the ledger, run as the schema owner (sees every row)."""

from __future__ import annotations

from typing import Any

import psycopg

OVERLAPS = """
SELECT a.table_id, a.id, b.id FROM allocations a
JOIN allocations b ON b.restaurant_id = a.restaurant_id AND b.table_id = a.table_id
     AND a.id < b.id AND a.during && b.during
WHERE a.restaurant_id = %s
  AND (a.expires_at IS NULL OR a.expires_at > now()) AND (b.expires_at IS NULL OR b.expires_at > now())
"""

# What pacing_usage should say: occupying bookings plus holds whose covers were not given back.
# A shadow booking that pacing refused is not counted (`pacing_counted`): the CHECKs hold.
PACING_EXPECTED = """
SELECT slot_start, sum(covers)::int AS covers, sum(parties)::int AS parties FROM (
    SELECT slot_start, party_size AS covers, 1 AS parties FROM bookings
    WHERE restaurant_id = %(rid)s AND status IN ('pending', 'confirmed', 'seated', 'completed')
      AND pacing_counted
    UNION ALL
    SELECT slot_start, party_size, 1 FROM holds WHERE restaurant_id = %(rid)s AND NOT pacing_released
) x GROUP BY slot_start
"""


def overlaps(owner_url: str, rid: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(owner_url) as conn:
        return conn.execute(OVERLAPS, [rid]).fetchall()


def pacing_problems(owner_url: str, rid: str) -> list[str]:
    """Slots whose recorded usage differs from the ledger, or exceeds its limit."""
    problems = []
    with psycopg.connect(owner_url) as conn:
        expected = {r[0]: (r[1], r[2]) for r in conn.execute(PACING_EXPECTED, {"rid": rid})}
        for slot, covers, parties, max_covers, max_parties in conn.execute(
            "SELECT slot_start, covers, parties, max_covers, max_parties FROM pacing_usage WHERE restaurant_id = %s",
            [rid],
        ):
            if (covers, parties) != expected.pop(slot, (0, 0)):
                problems.append(f"{slot}: recorded {(covers, parties)}")
            if max_covers is not None and covers > max_covers:
                problems.append(f"{slot}: {covers} covers > {max_covers}")
            if max_parties is not None and parties > max_parties:
                problems.append(f"{slot}: {parties} parties > {max_parties}")
        problems += [f"{slot}: unrecorded {v}" for slot, v in expected.items() if v != (0, 0)]
    return problems


def booked_covers(owner_url: str, rid: str) -> int:
    with psycopg.connect(owner_url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(party_size), 0) FROM bookings WHERE restaurant_id = %s AND status = 'confirmed'",
            [rid],
        ).fetchone()
    assert row is not None
    return int(row[0])


def table_mismatches(owner_url: str, rid: str) -> list[tuple[Any, ...]]:
    """Occupying bookings whose assigned tables differ from their ledger rows."""
    with psycopg.connect(owner_url) as conn:
        return conn.execute(
            """SELECT b.id, array(SELECT table_id FROM booking_tables bt WHERE bt.restaurant_id = b.restaurant_id
                                  AND bt.booking_id = b.id ORDER BY 1),
                      array(SELECT table_id FROM allocations a WHERE a.restaurant_id = b.restaurant_id
                                  AND a.booking_id = b.id ORDER BY 1)
               FROM bookings b WHERE b.restaurant_id = %s AND b.status IN ('pending', 'confirmed', 'seated')
               AND array(SELECT table_id FROM booking_tables bt WHERE bt.restaurant_id = b.restaurant_id
                         AND bt.booking_id = b.id ORDER BY 1)
                   IS DISTINCT FROM
                   array(SELECT table_id FROM allocations a WHERE a.restaurant_id = b.restaurant_id
                         AND a.booking_id = b.id ORDER BY 1)""",
            [rid],
        ).fetchall()
