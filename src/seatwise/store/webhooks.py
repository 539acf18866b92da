"""Webhooks, deliveries and the attempt log.

Registration, listing and the delivery log run in tenant transactions of the
application role. Fan-out and claiming cross tenants: they are the SECURITY DEFINER
functions of migration 0005, called on the workers' role (autocommit: each call is
one transaction, committed before any HTTP request is made).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import psycopg

Conn = psycopg.Connection[dict[str, Any]]

WEBHOOK_COLUMNS = "id::text AS id, url, events, description, created_at"


def insert_webhook(
    conn: Conn, rid: str, webhook_id: str, url: str, events: Sequence[str], description: str, secret_sealed: str
) -> dict[str, Any]:
    row = conn.execute(
        f"""INSERT INTO webhooks (restaurant_id, id, url, events, description, secret_sealed)
            VALUES (%s, %s, %s, %s, %s, %s) RETURNING {WEBHOOK_COLUMNS}""",  # noqa: S608 - fixed SQL
        [rid, webhook_id, url, list(events), description, secret_sealed],
    ).fetchone()
    if row is None:  # INSERT .. RETURNING returns its row
        raise LookupError("webhook not returned")
    return row


def list_webhooks(conn: Conn, rid: str) -> list[dict[str, Any]]:
    return conn.execute(
        f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE restaurant_id = %s ORDER BY created_at, id",  # noqa: S608
        [rid],
    ).fetchall()


def webhook_exists(conn: Conn, rid: str, webhook_id: str) -> bool:
    row = conn.execute("SELECT 1 FROM webhooks WHERE restaurant_id = %s AND id = %s", [rid, webhook_id]).fetchone()
    return row is not None


def delete_webhook(conn: Conn, rid: str, webhook_id: str) -> bool:
    """Delete a webhook with its pending deliveries and log (ON DELETE CASCADE)."""
    return conn.execute("DELETE FROM webhooks WHERE restaurant_id = %s AND id = %s", [rid, webhook_id]).rowcount == 1


def recent_attempts(conn: Conn, rid: str, webhook_id: str, limit: int) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT event_id, event_type, attempt, status, response_status, error, at
           FROM webhook_attempts WHERE restaurant_id = %s AND webhook_id = %s
           ORDER BY at DESC, id DESC LIMIT %s""",
        [rid, webhook_id, limit],
    ).fetchall()


def record_attempts(conn: Conn, rid: str, attempts: Sequence[dict[str, Any]]) -> None:
    """Log attempts made and move their deliveries on, each attempt a dict of `webhook`,
    `event`, `type`, `attempt`, `status`, `next_at`, `response`, `error`, `ms`.

    A delivery changes only while it is still at that attempt (a relay whose lease ran
    out does not overwrite a newer one); nothing is written for a webhook deleted
    meanwhile. executemany sends each statement's rows in one pipeline."""
    rows = [{"rid": rid, **a} for a in attempts]
    with conn.cursor() as cur:
        cur.executemany(
            """UPDATE webhook_deliveries SET status = %(status)s, next_attempt_at = %(next_at)s, updated_at = now()
               WHERE restaurant_id = %(rid)s AND webhook_id = %(webhook)s AND event_id = %(event)s
                 AND attempts = %(attempt)s""",
            rows,
        )
        cur.executemany(
            """INSERT INTO webhook_attempts (restaurant_id, webhook_id, event_id, event_type, attempt, status,
                   response_status, error, duration_ms)
               SELECT %(rid)s, %(webhook)s, %(event)s, %(type)s, %(attempt)s, %(status)s, %(response)s,
                      %(error)s, %(ms)s
               WHERE EXISTS (SELECT FROM webhook_deliveries
                             WHERE restaurant_id = %(rid)s AND webhook_id = %(webhook)s AND event_id = %(event)s)""",
            rows,
        )


# --- cross-tenant (the workers' role, autocommit) -------------------------------------


def fan_out(conn: Conn, batch_size: int) -> int:
    """Turn up to `batch_size` unrelayed outbox events into deliveries; the number relayed."""
    row = conn.execute("SELECT seatwise_fanout_outbox(%s) AS n", [batch_size]).fetchone()
    return int(row["n"]) if row else 0


def claim_deliveries(conn: Conn, batch_size: int, lease: timedelta, max_attempts: int) -> list[dict[str, Any]]:
    """Claim due deliveries: each row is one attempt this caller alone makes."""
    return conn.execute(
        """SELECT restaurant_id::text AS restaurant_id, webhook_id::text AS webhook_id, event_id, attempt,
                  url, secret_sealed, event, payload, created_at
           FROM seatwise_claim_deliveries(%s, %s, %s)""",
        [batch_size, lease, max_attempts],
    ).fetchall()
