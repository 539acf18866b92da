"""The ledger audit's SQL: one cross-tenant SECURITY DEFINER function (migration 0009),
executable by the workers' role only."""

from __future__ import annotations

from typing import Any

import psycopg

Conn = psycopg.Connection[dict[str, Any]]


def ledger_findings(conn: Conn) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT kind, restaurant_id::text AS restaurant_id, detail FROM seatwise_ledger_audit()"
        " ORDER BY kind, restaurant_id, detail"
    ).fetchall()
