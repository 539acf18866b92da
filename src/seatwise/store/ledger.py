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
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from seatwise.core.model import Busy, Claim, DayLedger, Pacing, PacingUsage
from seatwise.store.db import LOCK_TIMEOUT

Conn = psycopg.Connection[dict[str, Any]]
Cursor = psycopg.Cursor[dict[str, Any]]

# No block is longer than this (turn bands <= 12 h plus buffers), so a day's ledger
# only needs allocations starting up to this long before the day.
LONGEST_BLOCK = timedelta(hours=24)

# Allocations, then (same statement, through the partial index `bookings_unassigned`)
# the claims of unassigned bookings over the same span: rows without a table.
ALLOCATIONS_SQL = """
SELECT table_id, lower(during) AS lo, upper(during) AS hi, expires_at,
       coalesce(booking_id, hold_id, block_id)::text AS ref,
       CASE WHEN booking_id IS NOT NULL THEN 'booking'
            WHEN hold_id IS NOT NULL THEN 'hold' ELSE 'block' END AS kind,
       NULL::integer AS party_size, NULL::timestamptz AS created_at
FROM allocations
WHERE restaurant_id = %(rid)s AND lower(during) >= %(from)s AND lower(during) < %(hi)s
  AND upper(during) > %(lo)s
UNION ALL
SELECT NULL, block_start, end_at, NULL, id::text, 'unassigned', party_size, created_at
FROM bookings
WHERE restaurant_id = %(rid)s AND unassigned AND status IN ('pending', 'confirmed', 'seated')
  AND block_start >= %(from)s AND block_start < %(hi)s AND end_at > %(lo)s"""

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


# Take the slot's pacing row lock only if no other writer holds it, creating the row
# when the slot has none yet (the first booking of a slot: a row this transaction
# inserts is locked by it). Waits only when another transaction is inserting the
# same new row (until it ends); says whether the lock is now held.
TRY_LOCK_SLOT_SQL = """
WITH created AS (
    INSERT INTO pacing_usage (restaurant_id, slot_start, covers, parties, max_covers, max_parties)
    VALUES (%(rid)s, %(slot)s, 0, 0, %(max_covers)s, %(max_parties)s)
    ON CONFLICT (restaurant_id, slot_start) DO NOTHING
    RETURNING 1),
mine AS (SELECT 1 FROM pacing_usage
         WHERE restaurant_id = %(rid)s AND slot_start = %(slot)s FOR UPDATE SKIP LOCKED)
SELECT EXISTS (SELECT 1 FROM created) AS created,
       EXISTS (SELECT 1 FROM created) OR EXISTS (SELECT 1 FROM mine) AS mine,
       coalesce((SELECT version FROM ledger_versions WHERE restaurant_id = %(rid)s), 1) AS ledger_version"""

# The restaurant's ledger version (migration 0010), read before a ledger read it labels.
VERSION_SQL = "SELECT coalesce((SELECT version FROM ledger_versions WHERE restaurant_id = %s), 1) AS ledger_version"


def queue_try_lock_slot(conn: Conn, rid: str, slot_start: datetime, pacing: Pacing | None) -> Cursor:
    return conn.execute(
        TRY_LOCK_SLOT_SQL,
        {
            "rid": rid,
            "slot": slot_start,
            "max_covers": pacing.max_covers_per_slot if pacing else None,
            "max_parties": pacing.max_parties_per_slot if pacing else None,
        },
    )


def try_lock_of(cursor: Cursor) -> tuple[bool, bool, int]:
    """Whether this transaction now holds the slot's pacing row lock, whether it
    created the row (then no hold of the slot has covers to give back), and the
    ledger version read before the ledger (the statement runs first)."""
    row = cursor.fetchone()
    if row is None:  # a SELECT of three expressions always returns its row
        raise LookupError("try-lock row not returned")
    return bool(row["mine"]), bool(row["created"]), int(row["ledger_version"])


def queue_version(conn: Conn, rid: str) -> Cursor:
    return conn.execute(VERSION_SQL, [rid])


def version_of(cursor: Cursor) -> int:
    row = cursor.fetchone()
    if row is None:
        raise LookupError("version row not returned")
    return int(row["ledger_version"])


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
    claims: list[Claim] = []
    for table_id, lo, hi, expires_at, ref, kind, party_size, created_at in allocations.fetchall():
        if table_id is None:
            claims.append(Claim(ref, party_size, lo, hi, created_at))
        else:
            busy[table_id].append(Busy(lo, hi, kind, ref, expires_at))
    usage = {r["slot_start"]: PacingUsage(r["covers"], r["parties"]) for r in pacing.fetchall()}
    return DayLedger(busy={k: tuple(v) for k, v in busy.items()}, pacing=usage, claims=tuple(claims))


# A business date's timeline: bookings and holds of that service date (DESIGN §3: a
# service belongs to the date it started on, after midnight included), and blocks
# overlapping the local calendar day.
TIMELINE_SQL = """
SELECT a.table_id, lower(a.during) AS lo, upper(a.during) AS hi, a.expires_at,
       coalesce(a.booking_id, a.hold_id, a.block_id)::text AS ref,
       CASE WHEN a.booking_id IS NOT NULL THEN 'booking'
            WHEN a.hold_id IS NOT NULL THEN 'hold' ELSE 'block' END AS kind
FROM allocations a
LEFT JOIN bookings b ON b.restaurant_id = a.restaurant_id AND b.id = a.booking_id
LEFT JOIN holds h ON h.restaurant_id = a.restaurant_id AND h.id = a.hold_id
WHERE a.restaurant_id = %(rid)s AND lower(a.during) >= %(from)s AND lower(a.during) < %(hi)s
  AND upper(a.during) > %(lo)s
  AND CASE WHEN a.booking_id IS NOT NULL THEN b.service_date = %(day)s
           WHEN a.hold_id IS NOT NULL THEN h.service_date = %(day)s
           ELSE upper(a.during) > %(day_lo)s AND lower(a.during) < %(day_hi)s END"""


def timeline_busy(
    conn: Conn, rid: str, day: date, span: tuple[datetime, datetime], calendar_day: tuple[datetime, datetime]
) -> dict[int, tuple[Busy, ...]]:
    """Per table, what the timeline of business date `day` shows: its bookings and
    holds (by service date, within `span`) and the blocks of its calendar day."""
    lo, hi = min(span[0], calendar_day[0]), max(span[1], calendar_day[1])
    args = {
        "rid": rid,
        "from": lo - LONGEST_BLOCK,
        "lo": lo,
        "hi": hi,
        "day": day,
        "day_lo": calendar_day[0],
        "day_hi": calendar_day[1],
    }
    busy: dict[int, list[Busy]] = defaultdict(list)
    for row in conn.cursor(row_factory=tuple_row).execute(TIMELINE_SQL, args):
        table_id, b_lo, b_hi, expires_at, ref, kind = row
        busy[table_id].append(Busy(b_lo, b_hi, kind, ref, expires_at))
    return {k: tuple(v) for k, v in busy.items()}


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


# How long a writer waits in line for a slot that another writer holds before it
# gives up its place and reads the committed ledger again (`patient_lock_slot`).
SLOT_PATIENCE = "40ms"


def patient_lock_slot(
    conn: Conn, rid: str, lo: datetime, hi: datetime, slot_start: datetime, pacing: Pacing | None, now: datetime
) -> tuple[PacingUsage, DayLedger, int] | None:
    """`lock_slot` waiting at most `SLOT_PATIENCE` for the writer holding the slot,
    then the ledger version and the ledger of `[lo, hi)` read under the lock, in one
    round trip. None when the lock was not granted in time: nothing is held or
    changed (a savepoint undoes the attempt), and a fresh read of committed rows may
    now prove a refusal, so the waiter need not queue behind every other writer of
    the slot to be refused."""
    try:
        with conn.transaction():
            conn.execute("SELECT set_config('lock_timeout', %s, true)", [SLOT_PATIENCE])
            locked = queue_lock_slot(conn, rid, slot_start, pacing, now)
            conn.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
            version = queue_version(conn, rid)
            reads = queue_ledger(conn, rid, lo, hi, now)
            usage = usage_of(locked)
    except psycopg.errors.LockNotAvailable:
        return None
    return usage, ledger_of(reads), version_of(version)


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


# The claims lock: one transaction-level advisory lock per restaurant, between the
# booking rows and the table locks in the lock order. A transaction that frees
# tables takes it before it reads the claims to place on them (`place_claims`), and a
# writer that may leave a booking unassigned (shadow enforcement) takes it before the
# read it plans on. Whichever takes it second reads after the first committed, so a
# table freed while a shadow booking is refused is never left free beside it.
LOCK_CLAIMS_SQL = "SELECT pg_advisory_xact_lock(hashtextextended(%(rid)s::text || ':claims', 0))"


def lock_claims(conn: Conn, rid: str) -> None:
    """Take the restaurant's claims lock (held to the end of the transaction; taking
    it again in the same transaction returns at once)."""
    conn.execute(LOCK_CLAIMS_SQL, {"rid": rid})


# Table locks: one transaction-level advisory lock per (restaurant, table), taken in
# ascending table order before a writer changes any allocation row of the table. Two
# writers inserting overlapping rows on one table would otherwise both insert, both
# find the other's uncommitted row in the exclusion check and wait on each other (a
# deadlock PostgreSQL breaks by killing one); with the lock, the second waits for the
# first to commit and then meets a plain exclusion violation (re-planned).
LOCK_TABLES_SQL = """
SELECT count(pg_advisory_xact_lock(hashtextextended(%(rid)s::text || ':' || t, 0))) AS locked
FROM (SELECT DISTINCT t FROM unnest(%(tables)s::bigint[]) AS t ORDER BY t) ordered"""

LOCK_BOOKING_TABLES_SQL = """
SELECT count(pg_advisory_xact_lock(hashtextextended(%(rid)s::text || ':' || t, 0))) AS locked
FROM (SELECT DISTINCT t FROM (
          SELECT unnest(%(tables)s::bigint[]) AS t
          UNION SELECT table_id FROM allocations
          WHERE restaurant_id = %(rid)s::uuid AND booking_id = %(booking)s::uuid) u
      ORDER BY t) ordered"""


def lock_tables(conn: Conn, rid: str, table_ids: Iterable[int], *, with_booking: str | None = None) -> None:
    """Take the table locks of `table_ids` (and of the tables `with_booking` holds now),
    ascending. Held to the end of the transaction. The lock order of every writer:
    slot pacing rows (ascending), then table locks (ascending), then allocation rows."""
    tables = sorted(set(table_ids))
    if with_booking is None:
        conn.execute(LOCK_TABLES_SQL, {"rid": rid, "tables": tables})
    else:
        conn.execute(LOCK_BOOKING_TABLES_SQL, {"rid": rid, "tables": tables, "booking": with_booking})


# The tables of expired holds' rows in a block: clearing them changes their rows.
LOCK_EXPIRED_TABLES_SQL = """
SELECT count(pg_advisory_xact_lock(hashtextextended(%(rid)s::text || ':' || t, 0))) AS locked
FROM (SELECT DISTINCT t FROM (
          SELECT unnest(%(tables)s::bigint[]) AS t
          UNION SELECT table_id FROM allocations
          WHERE restaurant_id = %(rid)s::uuid AND booking_id = %(booking)s::uuid
          UNION SELECT table_id FROM allocations
          WHERE restaurant_id = %(rid)s::uuid AND hold_id IS NOT NULL AND expires_at <= %(now)s
            AND during && tstzrange(%(lo)s, %(hi)s, '[)')) u
      ORDER BY t) ordered"""


def clear_expired_holds(
    conn: Conn,
    rid: str,
    block_start: datetime,
    block_end: datetime,
    now: datetime,
    table_ids: Iterable[int] = (),
    *,
    with_booking: str | None = None,
) -> None:
    """Lock `table_ids`, the tables `with_booking` holds and those of expired holds'
    rows overlapping a wanted block (see `lock_tables`), then delete those rows.

    An expired hold occupies nothing; its rows are removed here, in the writer's
    transaction, so no sweeper is needed for correctness. The hold row stays (its
    pacing is given back by whoever next locks its slot, or by the sweeper).
    """
    args = {
        "rid": rid,
        "tables": sorted(set(table_ids)),
        "booking": with_booking,
        "now": now,
        "lo": block_start,
        "hi": block_end,
    }
    conn.execute(LOCK_EXPIRED_TABLES_SQL, args)
    conn.execute(
        """DELETE FROM allocations
           WHERE restaurant_id = %(rid)s AND hold_id IS NOT NULL AND expires_at <= %(now)s
             AND during && tstzrange(%(lo)s, %(hi)s, '[)')""",
        args,
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
    ordered = sorted(table_ids)
    if not ordered:
        return
    conn.execute(
        """INSERT INTO allocations (restaurant_id, table_id, during, booking_id, hold_id, block_id, expires_at)
           SELECT %s::uuid, t, tstzrange(%s, %s, '[)'), %s::uuid, %s::uuid, %s::uuid, %s::timestamptz
           FROM unnest(%s::bigint[]) AS t ORDER BY t""",
        [rid, lo, hi, booking_id, hold_id, block_id, expires_at, ordered],
    )


def insert_allocation_rows(conn: Conn, rid: str, rows: Iterable[tuple[int, datetime, datetime, str]]) -> None:
    """Occupy many tables for many bookings, `(table_id, lo, hi, booking_id)` each, in
    ascending table order (one statement over arrays: an import).

    Raises `ExclusionViolation` when any overlaps a row of the ledger.
    """
    ordered = sorted(rows, key=lambda r: (r[0], r[1]))
    conn.execute(
        """INSERT INTO allocations (restaurant_id, table_id, during, booking_id)
           SELECT %s, t, tstzrange(lo, hi, '[)'), b
           FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::uuid[]) WITH ORDINALITY
                AS r(t, lo, hi, b, n)
           ORDER BY n""",
        [rid, *([r[i] for r in ordered] for i in range(4))],
    )


def archive_allocations(conn: Conn, rid: str, *, booking_id: str) -> int:
    """Move a booking's allocations to the archive (its tables are free at once),
    under its tables' locks (an inserter may be waiting on these rows)."""
    lock_tables(conn, rid, (), with_booking=booking_id)
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
