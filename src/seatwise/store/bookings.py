"""Bookings, holds, blocks, confirmation results and the outbox."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import psycopg

Conn = psycopg.Connection[dict[str, Any]]

BOOKING_COLUMNS = """b.id::text AS id, b.status, b.party_size, b.start_at, b.block_start, b.end_at,
    b.slot_start, b.service_date, b.service_name, b.guest_name, b.guest_phone, b.guest_email,
    b.notes, b.channel, b.created_by_key::text AS created_by_key, b.allow_slack,
    b.policy_version, b.idempotency_key, b.request_hash, b.hold_id::text AS hold_id,
    b.created_at, b.updated_at, b.unassigned, b.pacing_counted, b.overbooked, b.would_refuse,
    b.external_ref, b.import_outcome, b.import_reason, b.pinned,
    array(SELECT t.label FROM booking_tables bt JOIN dining_tables t
          ON t.restaurant_id = bt.restaurant_id AND t.id = bt.table_id
          WHERE bt.restaurant_id = b.restaurant_id AND bt.booking_id = b.id ORDER BY t.id) AS labels,
    array(SELECT bt.table_id FROM booking_tables bt
          WHERE bt.restaurant_id = b.restaurant_id AND bt.booking_id = b.id ORDER BY bt.table_id) AS table_ids"""


INSERT_BOOKING_SQL = """INSERT INTO bookings (restaurant_id, id, status, party_size, start_at, block_start, end_at,
       slot_start, service_date, service_name, guest_name, guest_phone, guest_email, notes,
       channel, created_by_key, allow_slack, policy_version, idempotency_key, request_hash, hold_id,
       created_at, updated_at, unassigned, pacing_counted, overbooked, would_refuse, external_ref,
       import_outcome, import_reason, pinned)
   VALUES (%(rid)s, %(id)s, %(status)s, %(party_size)s, %(start_at)s, %(block_start)s, %(end_at)s,
       %(slot_start)s, %(service_date)s, %(service_name)s, %(guest_name)s, %(guest_phone)s,
       %(guest_email)s, %(notes)s, %(channel)s, %(created_by_key)s, %(allow_slack)s,
       %(policy_version)s, %(idempotency_key)s, %(request_hash)s, %(hold_id)s,
       %(created_at)s, %(created_at)s, %(unassigned)s, %(pacing_counted)s, %(overbooked)s,
       %(would_refuse)s, %(external_ref)s, %(import_outcome)s, %(import_reason)s,
       %(pinned)s)"""

# What a booking row says when its builder leaves these out: an ordinary booking.
_ROLLOUT_DEFAULTS = {
    "pacing_counted": True,
    "overbooked": False,
    "would_refuse": None,
    "external_ref": None,
    "import_outcome": None,
    "import_reason": None,
    "pinned": False,
}


def _booking_params(rid: str, booking: dict[str, Any], table_ids: Sequence[int]) -> dict[str, Any]:
    # An occupying booking without tables is unassigned: it keeps a claim (core.claims).
    unassigned = not table_ids and booking["status"] in ("pending", "confirmed", "seated")
    return {"rid": rid, **_ROLLOUT_DEFAULTS, **booking, "unassigned": unassigned}


# A booking and its tables in one statement (the tables' foreign key is checked at
# the statement's end, when the booking row is there).
_INSERT_BOOKING_WITH_TABLES_SQL = f"""WITH booked AS ({INSERT_BOOKING_SQL} RETURNING id)
    INSERT INTO booking_tables (restaurant_id, booking_id, table_id)
    SELECT %(rid)s::uuid, booked.id, t FROM booked, unnest(%(table_ids)s::bigint[]) AS t ORDER BY t"""  # noqa: S608 - fixed SQL


def insert_booking(conn: Conn, rid: str, booking: dict[str, Any], table_ids: Sequence[int]) -> None:
    """Insert a booking and its tables (ascending) in one statement."""
    params = {**_booking_params(rid, booking, table_ids), "table_ids": sorted(table_ids)}
    conn.execute(_INSERT_BOOKING_WITH_TABLES_SQL, params)


# Column -> SQL type, for inserting many bookings as one statement over arrays.
_BOOKING_ARRAY_COLUMNS = (
    ("id", "uuid"),
    ("status", "text"),
    ("party_size", "integer"),
    ("start_at", "timestamptz"),
    ("block_start", "timestamptz"),
    ("end_at", "timestamptz"),
    ("slot_start", "timestamptz"),
    ("service_date", "date"),
    ("service_name", "text"),
    ("guest_name", "text"),
    ("guest_phone", "text"),
    ("guest_email", "text"),
    ("notes", "text"),
    ("channel", "text"),
    ("created_by_key", "uuid"),
    ("allow_slack", "boolean"),
    ("policy_version", "text"),
    ("idempotency_key", "text"),
    ("request_hash", "text"),
    ("hold_id", "uuid"),
    ("created_at", "timestamptz"),
    ("unassigned", "boolean"),
    ("pacing_counted", "boolean"),
    ("overbooked", "boolean"),
    ("would_refuse", "text"),
    ("external_ref", "text"),
    ("import_outcome", "text"),
    ("import_reason", "text"),
    ("pinned", "boolean"),
)
_NAMES = ", ".join(c for c, _ in _BOOKING_ARRAY_COLUMNS)
_ARRAYS = ", ".join(f"%s::{t}[]" for _, t in _BOOKING_ARRAY_COLUMNS)
_INSERT_BOOKINGS_SQL = f"""INSERT INTO bookings (restaurant_id, {_NAMES}, updated_at)
    SELECT %s, *, created_at FROM unnest({_ARRAYS}) AS r({_NAMES})"""  # noqa: S608 - fixed column names


def insert_bookings(conn: Conn, rid: str, rows: Sequence[tuple[dict[str, Any], Sequence[int]]]) -> None:
    """Insert many bookings with their tables: two statements over arrays (an import)."""
    params = [_booking_params(rid, b, t) for b, t in rows]
    conn.execute(_INSERT_BOOKINGS_SQL, [rid, *([p[c] for p in params] for c, _ in _BOOKING_ARRAY_COLUMNS)])
    pairs = [(b["id"], t) for b, tables in rows for t in sorted(tables)]
    conn.execute(
        """INSERT INTO booking_tables (restaurant_id, booking_id, table_id)
           SELECT %s, * FROM unnest(%s::uuid[], %s::bigint[])""",
        [rid, [b for b, _ in pairs], [t for _, t in pairs]],
    )


def bookings_by_external_ref(conn: Conn, rid: str, refs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Bookings imported earlier, by their external reference."""
    rows = conn.execute(
        f"SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.restaurant_id = %s AND b.external_ref = ANY(%s)",  # noqa: S608 - fixed SQL
        [rid, list(refs)],
    ).fetchall()
    return {r["external_ref"]: r for r in rows}


def lock_unassigned(conn: Conn, rid: str, booking_ids: Sequence[str]) -> dict[str, tuple[datetime, datetime]]:
    """Lock these bookings (ascending id); the blocks of those still unassigned and live."""
    rows = conn.execute(
        """SELECT id::text AS id, block_start, end_at FROM bookings
           WHERE restaurant_id = %s AND id = ANY(%s::uuid[]) AND unassigned
             AND status IN ('pending', 'confirmed', 'seated')
           ORDER BY id FOR UPDATE""",
        [rid, list(booking_ids)],
    ).fetchall()
    return {r["id"]: (r["block_start"], r["end_at"]) for r in rows}


def set_booking_tables(conn: Conn, rid: str, booking_id: str, table_ids: Sequence[int]) -> None:
    """Replace a live booking's tables (none: it becomes unassigned, keeping its claim)."""
    conn.execute("DELETE FROM booking_tables WHERE restaurant_id = %s AND booking_id = %s", [rid, booking_id])
    conn.execute(
        "UPDATE bookings SET unassigned = %s, updated_at = now() WHERE restaurant_id = %s AND id = %s",
        [not table_ids, rid, booking_id],
    )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO booking_tables (restaurant_id, booking_id, table_id) VALUES (%s, %s, %s)",
            [(rid, booking_id, t) for t in sorted(table_ids)],
        )


def get_booking(conn: Conn, rid: str, booking_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE OF b" if for_update else ""
    return conn.execute(
        f"SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.restaurant_id = %s AND b.id = %s{lock}",  # noqa: S608 - fixed SQL
        [rid, booking_id],
    ).fetchone()


def booking_by_idempotency_key(conn: Conn, rid: str, key: str) -> dict[str, Any] | None:
    return conn.execute(
        f"SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.restaurant_id = %s AND b.idempotency_key = %s",  # noqa: S608
        [rid, key],
    ).fetchone()


def bookings_on(conn: Conn, rid: str, service_date: date) -> list[dict[str, Any]]:
    return conn.execute(
        f"""SELECT {BOOKING_COLUMNS} FROM bookings b
            WHERE b.restaurant_id = %s AND b.service_date = %s ORDER BY b.start_at, b.created_at, b.id""",  # noqa: S608
        [rid, service_date],
    ).fetchall()


def set_status(conn: Conn, rid: str, booking_id: str, status: str) -> None:
    # A booking that stops occupying gives up its claim (if it had one).
    conn.execute(
        """UPDATE bookings SET status = %s, updated_at = now(),
               unassigned = unassigned AND %s IN ('pending', 'confirmed', 'seated')
           WHERE restaurant_id = %s AND id = %s""",
        [status, status, rid, booking_id],
    )


def set_pinned(conn: Conn, rid: str, booking_id: str, pinned: bool) -> None:
    conn.execute(
        "UPDATE bookings SET pinned = %s, updated_at = now() WHERE restaurant_id = %s AND id = %s",
        [pinned, rid, booking_id],
    )


def insert_hold(conn: Conn, rid: str, hold: dict[str, Any]) -> None:
    """Insert a hold row; `client_address` (optional) is where a guest-page hold came from."""
    conn.execute(
        """INSERT INTO holds (restaurant_id, id, party_size, start_at, block_start, end_at, slot_start,
               service_date, service_name, expires_at, policy_version, created_by_key, client_address,
               venue_version, pinned)
           VALUES (%(rid)s, %(id)s, %(party_size)s, %(start_at)s, %(block_start)s, %(end_at)s, %(slot_start)s,
               %(service_date)s, %(service_name)s, %(expires_at)s, %(policy_version)s, %(created_by_key)s,
               %(client_address)s::inet, %(venue_version)s, %(pinned)s)""",
        {"rid": rid, "client_address": None, "venue_version": None, "pinned": False, **hold},
    )


HOLD_COLUMNS = """h.id::text AS id, h.party_size, h.start_at, h.block_start, h.end_at, h.slot_start,
    h.service_date, h.service_name, h.expires_at, h.pacing_released, h.policy_version, h.venue_version, h.pinned,
    h.created_by_key::text AS created_by_key, h.created_at,
    array(SELECT a.table_id FROM allocations a WHERE a.restaurant_id = h.restaurant_id
          AND a.hold_id = h.id ORDER BY a.table_id) AS table_ids"""


def get_hold(conn: Conn, rid: str, hold_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE OF h" if for_update else ""
    return conn.execute(
        f"SELECT {HOLD_COLUMNS} FROM holds h WHERE h.restaurant_id = %s AND h.id = %s{lock}",  # noqa: S608
        [rid, hold_id],
    ).fetchone()


def delete_hold(conn: Conn, rid: str, hold_id: str) -> None:
    conn.execute("DELETE FROM holds WHERE restaurant_id = %s AND id = %s", [rid, hold_id])


def transfer_hold_allocations(conn: Conn, rid: str, hold_id: str, booking_id: str) -> int:
    """Hand a hold's allocation rows to a booking in place: the tables are never free
    in between and never held twice."""
    cur = conn.execute(
        """UPDATE allocations SET booking_id = %s, hold_id = NULL, expires_at = NULL
           WHERE restaurant_id = %s AND hold_id = %s""",
        [booking_id, rid, hold_id],
    )
    return cur.rowcount


def delete_hold_allocations(conn: Conn, rid: str, hold_id: str) -> None:
    conn.execute("DELETE FROM allocations WHERE restaurant_id = %s AND hold_id = %s", [rid, hold_id])


def confirmation_for(
    conn: Conn, rid: str, *, hold_id: str | None = None, key: str | None = None
) -> dict[str, Any] | None:
    arg: str | None
    if hold_id is not None:
        where, arg = "hold_id = %s", hold_id
    else:
        where, arg = "idempotency_key = %s", key
    return conn.execute(
        f"""SELECT booking_id::text AS booking_id, hold_id::text AS hold_id, idempotency_key
            FROM booking_confirmation_results WHERE restaurant_id = %s AND {where}""",  # noqa: S608
        [rid, arg],
    ).fetchone()


def insert_confirmation(
    conn: Conn,
    rid: str,
    *,
    booking_id: str,
    hold_id: str,
    key: str | None,
    table_ids: Sequence[int],
    lo: datetime,
    hi: datetime,
    actor: str,
) -> None:
    conn.execute(
        """INSERT INTO booking_confirmation_results
               (restaurant_id, booking_id, hold_id, idempotency_key, table_ids, during, actor)
           VALUES (%s, %s, %s, %s, %s, tstzrange(%s, %s, '[)'), %s)""",
        [rid, booking_id, hold_id, key, list(table_ids), lo, hi, actor],
    )


def emit(conn: Conn, rid: str, event: str, payload: dict[str, Any]) -> None:
    """Write an outbox event in the caller's transaction (relayed after commit)."""
    conn.execute(
        "INSERT INTO outbox (restaurant_id, event, payload) VALUES (%s, %s, %s)",
        [rid, event, json.dumps(payload, default=str)],
    )


def emit_many(conn: Conn, rid: str, event: str, payloads: Sequence[dict[str, Any]]) -> None:
    """Write many outbox events of one type in the caller's transaction (one statement)."""
    conn.execute(
        "INSERT INTO outbox (restaurant_id, event, payload) SELECT %s, %s, * FROM unnest(%s::jsonb[])",
        [rid, event, [json.dumps(p, default=str) for p in payloads]],
    )


def set_allow_slack(conn: Conn, rid: str, booking_id: str, allow_slack: bool) -> None:
    conn.execute(
        "UPDATE bookings SET allow_slack = %s, updated_at = now() WHERE restaurant_id = %s AND id = %s",
        [allow_slack, rid, booking_id],
    )


def reschedule(conn: Conn, rid: str, booking_id: str, fields: dict[str, Any]) -> None:
    """Set a booking's party and window (the caller moved its allocations and counted
    the party in the new slot's pacing)."""
    conn.execute(
        """UPDATE bookings SET party_size = %(party_size)s, start_at = %(start_at)s,
               block_start = %(block_start)s, end_at = %(end_at)s, slot_start = %(slot_start)s,
               service_date = %(service_date)s, service_name = %(service_name)s,
               policy_version = %(policy_version)s, pacing_counted = true, updated_at = now()
           WHERE restaurant_id = %(rid)s AND id = %(id)s""",
        {"rid": rid, "id": booking_id, **fields},
    )


def live_bookings_after(conn: Conn, rid: str, now: datetime) -> list[dict[str, Any]]:
    """Bookings that still occupy tables after `now` (pending, confirmed or seated)."""
    return conn.execute(
        f"""SELECT {BOOKING_COLUMNS} FROM bookings b
            WHERE b.restaurant_id = %s AND b.end_at > %s AND b.status IN ('pending', 'confirmed', 'seated')
            ORDER BY b.start_at, b.id""",  # noqa: S608 - fixed SQL
        [rid, now],
    ).fetchall()


def insert_block(conn: Conn, rid: str, block_id: str, start: datetime, end: datetime, reason: str) -> None:
    conn.execute(
        "INSERT INTO blocks (restaurant_id, id, start_at, end_at, reason) VALUES (%s, %s, %s, %s, %s)",
        [rid, block_id, start, end, reason],
    )


def delete_block(conn: Conn, rid: str, block_id: str) -> tuple[datetime, datetime] | None:
    """Lift a block (its allocations go with it, ON DELETE CASCADE); its span, or None."""
    row = conn.execute(
        "DELETE FROM blocks WHERE restaurant_id = %s AND id = %s RETURNING start_at, end_at", [rid, block_id]
    ).fetchone()
    return None if row is None else (row["start_at"], row["end_at"])


def past_bookings(conn: Conn, rid: str, service_name: str, dates: Sequence[date]) -> list[dict[str, Any]]:
    """Bookings of one service on these service dates, any status but cancelled:
    what a demand profile learns from (through the `bookings_by_date` index)."""
    return conn.execute(
        """SELECT service_date, service_name, party_size, start_at FROM bookings
           WHERE restaurant_id = %s AND service_date = ANY(%s) AND service_name = %s AND status <> 'cancelled'""",
        [rid, list(dates), service_name],
    ).fetchall()
