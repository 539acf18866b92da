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

:func:`reseat` finds room for the new party while moving as few bookings as possible.
A direct search first moves each booking in the way of one of the new party's plans
to its best free plan (exact when it needs one move); otherwise the solver, warm-
started from that (or the current assignment), looks for fewer moves. Only bookings
that reach the new party through at most `reach` steps of "in the way of a plan" (an overlapping
block on a table the other could use) may move; the others stay where they are
(fixed), which keeps the model small and a refusal fast.
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

from seatwise.core.model import Busy, DayLedger, Venue
from seatwise.core.planner import best_plan, plan_tables

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

OPTIMIZE_BUDGET_SECONDS = 0.4
"""The optimizer's time limit: the whole request stays within a second."""

MAX_CANDIDATES = 24
"""Most plans a booking may be given (the planner's best first, its current tables
always among them): enough choice to make room, a model that stays small."""

DEFAULT_REACH = 2
"""How far (in steps of "in the way of a plan") a re-seat may reach from the new party."""

DIRECT_ATTEMPTS = 32
"""Most plans of the new party the direct search tries (fewest bookings in the way
first, so a one-move answer is never cut: plans needing none or one come first)."""

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


def _without(ledger: DayLedger, refs: Collection[str], tables: Iterable[int] | None = None) -> DayLedger:
    """The ledger without the rows of `refs` (looked for on `tables` only, when given)."""
    if not refs:
        return ledger
    gone = set(refs)
    if tables is None:
        busy = {t: tuple(r for r in rows if r.ref not in gone) for t, rows in ledger.busy.items()}
    else:
        busy = dict(ledger.busy)
        for t in set(tables) & busy.keys():
            busy[t] = tuple(r for r in busy[t] if r.ref not in gone)
    return replace(ledger, busy=busy)


def _overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _in_the_way(
    venue: Venue, ledger: DayLedger, now: datetime, occupants: Sequence[Occupant], new: NewParty, reach: int
) -> list[Occupant]:
    """The occupants a re-seat may move: those in the way of a plan of the new party
    (an overlapping block on a table of the plan), then those in the way of a plan of
    one of them, up to `reach` steps (breadth first). Plans are taken on the ledger
    without any occupant, so every plan that could matter counts."""
    open_ledger = _without(ledger, {o.booking_id for o in occupants})
    memo: dict[tuple[int, datetime, datetime], frozenset[int]] = {}

    def tables(party: int, start: datetime, end: datetime) -> frozenset[int]:
        key = (party, start, end)
        if key not in memo:
            plans = plan_tables(venue, party, start, end, open_ledger, now).plans
            memo[key] = frozenset(t for p in plans for t in p.table_ids)
        return memo[key]

    frontier = [((new.start, new.end), tables(new.party_size, new.start, new.end))]
    chosen: list[Occupant] = []
    left = [o for o in occupants if o.table_ids]
    for _ in range(reach):
        found = [
            o
            for o in left
            if any(_overlaps((o.start, o.end), w) and not used.isdisjoint(o.table_ids) for w, used in frontier)
        ]
        if not found:
            break
        chosen += found
        taken = {o.booking_id for o in found}
        left = [o for o in left if o.booking_id not in taken]
        frontier = [((o.start, o.end), tables(o.party_size, o.start, o.end)) for o in found]
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
    extra: TableSet = (),
) -> list[TableSet]:
    key = (party, start, end)
    plans = memo.get(key)
    if plans is None:
        plans = memo[key] = [p.table_ids for p in plan_tables(venue, party, start, end, fixed, now).plans[:limit]]
    out = list(plans)
    for wanted in (extra, current):
        if wanted and wanted not in out:
            out.insert(0, wanted)
    return out


def _build(
    venue: Venue,
    fixed: DayLedger,
    now: datetime,
    occupants: Sequence[Occupant],
    new: NewParty | None,
    limit: int,
    extra: Mapping[str, TableSet] | None = None,
) -> _Model | None:
    """The model, or None when some party has no candidate at all (no solution).
    `extra` adds a candidate per booking (a warm start's)."""
    memo: dict[tuple[int, datetime, datetime], list[TableSet]] = {}
    windows = [(o.start, o.end) for o in occupants]
    more = extra or {}
    candidates = [
        _candidates(
            venue, fixed, now, o.party_size, o.start, o.end, o.table_ids, memo, limit, more.get(o.booking_id, ())
        )
        for o in occupants
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


def _crowded(built: _Model, party: int) -> bool:
    """Whether, at some instant of party `party`'s block, more parties are present than
    there are tables any of them could use (Hall's condition): parties present at one
    instant need distinct tables, so then no assignment exists. Cheap, and it settles
    the full night at once, where the solver would search its whole budget."""
    lo, hi = built.windows[party]
    for point in {lo} | {w[0] for w in built.windows if lo <= w[0] < hi}:
        present = [i for i, w in enumerate(built.windows) if w[0] <= point < w[1]]
        if len(present) > len({t for i in present for tables in built.candidates[i] for t in tables}):
            return True
    return False


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


def _stays(built: _Model, occupants: Sequence[Occupant], start: Solution | None = None) -> list[cp_model.IntVar]:
    """Per occupant, the variable "keeps its current tables". The warm start is the
    current assignment, or `start` (a solution found without the solver)."""
    out = []
    for i, o in enumerate(occupants):
        out.append(built.x[i][built.candidates[i].index(o.table_ids)])
        hinted = start.assignment.get(o.booking_id, o.table_ids) if start else o.table_ids
        _hint_row(built, i, hinted)
    if start is not None and start.new_tables is not None and len(built.x) > len(occupants):
        _hint_row(built, len(occupants), start.new_tables)
    return out


def _hint_row(built: _Model, i: int, chosen: TableSet) -> None:
    """A complete hint for party i (one candidate true, the others false), so that the
    solver's first solution is the warm start itself."""
    if chosen not in built.candidates[i]:
        return
    for j, tables in enumerate(built.candidates[i]):
        built.model.add_hint(built.x[i][j], tables == chosen)


def _placed(ledger: DayLedger, tables: TableSet, row: Busy) -> DayLedger:
    busy = dict(ledger.busy)
    for table in tables:
        busy[table] = (*busy.get(table, ()), row)
    return replace(ledger, busy=busy)


def _direct(
    venue: Venue, ledger: DayLedger, now: datetime, movable: Sequence[Occupant], new: NewParty
) -> Solution | None:
    """The fewest moves found without the solver: for each plan of the new party (the
    planner's complete list on the ledger without the movable bookings in its way),
    each booking in the way goes, largest first, to the planner's best free plan
    with the new party and the earlier moves in place. Cheap (a planner call per
    booking in the way), and exact when it finds one move or none: none would have
    been found had it existed."""
    window = (new.start, new.end)
    near = [o for o in movable if _overlaps((o.start, o.end), window)]
    open_ledger = _without(ledger, {o.booking_id for o in near})
    best: Solution | None = None
    plans = plan_tables(venue, new.party_size, new.start, new.end, open_ledger, now).plans
    in_the_way = [
        sorted((o for o in near if set(p.table_ids) & set(o.table_ids)), key=lambda o: (-o.party_size, o.booking_id))
        for p in plans
    ]
    # Fewest bookings in the way first (then the planner's rank): the first plan that
    # works with none or one move is the best there is.
    ordered = sorted(range(len(plans)), key=lambda n: (len(in_the_way[n]), n))
    for n in ordered[:DIRECT_ATTEMPTS]:
        plan, blockers = plans[n], in_the_way[n]
        if best is not None and len(blockers) >= len(best.moves):
            break
        day = _placed(
            _without(ledger, {b.booking_id for b in blockers}, (t for b in blockers for t in b.table_ids)),
            plan.table_ids,
            Busy(new.start, new.end, "booking", ""),
        )
        moves: list[Move] = []
        for b in blockers:
            found = best_plan(venue, b.party_size, b.start, b.end, day, now)
            if found is None:
                break
            moves.append(Move(b.booking_id, b.table_ids, found.table_ids))
            day = _placed(day, found.table_ids, Busy(b.start, b.end, "booking", b.booking_id))
        else:
            assignment = {o.booking_id: o.table_ids for o in movable} | {m.booking_id: m.to_tables for m in moves}
            outcome = Outcome.OPTIMAL if len(moves) <= 1 else Outcome.FEASIBLE
            by_id = tuple(sorted(moves, key=lambda m: m.booking_id))
            best = Solution(outcome, by_id, plan.table_ids, assignment)
            if len(moves) <= 1:
                break
    return best


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
    movable = _in_the_way(venue, ledger, now, everyone, new, reach)
    direct = _direct(venue, ledger, now, movable, new)
    if direct is not None and direct.outcome is Outcome.OPTIMAL:
        return direct
    fixed = _without(ledger, {o.booking_id for o in movable})
    built = _build(venue, fixed, now, movable, new, max_candidates)
    if built is None or _crowded(built, len(movable)):
        return Solution(Outcome.INFEASIBLE)
    stays = _stays(built, movable, direct)
    if direct is not None:  # the solver only has to beat it
        built.model.add(cp_model.LinearExpr.sum(stays) >= len(movable) - len(direct.moves) + 1)
    built.model.maximize(cp_model.LinearExpr.sum(stays))
    solver, status = _solve(built, budget, workers)
    solved = _solution(solver, status, built, movable, new)
    if direct is not None and not solved.found:
        return direct  # nothing better within the budget (or proven: nothing better)
    return solved


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
    packed = _repacked(venue, ledger, now, movable)
    built = _build(venue, fixed, now, movable, None, max_candidates, packed.assignment)
    if built is None or not movable:  # a current assignment is always a candidate: only when empty
        return Solution(Outcome.OPTIMAL, assignment={o.booking_id: o.table_ids for o in movable})
    model = built.model
    stays = _stays(built, movable, packed)
    seats = {t.id: t.seats for t in venue.tables}
    used: dict[int, cp_model.IntVar] = {}
    waste_vars: list[cp_model.IntVar] = []
    waste_weights: list[int] = []
    max_waste = 0
    for i, o in enumerate(movable):
        wastes = [sum(seats[t] for t in tables) - o.party_size for tables in built.candidates[i]]
        max_waste += max(wastes)
        waste_vars += built.x[i]
        waste_weights += wastes
        for j, tables in enumerate(built.candidates[i]):
            for table in tables:
                if table not in used:
                    used[table] = model.new_bool_var(f"u{table}")
                model.add_implication(built.x[i][j], used[table])
    start = {t for tables in packed.assignment.values() for t in tables}
    for table, var in used.items():  # the warm start is complete: the solver begins from it
        model.add_hint(var, table in start)
    n = len(movable)
    # Lexicographic by weights: a table saved outweighs every seat, a seat every move.
    table_weight, seat_weight = (max_waste + 1) * (n + 1), n + 1
    tables_used = list(used.values())
    model.minimize(
        cp_model.LinearExpr.weighted_sum(
            [*tables_used, *waste_vars, *stays],
            [table_weight] * len(tables_used) + [w * seat_weight for w in waste_weights] + [-1] * len(stays),
        )
        + n
    )
    solver, status = _solve(built, budget, workers)
    solved = _solution(solver, status, built, movable, None)
    if not solved.found:  # nothing within the budget: the direct re-pack stands
        return replace(packed, seconds=solved.seconds)
    return solved


def _waste(seats: Mapping[int, int], tables: TableSet, party: int) -> tuple[int, int]:
    return sum(seats[t] for t in tables) - party, len(tables)


def _repacked(venue: Venue, ledger: DayLedger, now: datetime, movable: Sequence[Occupant]) -> Solution:
    """A re-pack without the solver (its warm start): each booking, most wasteful first,
    goes to the planner's best free plan when that wastes fewer seats or tables."""
    seats = {t.id: t.seats for t in venue.tables}
    day = ledger
    assignment = {o.booking_id: o.table_ids for o in movable}
    for o in sorted(movable, key=lambda o: (_waste(seats, o.table_ids, o.party_size), o.booking_id), reverse=True):
        without = _without(day, {o.booking_id}, assignment[o.booking_id])
        plan = best_plan(venue, o.party_size, o.start, o.end, without, now)
        if plan is None or _waste(seats, plan.table_ids, o.party_size) >= _waste(seats, o.table_ids, o.party_size):
            continue
        assignment[o.booking_id] = plan.table_ids
        day = _placed(without, plan.table_ids, Busy(o.start, o.end, "booking", o.booking_id))
    moves = tuple(
        Move(o.booking_id, o.table_ids, assignment[o.booking_id])
        for o in movable
        if assignment[o.booking_id] != o.table_ids
    )
    return Solution(Outcome.FEASIBLE, moves, None, assignment)
