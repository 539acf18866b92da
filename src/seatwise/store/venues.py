"""Restaurants, zones, tables, adjacency and versioned policy rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from seatwise.core.model import Position, Shape, Table, Venue, Zone

Conn = psycopg.Connection[dict[str, Any]]


class SlugTaken(Exception):
    pass


def _mark_venue_written(conn: Conn) -> None:
    """Note, for the rest of this transaction only, that it wrote a venue version.

    A transaction-local setting: commit or rollback (of a savepoint too) drops it, so
    it is on exactly while the version it wrote is uncommitted and seen by no other.
    """
    conn.execute("SELECT set_config('seatwise.venue_written', 'on', true)")


def insert_restaurant(conn: Conn, rid: str, venue: Venue, policy_doc: dict[str, Any], policy_version: str) -> None:
    """Insert a restaurant with its whole venue. The caller's transaction is scoped to `rid`."""
    try:
        with conn.transaction():  # savepoint: a taken slug must not poison the caller
            _mark_venue_written(conn)
            conn.execute(
                """INSERT INTO restaurants (id, slug, name, timezone, slot_minutes, policy_version)
                   VALUES (%s, %s, %s, %s, %s, %s)""",
                [rid, venue.slug, venue.name, venue.timezone, venue.slot_minutes, policy_version],
            )
    except pg_errors.UniqueViolation as exc:
        raise SlugTaken(venue.slug) from exc
    insert_policy(conn, rid, policy_doc, policy_version)
    write_layout(conn, rid, venue)


def insert_policy(conn: Conn, rid: str, policy_doc: dict[str, Any], policy_version: str) -> None:
    conn.execute(
        """INSERT INTO policies (restaurant_id, version, document) VALUES (%s, %s, %s)
           ON CONFLICT (restaurant_id, version) DO NOTHING""",
        [rid, policy_version, json.dumps(policy_doc)],
    )


def write_layout(conn: Conn, rid: str, venue: Venue) -> dict[str, int]:
    """Upsert zones and tables by key/label, replace adjacency; return label -> table id.

    Tables absent from `venue` are retired (kept for the ledger's history), zones
    absent from it are deleted when no table refers to them, else retired.
    """
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO zones (restaurant_id, key, name, position, priority) VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (restaurant_id, key) DO UPDATE SET
                   name = EXCLUDED.name, position = EXCLUDED.position, priority = EXCLUDED.priority,
                   retired_at = NULL""",
            [(rid, z.key, z.name, i, z.priority) for i, z in enumerate(venue.zones)],
        )
        cur.executemany(
            """INSERT INTO dining_tables
                   (restaurant_id, label, zone_key, seats, min_party, max_party, movable, active, position,
                    priority)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (restaurant_id, label) DO UPDATE SET
                   zone_key = EXCLUDED.zone_key, seats = EXCLUDED.seats, min_party = EXCLUDED.min_party,
                   max_party = EXCLUDED.max_party, movable = EXCLUDED.movable, active = EXCLUDED.active,
                   position = EXCLUDED.position, priority = EXCLUDED.priority, retired_at = NULL""",
            [
                (rid, t.label, t.zone, t.seats, t.min_party, t.max_party, t.movable, t.active, _position(t), t.priority)
                for t in venue.tables
            ],
        )
    labels = [t.label for t in venue.tables]
    conn.execute(
        """UPDATE dining_tables SET retired_at = now()
           WHERE restaurant_id = %s AND retired_at IS NULL AND label <> ALL(%s)""",
        [rid, labels],
    )
    conn.execute(
        """DELETE FROM zones z WHERE z.restaurant_id = %s AND z.key <> ALL(%s)
           AND NOT EXISTS (SELECT 1 FROM dining_tables t
                           WHERE t.restaurant_id = z.restaurant_id AND t.zone_key = z.key)""",
        [rid, [z.key for z in venue.zones]],
    )
    conn.execute(
        "UPDATE zones SET retired_at = now() WHERE restaurant_id = %s AND retired_at IS NULL AND key <> ALL(%s)",
        [rid, [z.key for z in venue.zones]],
    )
    ids = {
        r["label"]: r["id"]
        for r in conn.execute(
            "SELECT label, id FROM dining_tables WHERE restaurant_id = %s AND retired_at IS NULL", [rid]
        )
    }
    by_doc_id = {t.id: ids[t.label] for t in venue.tables}
    conn.execute("DELETE FROM adjacency WHERE restaurant_id = %s", [rid])
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO adjacency (restaurant_id, table_a, table_b) VALUES (%s, %s, %s)",
            [(rid, *sorted(by_doc_id[t] for t in edge)) for edge in venue.adjacency],
        )
    return ids


def _position(table: Table) -> str | None:
    p = table.position
    if p is None:
        return None
    return json.dumps({"x": p.x, "y": p.y, "width": p.width, "height": p.height, "shape": p.shape.value})


def _position_of(stored: dict[str, Any] | None) -> Position | None:
    """A position as `_position` stored it (written only from a validated venue)."""
    if stored is None:
        return None
    return Position(stored["x"], stored["y"], stored["width"], stored["height"], Shape(stored["shape"]))


def restaurant_row(conn: Conn, rid: str, *, for_write: bool = False) -> dict[str, Any] | None:
    """The restaurant's row. `for_write` takes FOR KEY SHARE: writers of bookings,
    holds and blocks then never overlap a venue change (which takes FOR UPDATE), so
    none can plan on a venue version that is being replaced. Shared among writers.

    `written_here` is true when this very transaction wrote the venue (see
    `_mark_venue_written`): its venue version is not committed yet, and may never be,
    so nothing may be cached under it."""
    lock = " FOR KEY SHARE" if for_write else ""
    return conn.execute(
        f"""SELECT r.id::text AS id, r.slug, r.name, r.timezone, r.slot_minutes, r.venue_version,
                  r.policy_version, r.created_at, r.updated_at,
                  coalesce(current_setting('seatwise.venue_written', true), '') = 'on' AS written_here
           FROM restaurants r WHERE r.id = %s{lock}""",  # noqa: S608 - fixed SQL
        [rid],
    ).fetchone()


@dataclass(frozen=True)
class VenueRows:
    """A restaurant's live layout as stored, read at `venue_version`."""

    zones: tuple[Zone, ...]  # in document order
    tables: tuple[Table, ...]  # by database id (creation order)
    adjacency: frozenset[frozenset[int]]  # pairs of database table ids
    policy_document: dict[str, Any]  # the canonical policy (core.venue_build reads it)
    venue_version: int  # read by the last statement: see venue_rows


def venue_rows(conn: Conn, rid: str) -> VenueRows:
    """Zones, live tables, adjacency and the current policy, as model values.

    Four statements. The last one also reads the restaurant's venue version: under
    READ COMMITTED each statement sees its own snapshot, and every venue change bumps
    the version in its transaction, so when that version equals the one the caller
    read before the first statement, no venue change committed in between and the
    rows belong to that one version.
    """
    zones = conn.execute(
        """SELECT key, name, priority FROM zones WHERE restaurant_id = %s AND retired_at IS NULL
           ORDER BY position, key""",
        [rid],
    ).fetchall()
    tables = conn.execute(
        """SELECT id, label, zone_key, seats, min_party, max_party, movable, active, position, priority
           FROM dining_tables WHERE restaurant_id = %s AND retired_at IS NULL ORDER BY id""",
        [rid],
    ).fetchall()
    # write_layout replaces every edge with the live tables', so none names a retired one.
    edges = conn.execute("SELECT table_a, table_b FROM adjacency WHERE restaurant_id = %s", [rid]).fetchall()
    policy = conn.execute(
        """SELECT p.document, r.venue_version FROM restaurants r JOIN policies p
           ON p.restaurant_id = r.id AND p.version = r.policy_version WHERE r.id = %s""",
        [rid],
    ).fetchone()
    if policy is None:
        raise LookupError(f"restaurant {rid} has no current policy row")  # schema invariant broken
    return VenueRows(
        zones=tuple(Zone(key=z["key"], name=z["name"], priority=z["priority"]) for z in zones),
        tables=tuple(
            Table(
                id=t["id"],
                label=t["label"],
                zone=t["zone_key"],
                seats=t["seats"],
                min_party=t["min_party"],
                max_party=t["max_party"],
                movable=t["movable"],
                active=t["active"],
                position=_position_of(t["position"]),
                priority=t["priority"],
            )
            for t in tables
        ),
        adjacency=frozenset(frozenset((e["table_a"], e["table_b"])) for e in edges),
        policy_document=policy["document"],
        venue_version=policy["venue_version"],
    )


def lock_restaurant(conn: Conn, rid: str) -> dict[str, Any] | None:
    """The restaurant row, locked: venue changes of one restaurant are serialised."""
    conn.execute("SELECT 1 FROM restaurants WHERE id = %s FOR UPDATE", [rid])
    return restaurant_row(conn, rid)


def update_restaurant(conn: Conn, rid: str, venue: Venue, policy_version: str) -> None:
    """Replace the restaurant's own fields and bump its venue version."""
    try:
        with conn.transaction():  # savepoint: a taken slug must not poison the caller
            _mark_venue_written(conn)
            conn.execute(
                """UPDATE restaurants SET slug = %s, name = %s, timezone = %s, slot_minutes = %s,
                          policy_version = %s, venue_version = venue_version + 1, updated_at = now()
                   WHERE id = %s""",
                [venue.slug, venue.name, venue.timezone, venue.slot_minutes, policy_version, rid],
            )
    except pg_errors.UniqueViolation as exc:
        raise SlugTaken(venue.slug) from exc
