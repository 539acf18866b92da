"""The venue snapshot a use case plans on, cached by venue version.

The version is bumped in the same transaction as any venue change, so a cached
snapshot is never stale for the transaction that read the restaurant row.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from seatwise.core.errors import NotFound
from seatwise.core.model import Venue
from seatwise.core.venue_doc import parse_venue_document
from seatwise.store import venues
from seatwise.store.venues import Conn

_cache: dict[str, Venue] = {}
_cache_lock = threading.Lock()


def venue_snapshot(conn: Conn, rid: str, row: dict[str, Any] | None = None, *, for_write: bool = False) -> Venue:
    """The restaurant's venue at its current venue version (cached by version).

    The version is bumped in the same transaction as any venue change, so a cached
    snapshot is never stale for the transaction that reads `row`. Use cases that
    write the ledger pass `for_write`: the venue cannot change until they commit.
    """
    if row is None:
        row = venues.restaurant_row(conn, rid, for_write=for_write)
        if row is None:
            raise NotFound("no such restaurant")
    cached = _cache.get(rid)
    if cached is not None and cached.version == row["venue_version"]:
        return cached
    zones, tables, edges, policy_doc = venues.venue_parts(conn, rid)
    document = {
        "name": row["name"],
        "slug": row["slug"],
        "timezone": row["timezone"],
        "slot_minutes": row["slot_minutes"],
        "policy": policy_doc,
        "zones": [{"key": z["key"], "name": z["name"]} for z in zones],
        "tables": [
            {
                "label": t["label"],
                "zone": t["zone_key"],
                "seats": t["seats"],
                "min_party": t["min_party"],
                "max_party": t["max_party"],
                "movable": t["movable"],
                "active": t["active"],
            }
            for t in tables
        ],
        "adjacency": [[e["a"], e["b"]] for e in edges],
    }
    parsed = parse_venue_document(document)
    # The document numbers tables by position; give them their database ids.
    db_id = {t.id: tables[t.id - 1]["id"] for t in parsed.tables}
    venue = replace(
        parsed,
        tables=tuple(replace(t, id=db_id[t.id]) for t in parsed.tables),
        adjacency=frozenset(frozenset(db_id[i] for i in e) for e in parsed.adjacency),
        restaurant_id=rid,
        version=row["venue_version"],
    )
    with _cache_lock:
        _cache[rid] = venue
    return venue


def clear_cache() -> None:
    """Forget every cached snapshot (as in a fresh process)."""
    with _cache_lock:
        _cache.clear()
