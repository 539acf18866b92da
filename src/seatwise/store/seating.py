"""What re-seating and the optimizer read and lock: a service's bookings on tables,
and the deferred overlap check of a transaction that swaps tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import psycopg

Conn = psycopg.Connection[dict[str, Any]]

# Occupying bookings of one service that hold tables (unassigned ones only claim).
_SEATED_COLUMNS = """b.id::text AS id, b.status, b.pinned, b.party_size, b.block_start, b.end_at,
    array(SELECT bt.table_id FROM booking_tables bt
          WHERE bt.restaurant_id = b.restaurant_id AND bt.booking_id = b.id ORDER BY bt.table_id) AS table_ids"""

SERVICE_BOOKINGS_SQL = f"""SELECT {_SEATED_COLUMNS} FROM bookings b
WHERE b.restaurant_id = %s AND b.service_date = %s AND b.service_name = %s
  AND b.status IN ('pending', 'confirmed', 'seated') AND NOT b.unassigned
ORDER BY b.id"""  # noqa: S608 - fixed column list

LOCK_BOOKINGS_SQL = f"""SELECT {_SEATED_COLUMNS} FROM bookings b
WHERE b.restaurant_id = %s AND b.id = ANY(%s::uuid[])
ORDER BY b.id FOR UPDATE OF b"""  # noqa: S608 - fixed column list


def service_bookings(conn: Conn, rid: str, service_date: date, service_name: str) -> list[dict[str, Any]]:
    """Every occupying booking of the service on tables: id, status, pinned,
    party_size, block_start, end_at, table_ids (ascending)."""
    return conn.execute(SERVICE_BOOKINGS_SQL, [rid, service_date, service_name]).fetchall()


def lock_bookings(conn: Conn, rid: str, booking_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Lock these bookings' rows in ascending id order (the lock order's step 4) and
    return them as :func:`service_bookings` does, by id."""
    rows = conn.execute(LOCK_BOOKINGS_SQL, [rid, sorted(booking_ids)]).fetchall()
    return {r["id"]: r for r in rows}


def defer_overlap_check(conn: Conn) -> None:
    """Check `allocations_no_overlap` at this transaction's commit instead of at each
    statement, so tables can be swapped between bookings; an overlap still left at
    commit fails the commit and nothing is written."""
    conn.execute("SET CONSTRAINTS allocations_no_overlap DEFERRED")
