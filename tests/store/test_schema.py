"""The database itself refuses double booking and cross-tenant access (raw SQL only)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors as pg_errors

from seatwise.store.server import Server


@pytest.fixture
def owner(owner_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(owner_url, autocommit=True) as conn:
        yield conn


def _restaurant(conn: psycopg.Connection[tuple[object, ...]], table_ids: tuple[int, ...] = (1, 2)) -> str:
    rid = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO restaurants (id, slug, name, timezone, slot_minutes, policy_version) "
        "VALUES (%s, %s, 'R', 'Europe/London', 15, 'v1')",
        [rid, "raw-" + rid[:8]],
    )
    conn.execute("INSERT INTO zones (restaurant_id, key, name) VALUES (%s, 'main', 'Main')", [rid])
    for tid in table_ids:
        conn.execute(
            "INSERT INTO dining_tables (restaurant_id, id, label, zone_key, seats, max_party) "
            "OVERRIDING SYSTEM VALUE VALUES (%s, %s, %s, 'main', 4, 4)",
            [rid, tid, f"T{tid}"],
        )
    return rid


def _block(conn: psycopg.Connection[tuple[object, ...]], rid: str) -> str:
    bid = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO blocks (restaurant_id, id, start_at, end_at) VALUES (%s, %s, '2026-01-01', '2026-01-02')",
        [rid, bid],
    )
    return bid


def _allocate(conn: psycopg.Connection[tuple[object, ...]], rid: str, table_id: int, lo: str, hi: str) -> None:
    conn.execute(
        "INSERT INTO allocations (restaurant_id, table_id, during, block_id) VALUES (%s, %s, tstzrange(%s, %s), %s)",
        [rid, table_id, lo, hi, _block(conn, rid)],
    )


def _table_ids(owner: psycopg.Connection[tuple[object, ...]]) -> tuple[int, int]:
    row = owner.execute("SELECT coalesce(max(id), 0) FROM dining_tables").fetchone()
    assert row is not None
    base = int(str(row[0])) + 1000
    return base, base + 1


def test_overlapping_allocations_on_one_table_are_rejected(owner: psycopg.Connection[tuple[object, ...]]) -> None:
    t1, t2 = _table_ids(owner)
    rid = _restaurant(owner, (t1, t2))
    _allocate(owner, rid, t1, "2026-05-01 19:00Z", "2026-05-01 20:30Z")
    with pytest.raises(pg_errors.ExclusionViolation, match="allocations_no_overlap"):
        _allocate(owner, rid, t1, "2026-05-01 20:00Z", "2026-05-01 21:00Z")
    with pytest.raises(pg_errors.ExclusionViolation):
        _allocate(owner, rid, t1, "2026-05-01 19:30Z", "2026-05-01 19:45Z")  # contained
    # Another table of the same restaurant at the same time is fine.
    _allocate(owner, rid, t2, "2026-05-01 19:00Z", "2026-05-01 20:30Z")
    count = owner.execute("SELECT count(*) FROM allocations WHERE restaurant_id = %s", [rid]).fetchone()
    assert count == (2,)


def test_touching_intervals_are_accepted(owner: psycopg.Connection[tuple[object, ...]]) -> None:
    t1, t2 = _table_ids(owner)
    rid = _restaurant(owner, (t1, t2))
    _allocate(owner, rid, t1, "2026-05-01 18:00Z", "2026-05-01 19:00Z")
    _allocate(owner, rid, t1, "2026-05-01 19:00Z", "2026-05-01 20:00Z")  # [a,b) then [b,c)
    _allocate(owner, rid, t1, "2026-05-01 17:00Z", "2026-05-01 18:00Z")
    count = owner.execute("SELECT count(*) FROM allocations WHERE restaurant_id = %s", [rid]).fetchone()
    assert count == (3,)


def test_same_table_id_in_two_restaurants_never_conflicts(owner: psycopg.Connection[tuple[object, ...]]) -> None:
    t1, t2 = _table_ids(owner)
    a = _restaurant(owner, (t1, t2))
    b = _restaurant(owner, (t1, t2))  # the very same table ids
    _allocate(owner, a, t1, "2026-05-01 19:00Z", "2026-05-01 21:00Z")
    _allocate(owner, b, t1, "2026-05-01 19:00Z", "2026-05-01 21:00Z")
    rows = owner.execute("SELECT count(DISTINCT restaurant_id) FROM allocations WHERE table_id = %s", [t1]).fetchone()
    assert rows == (2,)


def test_allocation_needs_exactly_one_owner(owner: psycopg.Connection[tuple[object, ...]]) -> None:
    t1, t2 = _table_ids(owner)
    rid = _restaurant(owner, (t1, t2))
    with pytest.raises(pg_errors.CheckViolation):
        owner.execute(
            "INSERT INTO allocations (restaurant_id, table_id, during) "
            "VALUES (%s, %s, tstzrange(now(), now() + interval '1h'))",
            [rid, t1],
        )


def test_pacing_usage_cannot_exceed_its_limits(owner: psycopg.Connection[tuple[object, ...]]) -> None:
    rid = _restaurant(owner, ())
    owner.execute(
        "INSERT INTO pacing_usage (restaurant_id, slot_start, covers, parties, max_covers, max_parties) "
        "VALUES (%s, '2026-05-01 19:00Z', 8, 2, 10, 3)",
        [rid],
    )
    with pytest.raises(pg_errors.CheckViolation, match="pacing_covers_within_limit"):
        owner.execute("UPDATE pacing_usage SET covers = covers + 4 WHERE restaurant_id = %s", [rid])
    with pytest.raises(pg_errors.CheckViolation, match="pacing_parties_within_limit"):
        owner.execute("UPDATE pacing_usage SET parties = parties + 2 WHERE restaurant_id = %s", [rid])
    owner.execute("UPDATE pacing_usage SET covers = covers + 2, parties = parties + 1 WHERE restaurant_id = %s", [rid])
    assert owner.execute("SELECT covers, parties FROM pacing_usage WHERE restaurant_id = %s", [rid]).fetchone() == (
        10,
        3,
    )


# --- row-level security -------------------------------------------------------------


def test_application_role_is_neither_superuser_nor_bypassrls(pg: Server, database_name: str) -> None:
    with psycopg.connect(pg.app_url(database_name)) as conn:
        row = conn.execute(
            "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == ("seatwise_app", False, False)


def test_rls_isolates_restaurants(
    owner: psycopg.Connection[tuple[object, ...]], pg: Server, database_name: str
) -> None:
    t1, t2 = _table_ids(owner)
    a = _restaurant(owner, (t1,))
    b = _restaurant(owner, (t2,))
    _allocate(owner, b, t2, "2026-05-01 19:00Z", "2026-05-01 21:00Z")
    with psycopg.connect(pg.app_url(database_name)) as app:
        with app.transaction():
            app.execute("SELECT set_config('seatwise.restaurant_id', %s, true)", [a])
            assert app.execute("SELECT count(*) FROM dining_tables WHERE restaurant_id = %s", [b]).fetchone() == (0,)
            assert app.execute("SELECT count(*) FROM allocations").fetchone() == (0,)
            assert app.execute("SELECT count(*) FROM restaurants WHERE id = %s", [b]).fetchone() == (0,)
            assert app.execute("SELECT count(*) FROM restaurants").fetchone() == (1,)
            updated = app.execute("UPDATE dining_tables SET seats = 99 WHERE restaurant_id = %s", [b])
            assert updated.rowcount == 0
            deleted = app.execute("DELETE FROM allocations WHERE restaurant_id = %s", [b])
            assert deleted.rowcount == 0
        with app.transaction():
            app.execute("SELECT set_config('seatwise.restaurant_id', %s, true)", [a])
            with pytest.raises(pg_errors.InsufficientPrivilege, match="row-level security"):
                app.execute(
                    "INSERT INTO blocks (restaurant_id, id, start_at, end_at) "
                    "VALUES (%s, %s, now(), now() + interval '1h')",
                    [b, str(uuid.uuid4())],
                )
            raise psycopg.Rollback()  # the failed transaction ends here, quietly
    assert owner.execute("SELECT seats FROM dining_tables WHERE restaurant_id = %s", [b]).fetchone() == (4,)
    assert owner.execute("SELECT count(*) FROM allocations WHERE restaurant_id = %s", [b]).fetchone() == (1,)


def test_without_a_tenant_setting_tenant_tables_are_empty(
    owner: psycopg.Connection[tuple[object, ...]], pg: Server, database_name: str
) -> None:
    t1, _ = _table_ids(owner)
    _restaurant(owner, (t1,))
    tenant_tables = [
        r[0]
        for r in owner.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND column_name = 'restaurant_id' ORDER BY table_name"
        )
    ]
    assert "allocations" in tenant_tables
    with psycopg.connect(pg.app_url(database_name)) as app:
        for table in [*tenant_tables, "restaurants"]:
            assert app.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
        # Once set and reverted, the setting is '' rather than unset: still nothing.
        with app.transaction():
            app.execute("SELECT set_config('seatwise.restaurant_id', %s, true)", [str(uuid.uuid4())])
        assert app.execute("SELECT count(*) FROM dining_tables").fetchone() == (0,)
        rls = owner.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND NOT (relrowsecurity AND relforcerowsecurity)",
            [[*tenant_tables, "restaurants"]],
        ).fetchall()
        assert rls == []


# --- distributable by tenant (Citus) --------------------------------------------------

CATALOGUE = """
SELECT c.conrelid::regclass::text AS tbl, c.conname, c.contype,
       array(SELECT a.attname FROM unnest(c.conkey) k JOIN pg_attribute a
             ON a.attrelid = c.conrelid AND a.attnum = k)::text[] AS cols,
       c.confrelid::regclass::text AS ref,
       array(SELECT a.attname FROM unnest(c.confkey) k JOIN pg_attribute a
             ON a.attrelid = c.confrelid AND a.attnum = k)::text[] AS ref_cols
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
WHERE c.contype IN ('p', 'u', 'x', 'f')
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attname = 'restaurant_id')
ORDER BY 1, 2
"""


def test_every_key_and_foreign_key_on_tenant_tables_includes_restaurant_id(
    owner: psycopg.Connection[tuple[object, ...]],
) -> None:
    rows = owner.execute(CATALOGUE).fetchall()
    assert len(rows) > 30  # the catalogue query sees the schema
    kinds = {r[2] for r in rows}
    assert kinds == {"p", "u", "x", "f"}
    offenders = []
    for tbl, name, kind, cols, ref, ref_cols in rows:
        if "restaurant_id" not in cols:
            offenders.append(f"{tbl}.{name} ({kind}) on {cols}")
        elif kind == "f":
            # restaurant_id must map onto the referenced tenant key (or restaurants.id).
            target = ref_cols[cols.index("restaurant_id")]
            expected = "id" if ref == "restaurants" else "restaurant_id"
            if target != expected:
                offenders.append(f"{tbl}.{name} maps restaurant_id to {ref}.{target}")
    assert offenders == []


def test_exclusion_constraint_is_tenant_scoped(owner: psycopg.Connection[tuple[object, ...]]) -> None:
    row = owner.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'allocations_no_overlap'"
    ).fetchone()
    assert row is not None
    assert row[0] == "EXCLUDE USING gist (restaurant_id WITH =, table_id WITH =, during WITH &&) DEFERRABLE"


def test_api_key_lookup_function_stays_inside_its_tenant(
    owner: psycopg.Connection[tuple[object, ...]], pg: Server, database_name: str
) -> None:
    t1, t2 = _table_ids(owner)
    a, b = _restaurant(owner, (t1,)), _restaurant(owner, (t2,))
    key_id = str(uuid.uuid4())
    owner.execute(
        "INSERT INTO api_keys (restaurant_id, id, role, key_hash) VALUES (%s, %s, 'staff', 'h-b')", [b, key_id]
    )
    with psycopg.connect(pg.app_url(database_name), autocommit=True) as app:
        assert app.execute("SELECT id::text FROM seatwise_api_key(%s, 'h-b')", [b]).fetchall() == [(key_id,)]
        assert app.execute("SELECT id FROM seatwise_api_key(%s, 'h-b')", [a]).fetchall() == []  # B's key, A's scope
        # The scope it set ended with its statement.
        assert app.execute("SELECT count(*) FROM api_keys").fetchone() == (0,)
