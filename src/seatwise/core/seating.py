"""Re-seating and the service optimizer (DESIGN §13): a CP-SAT model over one service.

The model is given the venue, a ledger (every row that occupies a table, with the
claims of unassigned bookings already placed), the **movable** bookings of one
service (pending or confirmed, unpinned, on tables) and, for re-seating, a new
party. Everything else in the ledger is **fixed**: seated and pinned bookings,
bookings of other services, holds, blocks, claims.

Invariants of every solution:

* times never change: a booking keeps its block, only its tables may change;
* a booking is only ever given its current tables or a plan the planner
  (:func:`seatwise.core.planner.plan_tables`) offers its party over its block on the
  fixed ledger, so every check a new booking passes holds for a moved one;
* no two bookings of the solution share a table over overlapping blocks, and none
  overlaps a fixed row;
* a fixed row is never in the model, so it is never moved.

:func:`reseat` finds room for the new party while moving as few bookings as possible
(warm-started from the current assignment). Only bookings whose blocks reach the
new party's block through a chain of at most `reach` overlapping blocks may move; the
others stay where they are (fixed), which keeps the model small and a refusal fast.
:func:`optimize` re-packs the service: fewest tables used over the whole service,
then fewest wasted seats, then fewest moves.

No I/O and no clock: the solver's own time limit bounds each solve (`budget`
seconds of its wall time), which is what the latency promise needs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from ortools.sat.python import cp_model

from seatwise.core.model import DayLedger, Venue
from seatwise.core.planner import plan_tables

__all__ = [
    "DEFAULT_BUDGET_SECONDS",
    "OPTIMIZE_BUDGET_SECONDS",
    "Figures",
    "Move",
    "NewParty",
    "Occupant",
    "Outcome",
    "Solution",
    "figures",
    "fits",
    "optimize",
    "reseat",
]

DEFAULT_BUDGET_SECONDS = 0.150
"""A re-seating solve's default time limit (DESIGN §13; `policy.reseating_budget_ms`)."""

OPTIMIZE_BUDGET_SECONDS = 0.8
"""The optimizer's time limit: the whole request stays within a second."""

MAX_CANDIDATES = 48
"""Most plans a booking may be given (the planner's best first, its current tables
always among them): enough choice to make room, a model that stays small."""

DEFAULT_REACH = 2
"""How far (in chains of overlapping blocks) a re-seat may reach from the new party."""

TableSet = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Occupant:
    """A movable booking: its block and the tables it holds now (ascending ids)."""

    booking_id: str
    party_size: int
    start: datetime  # block start
    end: datetime  # block end
    table_ids: TableSet


@dataclass(frozen=True, slots=True)
class NewParty:
    party_size: int
    start: datetime  # block start
    end: datetime  # block end


@dataclass(frozen=True, slots=True)
class Move:
    booking_id: str
    from_tables: TableSet
    to_tables: TableSet


class Outcome(StrEnum):
    OPTIMAL = "optimal"  # proven best for the objective
    FEASIBLE = "feasible"  # the best found within the budget
    INFEASIBLE = "infeasible"  # proven: no assignment exists
    UNKNOWN = "unknown"  # the budget ran out before any assignment was found


@dataclass(frozen=True, slots=True)
class Solution:
    """What a solve found. `moves` are in booking id order; `assignment` maps every
    booking of the model to its tables after the moves; `new_tables` are the new
    party's (re-seating only). `seconds` is the solver's wall time."""

    outcome: Outcome
    moves: tuple[Move, ...] = ()
    new_tables: TableSet | None = None
    assignment: Mapping[str, TableSet] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def found(self) -> bool:
        return self.outcome in (Outcome.OPTIMAL, Outcome.FEASIBLE)


@dataclass(frozen=True, slots=True)
class Figures:
    """How a service sits on the floor (before or after an optimization).

    `tables_used`: distinct tables any of its bookings holds; `free_tables`: active
    tables none of them holds; `combinations`: bookings on more than one table;
    `wasted_seats`: seats beyond the party, summed over bookings.
    """

    bookings: int
    tables_used: int
    free_tables: int
    combinations: int
    wasted_seats: int


def figures(venue: Venue, parties: Mapping[str, int], assignment: Mapping[str, TableSet]) -> Figures:
    """The figures of `assignment` (booking id -> tables) for parties (id -> size)."""
    seats = {t.id: t.seats for t in venue.tables}
    used = {t for tables in assignment.values() for t in tables}
    active = sum(1 for t in venue.tables if t.active)
    return Figures(
        bookings=len(assignment),
        tables_used=len(used),
        free_tables=active - len(used & {t.id for t in venue.tables if t.active}),
        combinations=sum(1 for tables in assignment.values() if len(tables) > 1),
        wasted_seats=sum(sum(seats.get(t, 0) for t in tables) - parties[ref] for ref, tables in assignment.items()),
    )


def fits(
    ledger: DayLedger,
    now: datetime,
    placements: Sequence[tuple[str, TableSet, datetime, datetime]],
    *,
    moving: Collection[str],
) -> bool:
    """Whether every placement `(ref, tables, start, end)` is free on the ledger once
    the rows of `moving` are gone, and no two placements overlap on a table.

    The re-check a writer makes under its locks before it applies a solution."""
    rows = _without(ledger, moving)
    for i, (_, tables, start, end) in enumerate(placements):
        for table in tables:
            if any(r.start < end and r.end > start and r.live(now) for r in rows.busy.get(table, ())):
                return False
        for _, other, o_start, o_end in placements[i + 1 :]:
            if set(tables) & set(other) and start < o_end and o_start < end:
                return False
    return True


# --- the model -------------------------------------------------------------------------


def _without(ledger: DayLedger, refs: Collection[str]) -> DayLedger:
    if not refs:
        return ledger
    gone = set(refs)
    busy = {t: tuple(r for r in rows if r.ref not in gone) for t, rows in ledger.busy.items()}
    return replace(ledger, busy=busy)


def _overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _within_reach(occupants: Sequence[Occupant], new: NewParty, reach: int) -> list[Occupant]:
    """The occupants whose blocks reach the new party's through at most `reach`
    overlapping blocks (breadth first); only they may move."""
    frontier = [(new.start, new.end)]
    chosen: list[Occupant] = []
    left = list(occupants)
    for _ in range(reach):
        found = [o for o in left if any(_overlaps((o.start, o.end), w) for w in frontier)]
        if not found:
            break
        chosen += found
        taken = {o.booking_id for o in found}
        left = [o for o in left if o.booking_id not in taken]
        frontier = [(o.start, o.end) for o in found]
    return chosen


@dataclass
class _Model:
    """Boolean `x[i][j]`: party i sits on candidate j. Party i of `parties`; the new
    party, when there is one, is the last."""

    model: cp_model.CpModel
    windows: list[tuple[datetime, datetime]]
    candidates: list[list[TableSet]]
    x: list[list[cp_model.IntVar]]


def _candidates(
    venue: Venue,
    fixed: DayLedger,
    now: datetime,
    party: int,
    start: datetime,
    end: datetime,
    current: TableSet,
    memo: dict[tuple[int, datetime, datetime], list[TableSet]],
    limit: int,
) -> list[TableSet]:
    key = (party, start, end)
    plans = memo.get(key)
    if plans is None:
        plans = memo[key] = [p.table_ids for p in plan_tables(venue, party, start, end, fixed, now).plans[:limit]]
    if current and current not in plans:
        return [current, *plans]
    return list(plans)


def _build(
    venue: Venue,
    fixed: DayLedger,
    now: datetime,
    occupants: Sequence[Occupant],
    new: NewParty | None,
    limit: int,
) -> _Model | None:
    """The model, or None when some party has no candidate at all (no solution)."""
    memo: dict[tuple[int, datetime, datetime], list[TableSet]] = {}
    windows = [(o.start, o.end) for o in occupants]
    candidates = [
        _candidates(venue, fixed, now, o.party_size, o.start, o.end, o.table_ids, memo, limit) for o in occupants
    ]
    if new is not None:
        windows.append((new.start, new.end))
        candidates.append(_candidates(venue, fixed, now, new.party_size, new.start, new.end, (), memo, limit))
    if any(not c for c in candidates):
        return None
    model = cp_model.CpModel()
    x = [[model.new_bool_var(f"x{i}_{j}") for j in range(len(c))] for i, c in enumerate(candidates)]
    for row in x:
        model.add_exactly_one(row)
    # A table's users over time form an interval graph: its maximal cliques sit at
    # block starts, so "at most one party on the table at each start" is exact.
    users: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for i, cands in enumerate(candidates):
        for j, tables in enumerate(cands):
            for table in tables:
                users[table].append((i, j))
    for uses in users.values():
        parties = {i for i, _ in uses}
        if len(parties) < 2:
            continue
        for point in sorted({windows[i][0] for i in parties}):
            live = [x[i][j] for i, j in uses if windows[i][0] <= point < windows[i][1]]
            if len({i for i, _ in uses if windows[i][0] <= point < windows[i][1]}) > 1:
                model.add_at_most_one(live)
    return _Model(model, windows, candidates, x)


def _solve(built: _Model, budget: float, workers: int) -> tuple[cp_model.CpSolver, cp_model.CpSolverStatus]:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(budget, 0.001)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 1
    status = solver.solve(built.model)
    return solver, status


def _outcome(status: cp_model.CpSolverStatus) -> Outcome:
    if status == cp_model.OPTIMAL:
        return Outcome.OPTIMAL
    if status == cp_model.FEASIBLE:
        return Outcome.FEASIBLE
    if status == cp_model.INFEASIBLE:
        return Outcome.INFEASIBLE
    return Outcome.UNKNOWN


def _chosen(solver: cp_model.CpSolver, built: _Model, i: int) -> TableSet:
    for j, var in enumerate(built.x[i]):
        if solver.boolean_value(var):
            return built.candidates[i][j]
    raise LookupError("a party without a plan in a solution")  # ExactlyOne makes this impossible


def _solution(
    solver: cp_model.CpSolver,
    status: cp_model.CpSolverStatus,
    built: _Model,
    occupants: Sequence[Occupant],
    new: NewParty | None,
) -> Solution:
    outcome = _outcome(status)
    if outcome not in (Outcome.OPTIMAL, Outcome.FEASIBLE):
        return Solution(outcome, seconds=solver.wall_time)
    assignment = {o.booking_id: _chosen(solver, built, i) for i, o in enumerate(occupants)}
    moves = tuple(
        Move(o.booking_id, o.table_ids, assignment[o.booking_id])
        for o in sorted(occupants, key=lambda o: o.booking_id)
        if assignment[o.booking_id] != o.table_ids
    )
    new_tables = _chosen(solver, built, len(occupants)) if new is not None else None
    return Solution(outcome, moves, new_tables, assignment, solver.wall_time)


def _stays(built: _Model, occupants: Sequence[Occupant]) -> list[cp_model.IntVar]:
    """Per occupant, the variable "keeps its current tables" (also the warm start)."""
    out = []
    for i, o in enumerate(occupants):
        var = built.x[i][built.candidates[i].index(o.table_ids)]
        built.model.add_hint(var, True)
        out.append(var)
    return out


def reseat(
    venue: Venue,
    ledger: DayLedger,
    now: datetime,
    occupants: Iterable[Occupant],
    new: NewParty,
    *,
    budget: float = DEFAULT_BUDGET_SECONDS,
    reach: int = DEFAULT_REACH,
    workers: int = 1,
    max_candidates: int = MAX_CANDIDATES,
) -> Solution:
    """Seat `new` by moving as few `occupants` (movable bookings) as possible.

    `ledger` holds every occupying row, the occupants' own included (they are taken
    out of it here). Outcome INFEASIBLE when the new party cannot fit even with the
    movable bookings gone, or the solver proves no assignment exists; UNKNOWN when the
    budget ran out first.
    """
    everyone = sorted(occupants, key=lambda o: o.booking_id)
    movable = [o for o in _within_reach(everyone, new, reach) if o.table_ids]
    fixed = _without(ledger, {o.booking_id for o in movable})
    built = _build(venue, fixed, now, movable, new, max_candidates)
    if built is None:
        return Solution(Outcome.INFEASIBLE)
    stays = _stays(built, movable)
    built.model.maximize(sum(stays))
    solver, status = _solve(built, budget, workers)
    return _solution(solver, status, built, movable, new)


def optimize(
    venue: Venue,
    ledger: DayLedger,
    now: datetime,
    occupants: Iterable[Occupant],
    *,
    budget: float = OPTIMIZE_BUDGET_SECONDS,
    workers: int = 1,
    max_candidates: int = MAX_CANDIDATES,
) -> Solution:
    """Re-pack the occupants: fewest tables used over the service, then fewest wasted
    seats, then fewest moves (lexicographic, as one weighted objective). The current
    assignment is the warm start, so a solution is found at once and only improved."""
    movable = sorted((o for o in occupants if o.table_ids), key=lambda o: o.booking_id)
    fixed = _without(ledger, {o.booking_id for o in movable})
    built = _build(venue, fixed, now, movable, None, max_candidates)
    if built is None or not movable:  # a current assignment is always a candidate: only when empty
        return Solution(Outcome.OPTIMAL, assignment={o.booking_id: o.table_ids for o in movable})
    model = built.model
    stays = _stays(built, movable)
    seats = {t.id: t.seats for t in venue.tables}
    used: dict[int, cp_model.IntVar] = {}
    waste_terms = []
    max_waste = 0
    for i, o in enumerate(movable):
        wastes = [sum(seats[t] for t in tables) - o.party_size for tables in built.candidates[i]]
        max_waste += max(wastes)
        waste_terms += [w * built.x[i][j] for j, w in enumerate(wastes) if w]
        for j, tables in enumerate(built.candidates[i]):
            for table in tables:
                if table not in used:
                    used[table] = model.new_bool_var(f"u{table}")
                model.add_implication(built.x[i][j], used[table])
    n = len(movable)
    moves = n - sum(stays)
    model.minimize(sum(used.values()) * (max_waste + 1) * (n + 1) + sum(waste_terms) * (n + 1) + moves)
    solver, status = _solve(built, budget, workers)
    return _solution(solver, status, built, movable, None)
