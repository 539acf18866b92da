"""The venue snapshot a use case plans on, built from the rows and cached by version.

The snapshot is made straight from the stored rows (tables keep their database ids,
the stored canonical policy is translated, not validated again). The cache is an LRU
over restaurants, bounded by `Settings.venue_cache_size` (see `configure`), each entry valid for one
venue version: the version is bumped in the same transaction as any venue change,
so a cached snapshot is never stale for the transaction that read the restaurant row.
"""

from __future__ import annotations

import threading
from typing import Any

from seatwise.core.errors import NotFound
from seatwise.core.model import Venue
from seatwise.core.venue_build import policy_from_canonical
from seatwise.services.lru import Lru
from seatwise.store import venues
from seatwise.store.venues import Conn

# A venue change committing between our statements makes us read again; more than
# this many in a row while one snapshot loads would be a broken version counter.
_READ_ATTEMPTS = 5
DEFAULT_CACHE_SIZE = 1000  # Settings.venue_cache_size's default; runtime.start applies the setting


class VenueCache:
    """At most `max_size` venues, one per restaurant, least recently used evicted first
    (thread-safe: `services.lru`)."""

    def __init__(self, max_size: int) -> None:
        if max_size < 1:
            raise ValueError("a venue cache holds at least one venue")
        self.max_size = max_size
        self._entries: Lru[str, Venue] = Lru(max_size)

    def get(self, rid: str, version: int) -> Venue | None:
        """The cached venue of `rid` at exactly `version`, marked as recently used."""
        return self._entries.get(rid, lambda venue: venue.version == version)

    def put(self, venue: Venue) -> None:
        """Keep `venue`, unless a newer version of it is already kept (a slow loader
        must not put back an older one)."""
        self._entries.put(venue.restaurant_id, venue, unless=lambda kept: kept.version > venue.version)

    def clear(self) -> None:
        self._entries.clear()

    def restaurants(self) -> list[str]:
        """The restaurant ids kept, least recently used first."""
        return self._entries.keys()

    def __len__(self) -> int:
        return len(self._entries)


_cache: VenueCache | None = None
_cache_lock = threading.Lock()


def cache() -> VenueCache:
    """This process's cache (`configure` sizes it; runtime.start does, from the settings)."""
    global _cache  # one cache per process, created on first use
    with _cache_lock:
        if _cache is None:
            _cache = VenueCache(DEFAULT_CACHE_SIZE)
        return _cache


def configure(max_size: int) -> None:
    """Replace the cache with an empty one of `max_size` venues."""
    global _cache
    with _cache_lock:
        _cache = VenueCache(max_size)


def venue_snapshot(conn: Conn, rid: str, row: dict[str, Any] | None = None, *, for_write: bool = False) -> Venue:
    """The restaurant's venue at its current venue version (cached by version).

    The version is bumped in the same transaction as any venue change, so a cached
    snapshot is never stale for the transaction that reads `row`. Use cases that
    write the ledger pass `for_write`: the venue cannot change until they commit.
    """
    lru = cache()
    for attempt in range(_READ_ATTEMPTS):
        if row is None or attempt:
            row = venues.restaurant_row(conn, rid, for_write=for_write)
            if row is None:
                raise NotFound("no such restaurant")
        cached = lru.get(rid, row["venue_version"])
        if cached is not None:
            return cached
        parts = venues.venue_rows(conn, rid)
        if parts.venue_version == row["venue_version"]:
            break
        # A venue change committed between the row and the parts (possible only
        # without for_write): read the row and the parts of that version again.
    else:
        raise RuntimeError(f"the venue of {rid} kept changing while it was read")
    venue = Venue(
        name=row["name"],
        slug=row["slug"],
        timezone=row["timezone"],
        policy=policy_from_canonical(parts.policy_document),
        zones=parts.zones,
        tables=parts.tables,
        adjacency=parts.adjacency,
        slot_minutes=row["slot_minutes"],
        restaurant_id=rid,
        version=row["venue_version"],
    )
    if not row.get("written_here"):
        lru.put(venue)  # a version this transaction wrote is not committed yet: not cached
    return venue


def clear_cache() -> None:
    """Forget every cached snapshot (as in a fresh process)."""
    cache().clear()
