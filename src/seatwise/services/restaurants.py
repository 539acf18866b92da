"""Use cases around a restaurant and its venue: create, read, snapshot."""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import replace
from typing import Any

from seatwise.core.errors import ErrorCode, NotFound, SeatwiseError
from seatwise.core.model import Venue
from seatwise.core.venue_doc import parse_venue_document, policy_version, venue_to_document
from seatwise.store import keys, venues
from seatwise.store.db import Database
from seatwise.store.venues import Conn

ROLES = ("staff", "channel")


def new_api_key(rid: str) -> str:
    """`sw_<restaurant hex>_<secret>`: the restaurant part lets authentication stay
    inside one tenant (no cross-tenant lookup, distributable by restaurant)."""
    return f"sw_{uuid.UUID(rid).hex}_{secrets.token_urlsafe(24)}"


def create_restaurant(db: Database, document: object) -> dict[str, Any]:
    """Validate a venue document whole, then write the restaurant and two keys."""
    venue = parse_venue_document(document)
    canonical = venue_to_document(venue)
    rid = str(uuid.uuid4())
    api_keys = {role: new_api_key(rid) for role in ROLES}
    with db.tenant(rid) as conn:
        try:
            venues.insert_restaurant(conn, rid, venue, canonical["policy"], policy_version(venue.policy))
        except venues.SlugTaken:
            raise SeatwiseError(
                f"slug {venue.slug!r} is already used by another restaurant",
                code=ErrorCode.SLUG_TAKEN,
                slug=venue.slug,
            ) from None
        for role, key in api_keys.items():
            keys.insert_key(conn, rid, str(uuid.uuid4()), role, key)
        out = restaurant_view(conn, rid)
    out["api_keys"] = api_keys
    return out


def restaurant_view(conn: Conn, rid: str) -> dict[str, Any]:
    row = venues.restaurant_row(conn, rid)
    if row is None:
        raise NotFound("no such restaurant")
    venue = venue_snapshot(conn, rid, row)
    return {
        "id": row["id"],
        "slug": row["slug"],
        "name": row["name"],
        "timezone": row["timezone"],
        "slot_minutes": row["slot_minutes"],
        "venue_version": row["venue_version"],
        "policy_version": row["policy_version"],
        "zones": [{"key": z.key, "name": z.name} for z in venue.zones],
        "tables": len(venue.tables),
        "created_at": row["created_at"].isoformat(),
    }


def get_restaurant(db: Database, rid: str) -> dict[str, Any]:
    with db.tenant(rid) as conn:
        return restaurant_view(conn, rid)


def export_venue(db: Database, rid: str) -> dict[str, Any]:
    with db.tenant(rid) as conn:
        row = venues.restaurant_row(conn, rid)
        if row is None:
            raise NotFound("no such restaurant")
        return venue_to_document(venue_snapshot(conn, rid, row))


_cache: dict[str, Venue] = {}
_cache_lock = threading.Lock()


def venue_snapshot(conn: Conn, rid: str, row: dict[str, Any] | None = None) -> Venue:
    """The restaurant's venue at its current venue version (cached by version).

    The version is bumped in the same transaction as any venue change, so a cached
    snapshot is never stale for the transaction that reads `row`.
    """
    if row is None:
        row = venues.restaurant_row(conn, rid)
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
