"""The guest page finds a restaurant by its slug before any tenant is known: through
one SECURITY DEFINER function that reveals the id and nothing else (raw SQL)."""

from __future__ import annotations

import uuid

import psycopg

from seatwise.store.server import Server


def test_the_app_role_resolves_a_slug_and_still_sees_no_restaurant(
    pg: Server, database_name: str, owner_url: str
) -> None:
    rid, slug = str(uuid.uuid4()), "slug-" + uuid.uuid4().hex[:12]
    with psycopg.connect(owner_url, autocommit=True) as owner:
        owner.execute(
            "INSERT INTO restaurants (id, slug, name, timezone, slot_minutes, policy_version) "
            "VALUES (%s, %s, 'R', 'Europe/London', 15, 'v1')",
            [rid, slug],
        )
    with psycopg.connect(pg.app_url(database_name), autocommit=True) as app:
        found = app.execute("SELECT seatwise_restaurant_by_slug(%s)::text", [slug]).fetchone()
        assert found == (rid,)
        assert app.execute("SELECT seatwise_restaurant_by_slug('no-such-slug')").fetchone() == (None,)
        # Row-level security is untouched: without a tenant the role reads no restaurant.
        assert app.execute("SELECT count(*) FROM restaurants WHERE slug = %s", [slug]).fetchone() == (0,)


def test_a_hold_records_its_client_address_as_inet(owner_url: str) -> None:
    with psycopg.connect(owner_url, autocommit=True) as owner:
        row = owner.execute(
            """SELECT data_type FROM information_schema.columns
               WHERE table_name = 'holds' AND column_name = 'client_address'"""
        ).fetchone()
        index = owner.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'holds_by_client'").fetchone()
    assert row == ("inet",)
    assert index is not None
    assert "(restaurant_id, client_address, expires_at)" in str(index[0])
