"""The ledger: allocations (who occupies which table when) and pacing usage.

Writers lock in the order docs/architecture.md states ("Lock order"). Locking a
slot's pacing row serialises the writers of one slot, so each plans on the others'
committed result.

Reads come in two halves, `queue_*` (send the statement) and `*_of` (read its
result), so a use case in pipeline mode can send the slot lock and both ledger
reads in one network round trip.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from seatwise.core.model import Busy, DayLedger, Pacing, PacingUsage

Conn = psycopg.Connection[dict[str, Any]]
Cursor = psycopg.Cursor[dict[str, Any]]

# No block is longer than this (turn bands <= 12 h plus buffers), so a day's ledger
# only needs allocations starting up to this long before the day.
LONGEST_BLOCK = timedelta(hours=24)

ALLOCATIONS_SQL = """
SELECT table_id, lower(during) AS lo, upper(during) AS hi, expires_at,
       coalesce(booking_id, hold_id, block_id)::text AS ref,
       CASE WHEN booking_id IS NOT NULL THEN 'booking'
            WHEN hold_id IS NOT NULL THEN 'hold' ELSE 'block' END AS kind
FROM allocations
WHERE restaurant_id = %(rid)s AND lower(during) >= %(from)s AND lower(during) < %(hi)s
  AND upper(during) > %(lo)s"""

# Usage that counts from `now`: expired holds whose covers were not given back yet
# are subtracted.
PACING_SQL = """
SELECT p.slot_start, p.covers - coalesce(e.covers, 0) AS covers,
       p.parties - coalesce(e.parties, 0) AS parties
FROM pacing_usage p
LEFT JOIN (SELECT slot_start, sum(party_size)::int AS covers, count(*)::int AS parties
           FROM holds
           WHERE restaurant_id = %(rid)s AND NOT pacing_released AND expires_at <= %(now)s
             AND slot_start >= %(from)s AND slot_start < %(hi)s
           GROUP BY slot_start) e USING (slot_start)
WHERE p.restaurant_id = %(rid)s AND p.slot_start >= %(from)s AND p.slot_start < %(hi)s"""

# Give back the covers of the slot's expired holds, then lock (creating) the slot's
# pacing row and refresh its limits. Limits never drop below the row's usage (the
# CHECK must stay true for parties booked under an older, looser policy); the
# policy check refuses new parties. One statement: holds, then the pacing row.
LOCK_SLOT_SQL = """
WITH released AS (
    UPDATE holds SET pacing_released = true
    WHERE restaurant_id = %(rid)s AND slot_start = %(slot)s AND expires_at <= %(now)s AND NOT pacing_released
    RETURNING party_size),
r AS (SELECT coalesce(sum(party_size), 0)::int AS covers, count(*)::int AS parties FROM released)
INSERT INTO pacing_usage AS p (restaurant_id, slot_start, covers, parties, max_covers, max_parties)
SELECT %(rid)s, %(slot)s, 0, 0, %(max_covers)s, %(max_parties)s FROM r
ON CONFLICT (restaurant_id, slot_start) DO UPDATE SET
    covers = p.covers - (SELECT covers FROM r),
    parties = p.parties - (SELECT parties FROM r),
    max_covers = CASE WHEN EXCLUDED.max_covers IS NULL THEN NULL
                      ELSE greatest(EXCLUDED.max_covers, p.covers - (SELECT covers FROM r)) END,
    max_parties = CASE WHEN EXCLUDED.max_parties IS NULL THEN NULL
                       ELSE greatest(EXCLUDED.max_parties, p.parties - (SELECT parties FROM r)) END
RETURNING covers, parties"""


# Take the slot's pacing row lock only if no other writer holds it (never waits), and
# say whether the row exists: (present, mine).
TRY_LOCK_SLOT_SQL = """
WITH mine AS (SELECT 1 FROM pacing_usage
              WHERE restaurant_id = %(rid)s AND slot_start = %(slot)s FOR UPDATE SKIP LOCKED)
SELECT EXISTS (SELECT 1 FROM pacing_usage WHERE restaurant_id = %(rid)s AND slot_start = %(slot)s) AS present,
       EXISTS (SELECT 1 FROM mine) AS mine"""


def queue_try_lock_slot(conn: Conn, rid: str, slot_start: datetime) -> Cursor:
    return conn.execute(TRY_LOCK_SLOT_SQL, {"rid": rid, "slot": slot_start})


def try_lock_of(cursor: Cursor) -> bool:
    """True when this transaction now holds the slot's pacing row lock."""
    row = cursor.fetchone()
    return bool(row and row["present"] and row["mine"])


def queue_ledger(
    conn: Conn, rid: str, lo: datetime, hi: datetime, now: datetime
) -> tuple[psycopg.Cursor[tuple[Any, ...]], Cursor]:
    args = {"rid": rid, "from": lo - LONGEST_BLOCK, "lo": lo, "hi": hi, "now": now}
    # Hundreds of rows on a busy day: plain tuples in binary format, not dicts.
    allocations = conn.cursor(row_factory=tuple_row, binary=True).execute(ALLOCATIONS_SQL, args)
    return allocations, conn.execute(PACING_SQL, args)


def ledger_of(cursors: tuple[psycopg.Cursor[tuple[Any, ...]], Cursor]) -> DayLedger:
    allocations, pacing = cursors
    busy: dict[int, list[Busy]] = defaultdict(list)
    for table_id, lo, hi, expires_at, ref, kind in allocations.fetchall():
        busy[table_id].append(Busy(lo, hi, kind, ref, expires_at))
    usage = {r["slot_start"]: PacingUsage(r["covers"], r["parties"]) for r in pacing.fetchall()}
    return DayLedger(busy={k: tuple(v) for k, v in busy.items()}, pacing=usage)


def load_ledger(conn: Conn, rid: str, lo: datetime, hi: datetime, now: datetime) -> DayLedger:
    """Every allocation overlapping `[lo, hi)` and the pacing usage of slots in it.

    Two queries whatever the venue size. Expired holds are returned too (core
    ignores them from their expiry); their pacing is subtracted so usage counts
    only what occupies from `now`.
    """
    return ledger_of(queue_ledger(conn, rid, lo, hi, now))


def queue_lock_slot(conn: Conn, rid: str, slot_start: datetime, pacing: Pacing | None, now: datetime) -> Cursor:
    return conn.execute(
        LOCK_SLOT_SQL,
        {
            "rid": rid,
            "slot": slot_start,
            "now": now,
            "max_covers": pacing.max_covers_per_slot if pacing else None,
            "max_parties": pacing.max_parties_per_slot if pacing else None,
        },
    )


def usage_of(cursor: Cursor) -> PacingUsage:
    row = cursor.fetchone()
    if row is None:  # INSERT .. ON CONFLICT DO UPDATE .. RETURNING always returns the row
        raise LookupError("pacing row not returned")
    return PacingUsage(row["covers"], row["parties"])


def lock_slot(conn: Conn, rid: str, slot_start: datetime, pacing: Pacing | None, now: datetime) -> PacingUsage:
    """Lock the slot's pacing row (creating it), give back its expired holds' covers,
    refresh its limits, and return the usage that counts from `now`."""
    return usage_of(queue_lock_slot(conn, rid, slot_start, pacing, now))


def add_pacing(conn: Conn, rid: str, slot_start: datetime, covers: int, parties: int) -> None:
    """Change a slot's usage; the row's CHECK constraints refuse any overrun."""
    conn.execute(
        """UPDATE pacing_usage SET covers = covers + %s, parties = parties + %s
           WHERE restaurant_id = %s AND slot_start = %s""",
        [covers, parties, rid, slot_start],
    )


def release_hold_pacing(conn: Conn, rid: str, hold_id: str) -> None:
    """Give a hold's covers back unless already given back (caller locked the slot)."""
    conn.execute(
        """WITH h AS (UPDATE holds SET pacing_released = true
                      WHERE restaurant_id = %s AND id = %s AND NOT pacing_released
                      RETURNING slot_start, party_size)
           UPDATE pacing_usage p SET covers = p.covers - h.party_size, parties = p.parties - 1
           FROM h WHERE p.restaurant_id = %s AND p.slot_start = h.slot_start""",
        [rid, hold_id, rid],
    )


def clear_expired_holds(conn: Conn, rid: str, block_start: datetime, block_end: datetime, now: datetime) -> None:
    """Delete expired holds' allocations overlapping a wanted block.

    An expired hold occupies nothing; its rows are removed here, in the writer's
    transaction, so no sweeper is needed for correctness. The hold row stays (its
    pacing is given back by whoever next locks its slot, or by the sweeper).
    """
    conn.execute(
        """DELETE FROM allocations
           WHERE restaurant_id = %s AND hold_id IS NOT NULL AND expires_at <= %s
             AND during && tstzrange(%s, %s, '[)')""",
        [rid, now, block_start, block_end],
    )


def insert_allocations(
    conn: Conn,
    rid: str,
    table_ids: Iterable[int],
    lo: datetime,
    hi: datetime,
    *,
    booking_id: str | None = None,
    hold_id: str | None = None,
    block_id: str | None = None,
    expires_at: datetime | None = None,
) -> None:
    """Occupy tables over `[lo, hi)`, in ascending table order.

    Raises `ExclusionViolation` when any overlaps a row of the ledger.
    """
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO allocations (restaurant_id, table_id, during, booking_id, hold_id, block_id, expires_at)
               VALUES (%s, %s, tstzrange(%s, %s, '[)'), %s, %s, %s, %s)""",
            [(rid, t, lo, hi, booking_id, hold_id, block_id, expires_at) for t in sorted(table_ids)],
        )


def archive_allocations(conn: Conn, rid: str, *, booking_id: str) -> int:
    """Move a booking's allocations to the archive (its tables are free at once)."""
    cur = conn.execute(
        """WITH gone AS (DELETE FROM allocations WHERE restaurant_id = %s AND booking_id = %s RETURNING *)
           INSERT INTO allocations_archive (restaurant_id, id, table_id, during, booking_id, hold_id,
                                            block_id, expires_at, created_at)
           SELECT restaurant_id, id, table_id, during, booking_id, hold_id, block_id, expires_at, created_at
           FROM gone""",
        [rid, booking_id],
    )
    return cur.rowcount


def lock_slots(
    conn: Conn, rid: str, slots: dict[datetime, Pacing | None], now: datetime
) -> dict[datetime, PacingUsage]:
    """Lock several slots' pacing rows in ascending slot order (see the module's lock
    order) and return each one's usage as :func:`lock_slot` does."""
    return {slot: lock_slot(conn, rid, slot, slots[slot], now) for slot in sorted(slots)}


def delete_allocations(conn: Conn, rid: str, *, booking_id: str) -> int:
    """Drop a booking's allocation rows (a move re-inserts them in the same transaction)."""
    cur = conn.execute("DELETE FROM allocations WHERE restaurant_id = %s AND booking_id = %s", [rid, booking_id])
    return cur.rowcount
