"""The service optimizer (DESIGN §13): re-pack one service's bookings onto the floor
so that the most combinable space is free (fewest tables used over the service, then
fewest wasted seats, then fewest moves), times unchanged, seated and pinned bookings
where they are.

A dry run (the default) reads the service in one short transaction, solves outside
any transaction (:func:`seatwise.core.seating.optimize`, within
:data:`~seatwise.core.seating.OPTIMIZE_BUDGET_SECONDS`) and writes nothing. With
`apply`, exactly the listed moves are committed in one transaction
(:func:`seatwise.services.seating.apply_moves`: moved bookings locked and re-checked,
tables swapped under the deferred overlap check, `assignment.changed` per move). If
the service changed between the solve and the write, it is read and solved once
more; still changed: 409 TABLE_CONFLICT, nothing written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

from seatwise import telemetry
from seatwise.core.errors import TableConflict, ValidationFailed
from seatwise.core.model import Service, Venue
from seatwise.core.seating import Figures, figures, optimize
from seatwise.core.timerules import parse_local_date, runs_on
from seatwise.services.auth import Principal
from seatwise.services.common import utcnow
from seatwise.services.results import Optimization, SeatingFigures, TableMove, labels_of
from seatwise.services.seating import PlannedMove, ServiceState, apply_moves, planned_moves, read_service
from seatwise.services.snapshot import venue_snapshot
from seatwise.store.db import Database
from seatwise.store.venues import Conn

ATTEMPTS = 2  # a solve and its write, once more if the service changed in between


@dataclass(frozen=True, slots=True)
class OptimizeRequest:
    date: str  # YYYY-MM-DD: the local date the service starts on
    service: str | None = None  # None: the date's only service
    apply: bool = False


class _Changed(Exception):
    """The service changed between the solve and the write."""


def _service(venue: Venue, day: date, name: str | None) -> Service:
    """The named service, or the date's only one; otherwise 422 naming the choices."""
    services = venue.policy.services
    names = ", ".join(s.name for s in services) or "none"
    if name is not None:
        for service in services:
            if service.name == name:
                return service
        raise ValidationFailed(f"no service named {name!r}; services: {names}")
    running = [s for s in services if runs_on(venue, s, day)]
    if len(services) == 1:
        return services[0]
    if len(running) == 1:
        return running[0]
    raise ValidationFailed(f"name the service to optimize on {day.isoformat()}: one of {names}")


def _figures(f: Figures) -> SeatingFigures:
    return SeatingFigures(f.bookings, f.tables_used, f.free_tables, f.combinations, f.wasted_seats)


def _assignment(state: ServiceState) -> dict[str, tuple[int, ...]]:
    return {r["id"]: tuple(sorted(r["table_ids"])) for r in state.bookings}


def optimize_service(db: Database, rid: str, request: OptimizeRequest, actor: Principal) -> Optimization:
    """Re-pack the service of `request.date` (see the module); dry run unless `apply`."""
    day = parse_local_date(request.date)
    for _ in range(ATTEMPTS):
        with db.tenant(rid) as conn:
            venue = venue_snapshot(conn, rid)
            service = _service(venue, day, request.service)
            state = read_service(conn, rid, venue, day, service.name, utcnow())
        solution = optimize(venue, state.ledger, state.now, state.occupants)  # no transaction open
        telemetry.SEATING_SOLVE_SECONDS.labels("optimize").observe(solution.seconds)
        moves = planned_moves(state.occupants, solution.moves)
        before = _assignment(state)
        after: Mapping[str, tuple[int, ...]] = {**before, **solution.assignment}
        parties = {r["id"]: r["party_size"] for r in state.bookings}
        answer = Optimization(
            date=day,
            service=service.name,
            moves=tuple(
                TableMove(m.booking_id, labels_of(venue, m.from_tables), labels_of(venue, m.to_tables)) for m in moves
            ),
            before=_figures(figures(venue, parties, before)),
            after=_figures(figures(venue, parties, after)),
            applied=False,
            outcome=solution.outcome.value,
            solve_ms=round(solution.seconds * 1000, 1),
        )
        if not request.apply:
            return answer

        def write(conn: Conn, version: int = venue.version, moves: tuple[PlannedMove, ...] = moves) -> None:
            current = venue_snapshot(conn, rid, for_write=True)
            if current.version != version:
                raise _Changed
            if not apply_moves(conn, rid, current, moves, utcnow(), actor=actor.label, reason="optimize"):
                raise _Changed

        try:
            db.run(rid, write)
        except _Changed:
            continue
        return replace(answer, applied=True)
    raise TableConflict("the service changed while it was being optimized; run it again")
