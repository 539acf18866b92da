"""Refusals kept by ledger version: a refusal that a plain read already proves costs
no lock, no plan and no second read (issue 15: a rush on one slot).

A "no room" refusal (CAPACITY_EXCEEDED: pacing full, or no table for the party) is a
function of the venue, the ledger and the clock. Once one is decided, it is kept in a
per-process cache under the venue version and every ledger version its request read
*before* the ledger it was decided on: the read probe's (`store.probe`, before the
transaction) and the try-lock's or the plain re-read's (`store.ledger`, before
their ledger statements). Every write bumps the ledger version in its own
transaction (migration 0010), so a request that reads version V afterwards and finds
a refusal kept under V is refused by a ledger that was current at some moment of its
own lifetime: the refusal's ledger is at least V and had committed before the
refusal was kept, and that request read V before anything newer committed.

Time alone changes a refusal only when a live hold of the ledgers it was decided on
expires (its tables and covers come free) or a slot starts (the alternatives move
on), so each is kept only until the earliest of those (`core.availability.valid_until`).

Only refusals every request of the same shape would get are kept: a party, a start
as written, no named tables, no slack waived, a restaurant enforcing its policy (in
shadow mode a refusal becomes a booking), and no re-seating solve that ran out of its
budget. A request with an Idempotency-Key is answered from a kept refusal only inside
its transaction, after no booking was found for its key (a key already used is a
replay, not a refusal; and a refusal is read again for the key, as any refusal is).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import anyio.to_thread

from seatwise import telemetry
from seatwise.core.errors import CapacityExceeded, SeatwiseError
from seatwise.core.timerules import booking_window, check_not_past, resolve_start
from seatwise.services import gates, snapshot
from seatwise.services.common import utcnow
from seatwise.services.lru import Lru
from seatwise.store.probe import AsyncReads

T = TypeVar("T")

# restaurant, party, start as written, venue version, ledger version
RefusalKey = tuple[str, int, str, int, int]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A kept refusal: enough to raise it again, and how long time leaves it true."""

    instant: datetime  # the start it refused (a start since passed is answered afresh)
    detail: str
    alternatives: tuple[str, ...]
    valid_until: datetime | None

    def error(self) -> CapacityExceeded:
        return CapacityExceeded(self.detail, alternatives=list(self.alternatives))


class RefusalCache:
    """At most `max_size` refusals, least recently used evicted first (thread-safe:
    `services.lru`): the event loop reads it, worker threads fill and read it."""

    def __init__(self, max_size: int = 4096) -> None:
        self._entries: Lru[RefusalKey, Refusal] = Lru(max_size)

    def get(self, key: RefusalKey, now: datetime) -> Refusal | None:
        """The refusal kept under `key`, while time leaves it true (else dropped)."""
        return self._entries.get(key, lambda r: r.valid_until is None or now < r.valid_until, drop_unusable=True)

    def put(self, key: RefusalKey, refusal: Refusal) -> None:
        self._entries.put(key, refusal)


refusals = RefusalCache()


@dataclass(slots=True)
class Scope:
    """One request's place in the cache: its shape, the venue version it was planned
    under, and the ledger versions it has read so far (each before a ledger read)."""

    rid: str
    party: int
    start: str
    venue_version: int
    backdating: timedelta  # how far before now its start may be (staff: STAFF_BACKDATING)
    versions: set[int] = field(default_factory=set)
    # With an Idempotency-Key: only inside its transaction, once no booking was found
    # for the key (a used key is a replay, not a refusal): never before it.
    keyed: bool = False

    def saw(self, version: int) -> None:
        self.versions.add(version)

    def find(self, now: datetime) -> Refusal | None:
        """A refusal kept under any version this request read, still true at `now`."""
        for version in sorted(self.versions, reverse=True):
            found = refusals.get((self.rid, self.party, self.start, self.venue_version, version), now)
            if found is not None:
                return found
        return None

    def raise_kept(self, now: datetime) -> None:
        """Raise the kept refusal, if any: the answer this request would get, unless
        its start has passed meanwhile (the transaction then answers that)."""
        found = self.find(now)
        if found is None:
            return
        try:
            check_not_past(found.instant, now, backdating=self.backdating)
        except SeatwiseError:
            return
        telemetry.REFUSALS_KEPT.labels("hit").inc()
        raise found.error()

    def keep(
        self, refusal: CapacityExceeded, instant: datetime, valid_until: datetime | None, *, slot: Hashable
    ) -> None:
        """Keep `refusal` under every version read so far, and wake the requests
        waiting at the gates of `slot` and of this shape (services.gates): it may
        answer them."""
        alternatives = tuple(refusal.fields.get("alternatives", ()))
        kept = Refusal(instant, refusal.detail, alternatives, valid_until)
        for version in self.versions:
            refusals.put((self.rid, self.party, self.start, self.venue_version, version), kept)
        telemetry.REFUSALS_KEPT.labels("kept").inc()
        gates.refusal_kept(slot)
        gates.refusal_kept((self.rid, self.party, self.start))  # the gate of its shape (`gate_of`)


def gate_of(rid: str, venue_version: int, party: int, start: str) -> Hashable:
    """The gate of a booking or hold of `party` at `start`: the slot it would lock,
    from the venue snapshot cached for `venue_version`; without one (or for a start
    its transaction will refuse), its shape: the same party at the same start as
    written, which can only be the same slot."""
    venue = snapshot.cache().get(rid, venue_version)
    if venue is not None:
        try:
            return rid, booking_window(venue, party, resolve_start(venue, start)).slot_start
        except SeatwiseError:
            pass
    return rid, party, start


async def run_write(reads: AsyncReads, scope: Scope | None, write: Callable[[], T]) -> T:
    """A booking's or hold's way from the event loop to its transaction, for a request
    whose refusal may be kept (`scope`, from the versions its probe read): a refusal
    kept for them is answered at once; otherwise it waits at its slot's gate
    (services.gates), looking again with a fresh probe each time a refusal is kept
    for the slot, and looks once more in its worker thread before `write` runs."""
    if scope is None or scope.keyed:
        # No kept refusal can answer it before its transaction: it gains nothing at
        # a gate, and may be refused by a plain read in parallel.
        return await anyio.to_thread.run_sync(write)
    scope.raise_kept(utcnow())

    async def look() -> None:
        fresh = await reads.probe(scope.rid, None)  # the versions only (no key)
        if fresh.venue_version == scope.venue_version:
            scope.saw(fresh.ledger_version)
        scope.raise_kept(utcnow())

    def in_thread() -> T:
        scope.raise_kept(utcnow())  # kept while this request waited for a thread
        return write()

    async with gates.gates().passage(gate_of(scope.rid, scope.venue_version, scope.party, scope.start), look):
        return await anyio.to_thread.run_sync(in_thread)


def scope_for(
    rid: str,
    party: int,
    start: str,
    *,
    venue_version: int | None,
    ledger_version: int | None,
    labels: object,
    allow_slack: bool,
    idempotency_key: str | None,
    backdating: timedelta,
) -> Scope | None:
    """The request's scope when its refusal may be kept (see the module), else None;
    `keyed` with an Idempotency-Key."""
    if venue_version is None or ledger_version is None or labels or allow_slack:
        return None
    return Scope(rid, party, start, venue_version, backdating, {ledger_version}, keyed=idempotency_key is not None)
