"""Use cases around a restaurant and its venue: create, read, snapshot."""

from __future__ import annotations

import secrets
import uuid
import zoneinfo
from dataclasses import fields
from datetime import UTC, datetime, tzinfo
from typing import Any

from seatwise.core.assignment import check_assignment
from seatwise.core.errors import NotFound, OutsideServiceHours, SlugTaken, ValidationFailed, VenueInUse
from seatwise.core.model import EMPTY_LEDGER, Venue
from seatwise.core.timerules import service_at, venue_zone
from seatwise.core.venue_doc import parse_venue_document, policy_version, venue_to_document
from seatwise.services.ids import parse_id
from seatwise.services.results import ApiKey, CreatedApiKey, CreatedRestaurant, Restaurant, ZoneInfo
from seatwise.services.snapshot import venue_snapshot
from seatwise.store import bookings as bookings_repo
from seatwise.store import keys, venues
from seatwise.store.db import Database
from seatwise.store.venues import Conn

ROLES = ("staff", "channel")


def new_api_key(rid: str) -> str:
    """`sw_<restaurant hex>_<secret>`: the restaurant part lets authentication stay
    inside one tenant (no cross-tenant lookup, distributable by restaurant)."""
    return f"sw_{uuid.UUID(rid).hex}_{secrets.token_urlsafe(24)}"


def create_restaurant(db: Database, document: object) -> CreatedRestaurant:
    """Validate a venue document whole, then write the restaurant and two keys."""
    venue = parse_venue_document(document)
    canonical = venue_to_document(venue)
    rid = str(uuid.uuid4())
    api_keys = {role: new_api_key(rid) for role in ROLES}
    with db.tenant(rid) as conn:
        try:
            venues.insert_restaurant(conn, rid, venue, canonical["policy"], policy_version(venue.policy))
        except venues.SlugTaken:
            raise SlugTaken(venue.slug) from None
        for role, key in api_keys.items():
            keys.insert_key(conn, rid, str(uuid.uuid4()), role, key)
        out = restaurant_view(conn, rid)
    return CreatedRestaurant(**{f.name: getattr(out, f.name) for f in fields(out)}, api_keys=api_keys)


def restaurant_view(conn: Conn, rid: str) -> Restaurant:
    row = venues.restaurant_row(conn, rid)
    if row is None:
        raise NotFound("no such restaurant")
    venue = venue_snapshot(conn, rid, row)
    return Restaurant(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        timezone=row["timezone"],
        slot_minutes=row["slot_minutes"],
        venue_version=row["venue_version"],
        policy_version=row["policy_version"],
        zones=tuple(ZoneInfo(z.key, z.name) for z in venue.zones),
        tables=len(venue.tables),
        created_at=row["created_at"].astimezone(venue_zone(venue)),
    )


def get_restaurant(db: Database, rid: str) -> Restaurant:
    with db.tenant(rid) as conn:
        return restaurant_view(conn, rid)


def export_venue(db: Database, rid: str) -> dict[str, Any]:
    rid = parse_id(rid, "restaurant")
    with db.tenant(rid) as conn:
        row = venues.restaurant_row(conn, rid)
        if row is None:
            raise NotFound("no such restaurant")
        return venue_to_document(venue_snapshot(conn, rid, row))


# --- venue changes ----------------------------------------------------------------------


def _time_reasons(new: Venue, old_zone: tzinfo, row: dict[str, Any], now: datetime) -> list[str]:
    """Why a future booking's time no longer works under the new venue: another
    time zone would move its local wall time (the instant is kept), or no service of
    the new policy takes its start (hours changed, a new closure, a later last seating)."""
    start: datetime = row["start_at"]
    if start <= now:
        return []  # under way: the party is already here
    reasons = []
    was, would_be = start.astimezone(old_zone), start.astimezone(venue_zone(new))
    if was.replace(tzinfo=None) != would_be.replace(tzinfo=None):
        reasons.append(
            f"time zone {new.timezone} would move it from {was:%Y-%m-%d %H:%M} to {would_be:%Y-%m-%d %H:%M} local time"
        )
    else:
        try:
            service_at(new, start)
        except OutsideServiceHours as exc:
            reasons.append(exc.detail)
    return reasons


def _stranded(new: Venue, old_zone: tzinfo, rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The live bookings the new venue could no longer seat on their tables, or at
    their time.

    A booking is stranded when one of its tables is removed or put out of service,
    when its tables no longer take the party (a single table's min/max party, a
    combination's total seats), when its combination would span two zones, or (for
    one not yet started) when its time would move or fall outside every service
    (see `_time_reasons`). Adjacency and slack are layout advice, not a reason to refuse.
    """
    out = []
    for row in rows:
        labels = list(row["labels"])
        if not labels:
            continue  # unassigned: no table to strand, its claim carries over
        removed = [x for x in labels if x not in new.table_by_label]
        if removed:
            reasons = [f"removed: {', '.join(removed)}"]
        else:
            checks = check_assignment(
                new, row["party_size"], labels, row["block_start"], row["end_at"], EMPTY_LEDGER, now
            )
            reasons = [c.message for c in checks if not c.ok and c.check in ("capacity", "zone")]
        reasons += _time_reasons(new, old_zone, row, now)
        if reasons:
            out.append(
                {
                    "id": row["id"],
                    "start": row["start_at"].isoformat(),
                    "party_size": row["party_size"],
                    "tables": labels,
                    "reason": "; ".join(reasons),
                }
            )
    return out


def replace_venue(db: Database, rid: str, document: object) -> Restaurant:
    """Replace the whole venue document, keeping bookings.

    Validated whole first. Refused with 409 VENUE_IN_USE, listing them, when future
    live bookings would be stranded (see :func:`_stranded`). Bumps the venue version
    (so every cached snapshot is dropped) and records the policy version, in the
    same transaction as the layout.
    """
    new = parse_venue_document(document)
    canonical = venue_to_document(new)
    version = policy_version(new.policy)

    def use_case(conn: Conn) -> Restaurant:
        # FOR UPDATE: one venue change at a time, and it waits out every ledger writer
        # in flight (they hold the row FOR KEY SHARE), so none plans on the old venue.
        current = venues.lock_restaurant(conn, rid)
        if current is None:
            raise NotFound("no such restaurant")
        now = datetime.now(UTC)
        old_zone = zoneinfo.ZoneInfo(current["timezone"])
        stranded = _stranded(new, old_zone, bookings_repo.live_bookings_after(conn, rid, now), now)
        if stranded:
            raise VenueInUse(f"{len(stranded)} future booking(s) would be stranded by this change", bookings=stranded)
        try:
            venues.update_restaurant(conn, rid, new, version)
        except venues.SlugTaken:
            raise SlugTaken(new.slug) from None
        venues.insert_policy(conn, rid, canonical["policy"], version)
        venues.write_layout(conn, rid, new)
        return restaurant_view(conn, rid)

    return db.run(rid, use_case)


# --- API keys ---------------------------------------------------------------------------


def _key_of(row: dict[str, Any], zone: tzinfo) -> ApiKey:
    """A key as the API shows it: its instants with the restaurant's local offset."""
    revoked = row["revoked_at"].astimezone(zone) if row["revoked_at"] is not None else None
    return ApiKey(id=row["id"], role=row["role"], created_at=row["created_at"].astimezone(zone), revoked_at=revoked)


def _zone(conn: Conn, rid: str) -> tzinfo:
    restaurant = venues.restaurant_row(conn, rid)
    if restaurant is None:
        raise NotFound("no such restaurant")
    return zoneinfo.ZoneInfo(restaurant["timezone"])


def create_api_key(db: Database, rid: str, role: str) -> CreatedApiKey:
    """A new key for `role`; the secret is in this answer only (its hash is stored)."""
    if role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}")
    key_id, key = str(uuid.uuid4()), new_api_key(rid)
    with db.tenant(rid) as conn:
        zone = _zone(conn, rid)
        keys.insert_key(conn, rid, key_id, role, key)
        row = keys.get_key(conn, rid, key_id)
    if row is None:
        raise NotFound("no such API key")
    return CreatedApiKey(**{f.name: getattr(_key_of(row, zone), f.name) for f in fields(ApiKey)}, key=key)


def list_api_keys(db: Database, rid: str) -> list[ApiKey]:
    with db.tenant(rid) as conn:
        zone = _zone(conn, rid)
        return [_key_of(r, zone) for r in keys.list_keys(conn, rid)]


def revoke_api_key(db: Database, rid: str, key_id: str) -> None:
    """Revoke a key (at once: every request looks its key up). Revoking twice is fine."""
    key_id = parse_id(key_id, "API key")
    with db.tenant(rid) as conn:
        if keys.get_key(conn, rid, key_id) is None:
            raise NotFound("no such API key")
        keys.revoke_key(conn, rid, key_id)
