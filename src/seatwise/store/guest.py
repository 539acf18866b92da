"""SQL of the public guest page: a restaurant found by its slug, and the live holds
one client address keeps in a restaurant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

Conn = psycopg.Connection[dict[str, Any]]


def restaurant_id_by_slug(conn: Conn, slug: str) -> str | None:
    """The restaurant with this slug, read across tenants by one SECURITY DEFINER
    statement that reveals only the id (run it in autocommit mode)."""
    row = conn.execute("SELECT seatwise_restaurant_by_slug(%s)::text AS id", [slug]).fetchone()
    return None if row is None else row["id"]


def lock_client_address(conn: Conn, rid: str, address: str) -> None:
    """Serialise the hold writers of one (restaurant, client address) until commit, so
    two concurrent holds from one address cannot both pass the per-address count.

    Taken first in the transaction, and only by address-limited writers: it never
    sits inside the ledger's lock order (store/ledger.py)."""
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
        [f"seatwise.guest-holds:{rid}:{address}"],
    )


def live_holds_from(conn: Conn, rid: str, address: str, now: datetime) -> int:
    """How many holds taken from `address` are still live at `now`."""
    row = conn.execute(
        """SELECT count(*)::int AS n FROM holds
           WHERE restaurant_id = %s AND client_address = %s::inet AND expires_at > %s""",
        [rid, address, now],
    ).fetchone()
    return 0 if row is None else int(row["n"])
