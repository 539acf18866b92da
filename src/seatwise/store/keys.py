"""API keys: only their SHA-256 is stored. Keys are high-entropy random tokens, so a
fast hash is the right one (a slow password hash would only cost latency)."""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg

Conn = psycopg.Connection[dict[str, Any]]


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def insert_key(conn: Conn, rid: str, key_id: str, role: str, key: str) -> None:
    conn.execute(
        "INSERT INTO api_keys (restaurant_id, id, role, key_hash) VALUES (%s, %s, %s, %s)",
        [rid, key_id, role, key_hash(key)],
    )


def find_key(conn: Conn, rid: str, key: str) -> dict[str, Any] | None:
    """The key's row, read under `rid`'s tenant scope by one self-contained
    statement (the function sets the scope itself): run it in autocommit mode."""
    return conn.execute(
        "SELECT id::text AS id, role, revoked_at FROM seatwise_api_key(%s, %s)",
        [rid, key_hash(key)],
    ).fetchone()


def list_keys(conn: Conn, rid: str) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT id::text AS id, role, created_at, revoked_at FROM api_keys
           WHERE restaurant_id = %s ORDER BY created_at, id""",
        [rid],
    ).fetchall()


def revoke_key(conn: Conn, rid: str, key_id: str) -> bool:
    cur = conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE restaurant_id = %s AND id = %s AND revoked_at IS NULL",
        [rid, key_id],
    )
    return cur.rowcount == 1


def get_key(conn: Conn, rid: str, key_id: str) -> dict[str, Any] | None:
    return conn.execute(
        "SELECT id::text AS id, role, created_at, revoked_at FROM api_keys WHERE restaurant_id = %s AND id = %s",
        [rid, key_id],
    ).fetchone()
