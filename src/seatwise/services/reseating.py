"""Re-seating on refusal (DESIGN §13, `policy.reseating: auto`).

When a hold or booking that names no tables finds no free plan while pacing allows
it, the use case's transaction is abandoned (:class:`NoRoom` carries what it read:
the service's bookings and the ledger around them). The CP-SAT solve
(:func:`seatwise.core.seating.reseat`) then runs outside any transaction, within
`policy.reseating_budget_ms`. The use case runs again with the solution: under the
same locks as any booking it plans first (a table freed meanwhile needs no move);
otherwise :func:`seatwise.services.seating.apply_moves` re-checks every moved
booking and target and writes the moves beside the new booking, under the deferred
overlap check, in that one transaction. Anything changed meanwhile: read and solve
again (at most :data:`MAX_SOLVES` solves in all), then the ordinary refusal (409
CAPACITY_EXCEEDED with alternatives). Never half-applied: the moves and the new party commit together or not at all.

`policy.reseating: off`, a request naming tables, and shadow enforcement (which
accepts such a party unassigned) refuse exactly as without re-seating.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from seatwise import telemetry
from seatwise.core.model import Enforcement, Reseating, Venue
from seatwise.core.seating import NewParty, Outcome, reseat
from seatwise.core.timerules import BookingWindow
from seatwise.services.seating import PlannedMove, ServiceState, apply_moves, planned_moves, read_service
from seatwise.store.db import Database
from seatwise.store.venues import Conn

T = TypeVar("T")

# The first solve, and more while another writer changed the floor before this one's
# write (each stale plan means someone else's write landed: progress). Eight, like
# `Database.run`'s attempts: fewer let racing parties that all want the same movable
# booking give up while room was left (three did, once in ten runs of the re-seating
# race on a loaded machine).
MAX_SOLVES = 8


@dataclass(frozen=True, slots=True)
class ReseatPlan:
    """A solution to write: the moves and the new party's tables, valid for the venue
    version, party and block it was solved for."""

    venue_version: int
    party_size: int
    block: tuple[datetime, datetime]
    moves: tuple[PlannedMove, ...]
    new_tables: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Reseat:
    """What one attempt of a use case may do when no plan is free: write `plan`, and
    (with `may_ask`) abandon the transaction with :class:`NoRoom` to solve again."""

    actor: str
    plan: ReseatPlan | None = None
    may_ask: bool = True
    # False once a solve of this use case ran out of its budget undecided: a refusal
    # after it is not proven, so it is not kept (services.refusals).
    certain: bool = True


class NoRoom(Exception):
    """No free plan, pacing allows, re-seating may help: what the solve needs."""

    def __init__(self, state: ServiceState, new: NewParty) -> None:
        super().__init__("no free plan; re-seating may make room")
        self.state = state
        self.new = new
        self.timed_out = False  # set by `solve`: no answer within the budget


def wanted(venue: Venue, reseat_: Reseat | None, labels: Sequence[str] | None) -> bool:
    """Whether this refusal may be answered by re-seating."""
    policy = venue.policy
    return (
        reseat_ is not None
        and not labels
        and policy.reseating is Reseating.AUTO
        and policy.enforcement is Enforcement.ENFORCE
    )


def ask(conn: Conn, rid: str, venue: Venue, window: BookingWindow, party: int, now: datetime) -> NoRoom:
    """The signal to raise, with the service read in the caller's transaction."""
    block = (window.block_start, window.block_end)
    state = read_service(conn, rid, venue, window.service_date, window.service.name, now, also=block)
    return NoRoom(state, NewParty(party, *block))


def solve(asked: NoRoom) -> ReseatPlan | None:
    """The moves that make room, found within the policy's budget (no transaction
    open), or None."""
    state, new = asked.state, asked.new
    venue = state.venue
    solution = reseat(
        venue, state.ledger, state.now, state.occupants, new, budget=venue.policy.reseating_budget_ms / 1000
    )
    telemetry.SEATING_SOLVE_SECONDS.labels("reseat").observe(solution.seconds)
    if not solution.found or solution.new_tables is None:
        asked.timed_out = solution.outcome is Outcome.UNKNOWN
        telemetry.RESEATS.labels("timeout" if asked.timed_out else "infeasible").inc()
        return None
    moves = planned_moves(state.occupants, solution.moves)
    return ReseatPlan(venue.version, new.party_size, (new.start, new.end), moves, solution.new_tables)


def apply(
    conn: Conn, rid: str, venue: Venue, reseat_: Reseat, party: int, window: BookingWindow, now: datetime
) -> tuple[int, ...] | None:
    """Write the attempt's plan's moves (caller holds the slot lock) and return the new
    party's tables, or None when there is no plan or it no longer applies (nothing
    written)."""
    plan = reseat_.plan
    block = (window.block_start, window.block_end)
    if plan is None or (plan.venue_version, plan.party_size, plan.block) != (venue.version, party, block):
        return None
    new = ("new party", plan.new_tables, *block)
    if not apply_moves(conn, rid, venue, plan.moves, now, actor=reseat_.actor, reason="reseating", also=[new]):
        telemetry.RESEATS.labels("stale").inc()
        return None
    return tuple(sorted(plan.new_tables))


def _with(use_case: Callable[[Conn, Reseat], T], attempt: Reseat, conn: Conn) -> T:
    return use_case(conn, attempt)


def run_reseating(db: Database, rid: str, actor: str, use_case: Callable[[Conn, Reseat], T]) -> T:
    """Run a use case that may re-seat: at most :data:`MAX_SOLVES` solves, each
    outside any transaction, between attempts of the use case (see the module)."""
    attempt = Reseat(actor)
    solves = 0
    while True:
        try:
            result = db.run(rid, functools.partial(_with, use_case, attempt), pipeline=True)
        except NoRoom as asked:
            solves += 1
            plan = solve(asked)
            certain = attempt.certain and not asked.timed_out
            attempt = Reseat(actor, plan, may_ask=plan is not None and solves < MAX_SOLVES, certain=certain)
            continue
        if attempt.plan is not None:
            telemetry.RESEATS.labels("applied").inc()
        return result
