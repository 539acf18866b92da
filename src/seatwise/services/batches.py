"""Bookings of one slot committed together (issue 15: a rush on one slot).

Writers of one slot take its lock one after another, so in a rush each booking pays
for its own worker thread, pooled connection, transaction and commit while all the
others wait. Here the request that holds a slot's gate (services.gates) carries the
direct bookings queued behind it: one worker thread runs them all, oldest first, in
one transaction, each in a savepoint of its own, and commits once.

Each member is planned on the ledger as the members before it left it (its own
reads see their writes), so it gets the answer it would get right after them. A
member refused is rolled back to its savepoint, and a later member of the same
shape (party, start as written) gets the same refusal without planning again: it
would read the same ledger. No answer is given before the commit: a refusal
decided on members' writes is only true once they are committed.

Only the first member (the gate's holder) keeps its refusal (services.refusals):
it read the ledger before any member wrote, while the others' ledgers hold writes
not yet committed, and a kept refusal must have been decided on a committed one.

Nothing is lost when the batch fails: any error that is not a member's own refusal
(a database error after the retries, a member that wants to re-seat, which needs a
solve outside any transaction) rolls the whole batch back and sends every member on
its own way, as if it had never been carried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from seatwise import telemetry
from seatwise.core.errors import Busy, CapacityExceeded, DatabaseUnavailable, SeatwiseError
from seatwise.services.reseating import NoRoom, Reseat
from seatwise.store.db import Database
from seatwise.store.venues import Conn

T = TypeVar("T")

CARRY = 24  # bookings a gate's holder carries at most with its own

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job(Generic[T]):
    """One booking request, ready to run in a transaction it does not own.

    `run(conn, attempt, first)`: the use case (`first`: no member wrote before it in
    this transaction); `done(result)`: what follows its commit (counters)."""

    db: Database
    rid: str
    actor: str
    shape: Hashable
    run: Callable[[Conn, Reseat, bool], T]
    done: Callable[[T], None]


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """A member's answer: its result, its refusal, or `alone` (run it on its own)."""

    value: T | None = None
    error: SeatwiseError | None = None
    alone: bool = False

    def unwrap(self) -> T:
        if self.error is not None:
            raise self.error
        if self.value is None:
            raise LookupError("a member sent on its own has no answer here")
        return self.value


ALONE: Outcome[Any] = Outcome(alone=True)


def commit_together(jobs: Sequence[Job[Any]]) -> list[Outcome[Any]]:
    """Run `jobs` (one restaurant's, one slot's) in one transaction, oldest first;
    one outcome per job, given only after the commit (see the module)."""
    db, rid = jobs[0].db, jobs[0].rid

    def batch(conn: Conn) -> list[Outcome[Any]]:
        outcomes: list[Outcome[Any]] = []
        refused: dict[Hashable, CapacityExceeded] = {}
        for i, job in enumerate(jobs):
            if job.shape in refused:
                outcomes.append(Outcome(error=refused[job.shape]))
                continue
            try:
                with conn.transaction():  # a savepoint: a refusal undoes only this member
                    outcomes.append(Outcome(value=job.run(conn, Reseat(job.actor), i == 0)))
            except NoRoom:
                outcomes.append(ALONE)  # re-seating wants a solve outside any transaction
            except CapacityExceeded as refusal:
                refused[job.shape] = refusal
                outcomes.append(Outcome(error=refusal))
            except (Busy, DatabaseUnavailable):
                raise
            except SeatwiseError as refusal:
                outcomes.append(Outcome(error=refusal))
        return outcomes

    try:
        outcomes = db.run(rid, batch, pipeline=True)
    except Exception as exc:  # every member then runs on its own: nothing is lost
        _log.info("a batch of %d bookings went back to running alone: %s: %s", len(jobs), type(exc).__name__, exc)
        telemetry.WRITE_BATCHES.labels("alone").inc()
        return [ALONE] * len(jobs)
    telemetry.WRITE_BATCHES.labels("committed").inc()
    telemetry.WRITE_BATCH_SIZE.observe(len(jobs))
    for job, outcome in zip(jobs, outcomes, strict=True):
        if outcome.value is not None:
            job.done(outcome.value)
    return outcomes
