"""The venue snapshot is built from the rows (database ids, stored policy), equals the
venue its document describes, and its cache is an LRU keyed by venue version."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from seatwise import runtime
from seatwise.config import load_settings
from seatwise.core.model import Policy, Venue
from seatwise.core.venue_doc import normalise_document, parse_venue_document, venue_to_document
from seatwise.runtime import Runtime
from seatwise.services import restaurants, snapshot
from seatwise.store import venues
from tests.conftest import client_for, load_example, small_venue


@pytest.fixture
def small_cache() -> Iterator[None]:
    snapshot.configure(2)
    yield
    snapshot.configure(load_settings().venue_cache_size)


def test_runtime_sizes_the_cache_from_the_settings(database_name: str) -> None:
    assert load_settings({}).venue_cache_size == snapshot.DEFAULT_CACHE_SIZE
    settings = replace(load_settings(), database_name=database_name, venue_cache_size=3)
    try:
        rt = runtime.start(settings, pool_size=2)
        rt.close()
        assert snapshot.cache().max_size == 3
    finally:
        snapshot.configure(load_settings().venue_cache_size)


def _snapshot(rt: Runtime, rid: str) -> Venue:
    with rt.db.tenant(rid) as conn:
        return snapshot.venue_snapshot(conn, rid)


@pytest.mark.parametrize("example", ["demo-bistro.yaml", "grand-hall.yaml"])
def test_snapshot_is_the_documents_venue_with_database_ids(
    example: str, runtime: Runtime, create_restaurant: Callable[..., dict[str, Any]], owner_url: str
) -> None:
    created = create_restaurant(load_example(example))
    doc = copy.deepcopy(load_example(example))
    doc["slug"] = created["slug"]
    parsed = parse_venue_document(normalise_document(doc))
    snapshot.clear_cache()
    venue = _snapshot(runtime, created["id"])

    assert (venue.name, venue.slug, venue.timezone, venue.slot_minutes) == (
        parsed.name,
        parsed.slug,
        parsed.timezone,
        parsed.slot_minutes,
    )
    assert (venue.restaurant_id, venue.version) == (created["id"], created["venue_version"])
    assert venue.zones == parsed.zones
    assert venue.policy == parsed.policy
    assert isinstance(venue.policy, Policy)
    with psycopg.connect(owner_url) as conn:
        db_ids = dict(
            conn.execute("SELECT label, id FROM dining_tables WHERE restaurant_id = %s", [created["id"]]).fetchall()
        )
    assert {t.label: t.id for t in venue.tables} == db_ids
    assert {t.label: replace(t, id=0) for t in venue.tables} == {t.label: replace(t, id=0) for t in parsed.tables}

    def by_label(v: Venue) -> set[frozenset[str]]:
        return {frozenset(v.table_by_id[i].label for i in edge) for edge in v.adjacency}

    assert by_label(venue) == by_label(parsed)
    assert venue_to_document(venue) == normalise_document(doc)


def test_cache_serves_one_version_and_a_venue_change_invalidates_it(
    runtime: Runtime, create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> None:
    doc = small_venue(tables=3)
    created = create_restaurant(doc)
    rid = created["id"]
    first = _snapshot(runtime, rid)
    assert _snapshot(runtime, rid) is first  # cached: the same object for the same version
    changed = copy.deepcopy(doc)
    changed["slug"] = created["slug"]
    changed["tables"][0]["seats"] = 6
    changed["tables"].append({"label": "T9", "zone": "main", "seats": 2})
    with client_for(base_url, created["api_keys"]["staff"]) as staff:
        response = staff.put(f"/v1/restaurants/{rid}/venue", json=changed)
    assert response.status_code == 200, response.text
    second = _snapshot(runtime, rid)
    assert second.version == first.version + 1
    assert second.table_by_label["T1"].seats == 6
    assert "T9" in second.table_by_label
    assert second.table_by_label["T1"].id == first.table_by_label["T1"].id  # ids are the rows', not positions
    assert _snapshot(runtime, rid) is second


def test_a_rolled_back_venue_change_leaves_nothing_cached(
    runtime: Runtime, create_restaurant: Callable[..., dict[str, Any]]
) -> None:
    doc = small_venue(tables=2)
    created = create_restaurant(doc)
    rid = created["id"]
    before = _snapshot(runtime, rid)
    uncommitted = copy.deepcopy(doc)
    uncommitted["slug"] = created["slug"]
    uncommitted["tables"][0]["seats"] = 9

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack), runtime.db.tenant(rid) as conn:  # noqa: PT012 - the transaction is the subject
        venue = parse_venue_document(uncommitted)
        venues.update_restaurant(conn, rid, venue, "rolled-back")
        venues.insert_policy(conn, rid, normalise_document(uncommitted)["policy"], "rolled-back")
        venues.write_layout(conn, rid, venue)
        inside = snapshot.venue_snapshot(conn, rid)
        assert inside.version == before.version + 1
        assert inside.table_by_label["T1"].seats == 9  # the transaction sees its own change
        raise RolledBack
    after = _snapshot(runtime, rid)
    assert after is before  # the uncommitted version was never cached
    # The next real change takes the same version number, with its own content.
    real = copy.deepcopy(doc)
    real["slug"] = created["slug"]
    real["tables"][0]["seats"] = 5
    restaurants.replace_venue(runtime.db, rid, real)
    assert _snapshot(runtime, rid).table_by_label["T1"].seats == 5


@pytest.mark.usefixtures("small_cache")
def test_lru_evicts_the_least_recently_used_restaurant(
    runtime: Runtime, create_restaurant: Callable[..., dict[str, Any]]
) -> None:
    r1, r2, r3 = (create_restaurant(small_venue(tables=1))["id"] for _ in range(3))
    for rid in (r1, r2, r3):
        _snapshot(runtime, rid)
    assert snapshot.cache().restaurants() == [r2, r3]
    kept = _snapshot(runtime, r2)  # a hit makes r2 the most recently used
    assert snapshot.cache().restaurants() == [r3, r2]
    _snapshot(runtime, r1)
    assert snapshot.cache().restaurants() == [r2, r1]
    assert _snapshot(runtime, r2) is kept


def test_cache_is_bounded_and_consistent_under_threads() -> None:
    base = parse_venue_document(small_venue(tables=1))
    lru = snapshot.VenueCache(8)
    errors: list[str] = []

    def work(n: int) -> None:
        for i in range(2000):
            rid = f"r{(n * 7 + i) % 20}"
            lru.put(replace(base, restaurant_id=rid, version=i % 3))
            got = lru.get(rid, i % 3)
            if got is not None and (got.restaurant_id, got.version) != (rid, i % 3):
                errors.append(f"{rid}: {got.restaurant_id} v{got.version}")
            if len(lru) > 8:
                errors.append(f"size {len(lru)}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(lru) == 8


def test_an_older_version_never_replaces_a_newer_one() -> None:
    base = parse_venue_document(small_venue(tables=1))
    lru = snapshot.VenueCache(4)
    newer = replace(base, restaurant_id="r", version=3)
    lru.put(newer)
    lru.put(replace(base, restaurant_id="r", version=2))  # a slow loader finishing late
    assert lru.get("r", 3) is newer
    assert lru.get("r", 2) is None


def test_a_venue_change_committed_mid_read_is_read_whole(
    runtime: Runtime, create_restaurant: Callable[..., dict[str, Any]]
) -> None:
    """Without for_write, a venue change may commit between the caller's row and the
    snapshot's statements: the snapshot then reads that version whole, never a mix."""
    doc = small_venue(tables=2)
    created = create_restaurant(doc)
    rid = created["id"]
    snapshot.clear_cache()
    changed = copy.deepcopy(doc)
    changed.update(slug=created["slug"], name="Renamed Room")
    changed["tables"][1]["seats"] = 7
    with runtime.db.tenant(rid) as conn:
        stale_row = venues.restaurant_row(conn, rid)
        assert stale_row is not None
        restaurants.replace_venue(runtime.db, rid, changed)  # commits on another connection
        venue = snapshot.venue_snapshot(conn, rid, stale_row)
    assert venue.version == stale_row["venue_version"] + 1
    assert venue.name == "Renamed Room"  # the restaurant's fields are the new version's too
    assert venue.table_by_label["T2"].seats == 7
    assert _snapshot(runtime, rid) is venue  # and that whole version was cached
