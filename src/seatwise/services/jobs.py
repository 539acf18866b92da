"""The housekeeping jobs of DESIGN §10: hold sweeper, allocation archival, record
retention. Each is one pass, safe to run at any time, twice, or in two workers at
once; the relay is `services.webhooks.Relay`.

`jobs` is a pool of the workers' role (`seatwise_jobs`), which may only execute the
cross-tenant job functions; `db` is the application's pool, under row-level
security, for the work done inside one restaurant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from seatwise import telemetry
from seatwise.core.events import EventType
from seatwise.services.common import emit, pacing_of_slot
from seatwise.services.results import hold_of
from seatwise.services.snapshot import venue_snapshot
from seatwise.store import ledger, maintenance
from seatwise.store.db import Database
from seatwise.store.probe import AsyncReads
from seatwise.store.venues import Conn

HOLD_GRACE = timedelta(minutes=15)
RETENTION_DAYS = 30
ARCHIVE_BATCH = 500
PRUNE_BATCH = 1000
CONFIRMATION_RETENTION = timedelta(days=30)
IDEMPOTENCY_RETENTION = timedelta(hours=24)
OUTBOX_RETENTION = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Backlog:
    """What the jobs have not caught up with, across tenants (aggregates only)."""

    oldest_undelivered_seconds: float  # the oldest event not relayed or still being delivered; 0: none
    pending: int  # deliveries not attempted yet
    retrying: int
    dead: int
    stuck_holds: int  # expired holds past the grace period and still stored


@dataclass(frozen=True, slots=True)
class SweepResult:
    restaurants: int
    announced: int  # hold.expired events written
    deleted: int  # holds removed after the grace period

    @property
    def rows(self) -> int:
        return self.announced + self.deleted


@dataclass(frozen=True, slots=True)
class ArchiveResult:
    archived: int
    batches: int

    @property
    def rows(self) -> int:
        return self.archived


@dataclass(frozen=True, slots=True)
class PruneResult:
    confirmations: int
    idempotency_keys: int
    outbox_events: int

    @property
    def rows(self) -> int:
        return self.confirmations + self.idempotency_keys + self.outbox_events


async def backlog(reads: AsyncReads) -> Backlog:
    """The jobs' backlog, read on the event loop (`store.probe`): `/metrics` never
    waits for a worker thread for it."""
    row = await reads.backlog_stats(HOLD_GRACE)
    return Backlog(
        oldest_undelivered_seconds=max(
            float(row.get("oldest_unrelayed_seconds") or 0.0), float(row.get("oldest_undelivered_seconds") or 0.0)
        ),
        pending=int(row.get("pending") or 0),
        retrying=int(row.get("retrying") or 0),
        dead=int(row.get("dead") or 0),
        stuck_holds=int(row.get("stuck_holds") or 0),
    )


def sweep_holds(jobs: Database, db: Database, now: datetime, *, grace: timedelta = HOLD_GRACE) -> SweepResult:
    """Announce every expired hold once (`hold.expired`), and delete those expired for
    longer than `grace`, giving back any pacing they still count.

    Correctness never depends on this: an expired hold occupies nothing from its
    `expires_at`. Per restaurant, one transaction: the announcement and its marker
    commit together, so a hold is announced exactly once even if two sweepers race
    (each skips the rows the other has locked)."""
    with jobs.autocommit() as conn:
        tenants = maintenance.tenants_with_due_holds(conn, now, grace)
    announced = deleted = 0
    for rid in tenants:
        a, d = db.run(rid, partial(_sweep_restaurant, rid=rid, now=now, grace=grace))
        announced += a
        deleted += d
    return SweepResult(len(tenants), announced, deleted)


def _sweep_restaurant(conn: Conn, *, rid: str, now: datetime, grace: timedelta) -> tuple[int, int]:
    # Lock order (docs/architecture.md): hold rows, then pacing rows by ascending slot.
    due = maintenance.holds_to_announce(conn, rid, now)
    if due:
        venue = venue_snapshot(conn, rid)
        for row in due:
            emit(conn, rid, EventType.HOLD_EXPIRED, hold_of(venue, row))
        maintenance.mark_announced(conn, rid, [row["id"] for row in due])
        telemetry.HOLDS_EXPIRED.inc(len(due))  # counted even if this attempt rolls back: rare, and only high
    stale = maintenance.holds_past_grace(conn, rid, now - grace)
    if not stale:
        return len(due), 0
    venue = venue_snapshot(conn, rid)
    # Locking each slot gives back the pacing of its expired holds (store.ledger).
    for slot in sorted({row["slot_start"] for row in stale}):
        ledger.lock_slot(conn, rid, slot, pacing_of_slot(venue, slot), now)
    return len(due), maintenance.delete_holds(conn, rid, [row["id"] for row in stale])


def archive_allocations(
    jobs: Database,
    now: datetime,
    *,
    retention_days: int = RETENTION_DAYS,
    batch_size: int = ARCHIVE_BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> ArchiveResult:
    """Move allocations whose window ended more than `retention_days` ago to
    `allocations_archive`, `batch_size` rows per transaction, until none is left.

    Each batch copies and deletes exactly the same rows in one statement: killed at
    any point and rerun, every row is in exactly one of the two tables."""
    if retention_days < 0 or batch_size < 1:
        raise ValueError("retention_days >= 0 and batch_size >= 1")
    cutoff = now - timedelta(days=retention_days)
    archived = batches = 0
    with jobs.autocommit() as conn:
        while True:
            moved = maintenance.archive_batch(conn, cutoff, batch_size)
            if moved == 0:
                break
            archived += moved
            batches += 1
            if on_batch is not None:
                on_batch(moved)
    return ArchiveResult(archived, batches)


def prune_records(jobs: Database, now: datetime, *, batch_size: int = PRUNE_BATCH) -> PruneResult:
    """Delete, in batches, what is past its retention: confirmation results (30 days),
    request idempotency records (a booking's Idempotency-Key, 24 hours) and relayed
    outbox events with their delivery log (30 days; never one still being delivered)."""

    def drain(step: Callable[[Conn, datetime, int], int], before: datetime) -> int:
        total = 0
        with jobs.autocommit() as conn:
            while (n := step(conn, before, batch_size)) > 0:
                total += n
        return total

    return PruneResult(
        confirmations=drain(maintenance.prune_confirmations, now - CONFIRMATION_RETENTION),
        idempotency_keys=drain(maintenance.prune_idempotency_keys, now - IDEMPOTENCY_RETENTION),
        outbox_events=drain(maintenance.prune_outbox, now - OUTBOX_RETENTION),
    )
