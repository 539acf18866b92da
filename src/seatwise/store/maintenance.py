"""SQL of the background jobs: the cross-tenant passes, and the per-tenant hold sweep.

Cross-tenant functions (`seatwise_*`, migration 0005) are SECURITY DEFINER and only
the workers' role `seatwise_jobs` may execute them; each call is one statement, so
on an autocommit connection each batch is its own transaction. The per-tenant hold
sweep runs in an ordinary tenant transaction of the application role.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg

from seatwise.store.bookings import HOLD_COLUMNS

Conn = psycopg.Connection[dict[str, Any]]


def _count(conn: Conn, statement: str, args: Sequence[object]) -> int:
    row = conn.execute(statement, args).fetchone()
    return int(row["n"]) if row else 0


# --- cross-tenant (the workers' role, autocommit) -------------------------------------


def tenants_with_due_holds(conn: Conn, now: datetime, grace: timedelta) -> list[str]:
    rows = conn.execute("SELECT r::text AS rid FROM seatwise_tenants_with_due_holds(%s, %s) AS r", [now, grace])
    return sorted(row["rid"] for row in rows.fetchall())


def archive_batch(conn: Conn, cutoff: datetime, batch_size: int) -> int:
    """Move up to `batch_size` allocations that ended before `cutoff`; one transaction."""
    return _count(conn, "SELECT seatwise_archive_allocations(%s, %s) AS n", [cutoff, batch_size])


def prune_confirmations(conn: Conn, before: datetime, batch_size: int) -> int:
    return _count(conn, "SELECT seatwise_prune_confirmations(%s, %s) AS n", [before, batch_size])


def prune_idempotency_keys(conn: Conn, before: datetime, batch_size: int) -> int:
    return _count(conn, "SELECT seatwise_prune_idempotency_keys(%s, %s) AS n", [before, batch_size])


def prune_outbox(conn: Conn, before: datetime, batch_size: int) -> int:
    return _count(conn, "SELECT seatwise_prune_outbox(%s, %s) AS n", [before, batch_size])


# --- one tenant (the application role, in a tenant transaction) -----------------------


def holds_to_announce(conn: Conn, rid: str, now: datetime) -> list[dict[str, Any]]:
    """Expired holds not announced yet, locked; a concurrent sweeper skips them."""
    return conn.execute(
        f"""SELECT {HOLD_COLUMNS} FROM holds h
            WHERE h.restaurant_id = %s AND h.expires_at <= %s AND NOT h.expiry_announced
            ORDER BY h.slot_start, h.id FOR UPDATE OF h SKIP LOCKED""",  # noqa: S608 - fixed SQL
        [rid, now],
    ).fetchall()


def mark_announced(conn: Conn, rid: str, hold_ids: Sequence[str]) -> None:
    conn.execute(
        "UPDATE holds SET expiry_announced = true WHERE restaurant_id = %s AND id = ANY(%s::uuid[])",
        [rid, list(hold_ids)],
    )


def holds_past_grace(conn: Conn, rid: str, expired_before: datetime) -> list[dict[str, Any]]:
    """Announced holds that expired before `expired_before`, locked (slot order)."""
    return conn.execute(
        """SELECT h.id::text AS id, h.slot_start FROM holds h
           WHERE h.restaurant_id = %s AND h.expires_at <= %s AND h.expiry_announced
           ORDER BY h.slot_start, h.id FOR UPDATE OF h SKIP LOCKED""",
        [rid, expired_before],
    ).fetchall()


def delete_holds(conn: Conn, rid: str, hold_ids: Sequence[str]) -> int:
    """Delete holds (their allocations go with them); the caller gave back their pacing."""
    cur = conn.execute(
        "DELETE FROM holds WHERE restaurant_id = %s AND id = ANY(%s::uuid[]) AND pacing_released",
        [rid, list(hold_ids)],
    )
    return cur.rowcount
