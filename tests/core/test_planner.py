"""Planner: unit cases, manual-assignment checks, and a brute-force oracle property."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatwise.core.assignment import CHECKS
from seatwise.core.combinations import any_combination, best_combination, iter_combinations
from seatwise.core.errors import InvalidVenue, ValidationFailed
from seatwise.core.model import (
    AdjacencyMode,
    Busy,
    DayLedger,
    Policy,
    Table,
    Venue,
    Zone,
)
from seatwise.core.occupancy import busy_mask
from seatwise.core.planner import (
    PLANNING_WORK_LIMIT,
    Plan,
    best_plan,
    check_assignment,
    plan_exists_on,
    plan_tables,
    planning_problem,
    planning_work,
    rank_key,
)
from seatwise.core.venue_doc import load_document_text, parse_venue_document
from seatwise.core.venue_index import bits_of, venue_index

T0 = datetime(2026, 6, 5, 18, 0, tzinfo=UTC)
NOW = T0 - timedelta(hours=2)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_venue(
    tables: Iterable[Table],
    edges: Iterable[tuple[str, str]] = (),
    *,
    mode: AdjacencyMode = AdjacencyMode.CONNECTED,
    k: int = 3,
    max_overage: int = 4,
) -> Venue:
    tables = tuple(tables)
    by_label = {t.label: t.id for t in tables}
    return Venue(
        name="Test",
        slug="test",
        timezone="Europe/London",
        policy=Policy(
            services=(),
            adjacency_mode=mode,
            max_tables_per_combination=k,
            max_overage=max_overage,
        ),
        zones=tuple(Zone(z, z) for z in sorted({t.zone for t in tables})),
        tables=tables,
        adjacency=frozenset(frozenset((by_label[a], by_label[b])) for a, b in edges),
    )


def tbl(
    i: int,
    label: str,
    seats: int,
    zone: str = "main",
    *,
    min_party: int = 1,
    max_party: int = 0,
    movable: bool = True,
    active: bool = True,
) -> Table:
    return Table(i, label, zone, seats, min_party, max_party, movable, active)


def plans(v: Venue, party: int, ledger: DayLedger | None = None, *, max_tables: int | None = None) -> list[str]:
    ledger = ledger or DayLedger()
    result = plan_tables(v, party, at(0), at(90), ledger, NOW, max_tables=max_tables)
    assert result.truncated is False
    return ["+".join(p.labels) for p in result.plans]


def busy(
    table_id: int,
    start: int,
    end: int,
    kind: str = "booking",
    ref: str = "b1",
    expires_at: datetime | None = None,
) -> DayLedger:
    return DayLedger(busy={table_id: (Busy(at(start), at(end), kind, ref, expires_at),)})


CHAIN = make_venue(
    [tbl(1, "A", 4), tbl(2, "B", 4), tbl(3, "C", 2)],
    [("A", "B"), ("B", "C")],
)


def test_chain_finds_a_plus_b_for_seven() -> None:
    found = plans(CHAIN, 7)
    assert found[0] == "A+B"
    assert "A+B+C" in found
    best = best_plan(CHAIN, 7, at(0), at(90), DayLedger(), NOW)
    assert best is not None
    assert best.labels == ("A", "B")
    assert best.reason == "combination A+B in main (8 seats for 7, 1 spare seat)"


def test_single_reason_and_preference_over_combinations() -> None:
    result = plan_tables(CHAIN, 4, at(0), at(90), DayLedger(), NOW)
    assert [p.labels for p in result.plans][:2] == [("A",), ("B",)]
    assert result.plans[0].reason == "single A (4 seats for 4)"
    assert result.best == result.plans[0]
    assert "B+C" in plans(CHAIN, 4)  # 6 seats, 2 spare: valid, ranked after singles


PATH3 = [tbl(1, "A", 2), tbl(2, "B", 2), tbl(3, "C", 2)]
PATH_EDGES = [("A", "B"), ("B", "C")]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (AdjacencyMode.CONNECTED, ["A+B+C"]),
        (AdjacencyMode.NEIGHBORS, ["A+B+C"]),  # B touches A and C
        (AdjacencyMode.PAIRWISE, []),  # A and C are not adjacent
    ],
)
def test_adjacency_modes_on_a_path_of_three(mode: AdjacencyMode, expected: list[str]) -> None:
    assert plans(make_venue(PATH3, PATH_EDGES, mode=mode), 6) == expected


def test_neighbors_needs_one_table_touching_all() -> None:
    tables = [*PATH3, tbl(4, "D", 2)]
    edges = [*PATH_EDGES, ("C", "D")]
    assert plans(make_venue(tables, edges, mode=AdjacencyMode.CONNECTED, k=4), 8) == ["A+B+C+D"]
    assert plans(make_venue(tables, edges, mode=AdjacencyMode.NEIGHBORS, k=4), 8) == []
    star = [("A", "B"), ("A", "C"), ("A", "D")]
    assert plans(make_venue(tables, star, mode=AdjacencyMode.NEIGHBORS, k=4), 8) == ["A+B+C+D"]
    assert plans(make_venue(tables, star, mode=AdjacencyMode.PAIRWISE, k=4), 8) == []


def test_tables_without_edges_seat_as_singles_only() -> None:
    v = make_venue([tbl(1, "X", 4), tbl(2, "Y", 4)])
    assert plans(v, 4) == ["X", "Y"]
    assert plans(v, 6) == []


def test_limits_k_and_max_tables() -> None:
    assert plans(CHAIN, 10) == ["A+B+C"]
    assert plans(replace(CHAIN, policy=replace(CHAIN.policy, max_tables_per_combination=2)), 10) == []
    assert plans(CHAIN, 7, max_tables=1) == []
    with pytest.raises(ValidationFailed):
        plans(CHAIN, 7, max_tables=0)


def test_single_table_party_bounds_and_slack() -> None:
    v = make_venue([tbl(1, "T1", 6, min_party=4), tbl(2, "T2", 8, max_party=6)], [("T1", "T2")])
    assert plans(v, 3) == []  # T1 needs 4+, T2 wastes 5 > 4; T1+T2 wastes 11
    assert plans(v, 5) == ["T1", "T2"]
    assert plans(v, 7) == []  # T2 takes at most 6 alone; T1+T2 wastes 7
    assert plans(v, 10) == ["T1+T2"]  # per-table bounds do not apply inside a combination
    tight = make_venue([tbl(1, "T1", 4)], max_overage=0)
    assert plans(tight, 3) == []
    assert plans(tight, 4) == ["T1"]


def test_inactive_and_fixed_tables() -> None:
    v = make_venue(
        [tbl(1, "A", 4, active=False), tbl(2, "B", 4, movable=False), tbl(3, "C", 4)],
        [("A", "C"), ("B", "C")],
    )
    assert plans(v, 4) == ["B", "C"]
    assert plans(v, 8) == []


def test_zones_never_mix() -> None:
    v = make_venue([tbl(1, "A", 4, "in"), tbl(2, "B", 4, "out")], [("A", "B")])
    assert plans(v, 8) == []


def test_busy_tables_are_skipped_and_touching_intervals_do_not_overlap() -> None:
    everything = ["A", "B", "B+C", "A+B"]
    assert plans(CHAIN, 4) == everything
    assert plans(CHAIN, 4, busy(1, 30, 60)) == ["B", "B+C"]
    assert plans(CHAIN, 4, busy(1, -60, 0)) == everything  # ends as the block starts
    assert plans(CHAIN, 4, busy(1, 90, 120)) == everything  # starts as the block ends
    assert plans(CHAIN, 4, busy(1, 89, 120)) == ["B", "B+C"]
    assert plans(CHAIN, 4, busy(2, -60, 1, kind="block", ref="x")) == ["A"]


def test_expired_holds_do_not_block_live_ones_do() -> None:
    expired = busy(2, 0, 90, kind="hold", ref="h", expires_at=NOW)
    assert plans(CHAIN, 4, expired) == ["A", "B", "B+C", "A+B"]
    live = busy(2, 0, 90, kind="hold", ref="h", expires_at=NOW + timedelta(seconds=1))
    assert plans(CHAIN, 4, live) == ["A"]


def test_ranking_prefers_common_sizes_then_natural_order() -> None:
    # Party 6 with equal waste and table count: 4+2 (common sizes) before 3+3 (rare 3s).
    tables = [tbl(i, f"T{i}", s) for i, s in enumerate([4, 4, 4, 2, 2, 2, 3, 3], start=1)]
    edges = [("T1", "T4"), ("T7", "T8")]
    assert plans(make_venue(tables, edges), 6)[0] == "T1+T4"
    # Natural order: T9 before T10.
    v = make_venue([tbl(1, "T10", 4), tbl(2, "T9", 4)])
    assert plans(v, 4) == ["T9", "T10"]


def test_bad_requests() -> None:
    with pytest.raises(ValidationFailed):
        plan_tables(CHAIN, 0, at(0), at(90), DayLedger(), NOW)
    with pytest.raises(ValidationFailed):
        plan_tables(CHAIN, 2, at(90), at(90), DayLedger(), NOW)


# --- manual assignment ------------------------------------------------------------------

ROOM = make_venue(
    [
        tbl(1, "T1", 2),
        tbl(2, "T2", 4),
        tbl(3, "T3", 4),
        tbl(4, "T4", 6, movable=False),
        tbl(5, "P1", 4, "patio"),
        tbl(6, "T6", 8, min_party=5),
    ],
    [("T1", "T2"), ("T2", "T3")],
)


def checks(
    labels: list[str],
    party: int,
    ledger: DayLedger | None = None,
    *,
    allow_slack: bool = False,
    ignore_ref: str | None = None,
) -> dict[str, tuple[bool, str]]:
    ledger = ledger or DayLedger()
    out = check_assignment(
        ROOM,
        party,
        labels,
        at(0),
        at(90),
        ledger,
        NOW,
        allow_slack=allow_slack,
        ignore_ref=ignore_ref,
    )
    assert [c.check for c in out] == list(CHECKS)
    return {c.check: (c.ok, c.message) for c in out}


def test_assignment_all_ok() -> None:
    result = checks(["T1", "T2"], 5)
    assert all(ok for ok, _ in result.values())


def test_assignment_reports_each_failure() -> None:
    result = checks(["T1", "T3", "T4", "P1"], 20)
    assert result["capacity"] == (False, "16 seats for a party of 20")
    assert result["zone"][0] is False
    assert result["movable"] == (False, "not movable: T4")
    assert result["adjacency"][0] is False
    assert result["adjacency"][1] == "connected: T1, T3, T4 not joined to the others"


def test_assignment_single_table_capacity_and_slack() -> None:
    result = checks(["T6"], 4)
    assert result["capacity"][0] is False
    assert "5-8" in result["capacity"][1]
    assert result["movable"][0]
    assert result["adjacency"][0]
    assert checks(["T6"], 8)["capacity"][0]
    assert checks(["T6"], 5)["slack"][0]
    slack = checks(["T2", "T3"], 2)
    assert slack["slack"][0] is False
    assert checks(["T2", "T3"], 2, allow_slack=True)["slack"][0] is True


def test_assignment_adjacency_names_the_tables() -> None:
    result = checks(["T1", "T3"], 6)
    assert result["adjacency"] == (False, "connected: T3 not joined to the others")
    pairwise = replace(ROOM, policy=replace(ROOM.policy, adjacency_mode=AdjacencyMode.PAIRWISE))
    out = check_assignment(pairwise, 10, ["T1", "T2", "T3"], at(0), at(90), DayLedger(), NOW)
    assert out[4].message == "pairwise: not adjacent T1-T3"


def test_assignment_conflicts_holds_and_ignore_ref() -> None:
    ledger = DayLedger(
        busy={
            2: (Busy(at(30), at(60), "booking", "bk-7"),),
            1: (
                Busy(at(0), at(30), "hold", "h-1", expires_at=NOW + timedelta(minutes=5)),
                Busy(at(0), at(30), "hold", "h-old", expires_at=NOW),
            ),
            3: (Busy(at(-30), at(0), "block", "blk"),),  # touching: no conflict
        }
    )
    result = checks(["T1", "T2", "T3"], 8, ledger)
    assert result["conflict"] == (False, "overlaps T2: booking bk-7")
    assert result["hold"] == (False, "held: T1: hold h-1")
    moved = checks(["T1", "T2", "T3"], 8, ledger, ignore_ref="bk-7")
    assert moved["conflict"][0] is True


def test_assignment_unknown_labels() -> None:
    with pytest.raises(ValidationFailed, match="unknown tables: T9, X1") as info:
        checks(["T1", "X1", "T9"], 2)
    assert info.value.fields["labels"] == ["T9", "X1"]
    with pytest.raises(ValidationFailed):
        checks(["T1", "T1"], 2)
    with pytest.raises(ValidationFailed):
        checks([], 2)


# --- oracle property ----------------------------------------------------------------------


def oracle_ok(v: Venue, ids: tuple[int, ...]) -> bool:
    """Independent adjacency check with plain sets."""
    edges = {tuple(sorted(e)) for e in v.adjacency}

    def adj(a: int, b: int) -> bool:
        return (min(a, b), max(a, b)) in edges

    mode = v.policy.adjacency_mode
    if mode is AdjacencyMode.PAIRWISE:
        return all(adj(a, b) for a, b in combinations(ids, 2))
    if mode is AdjacencyMode.NEIGHBORS:
        return any(all(adj(h, o) for o in ids if o != h) for h in ids)
    seen = {ids[0]}
    stack = [ids[0]]
    while stack:
        x = stack.pop()
        for y in ids:
            if y not in seen and adj(x, y):
                seen.add(y)
                stack.append(y)
    return len(seen) == len(ids)


def oracle(v: Venue, party: int, ledger: DayLedger, start: datetime, end: datetime) -> set[frozenset[int]]:
    policy = v.policy

    def free(t: Table) -> bool:
        rows = ledger.busy.get(t.id, ())
        return t.active and not any(r.live(NOW) and r.start < end and r.end > start for r in rows)

    tables = [t for t in v.tables if free(t)]
    out: set[frozenset[int]] = set()
    for t in tables:
        if t.min_party <= party <= t.max_party and t.seats - party <= policy.max_overage:
            out.add(frozenset({t.id}))
    movable = [t for t in tables if t.movable]
    for size in range(2, policy.max_tables_per_combination + 1):
        for combo in combinations(movable, size):
            seats = sum(t.seats for t in combo)
            if len({t.zone for t in combo}) != 1 or not party <= seats <= party + policy.max_overage:
                continue
            if oracle_ok(v, tuple(t.id for t in combo)):
                out.add(frozenset(t.id for t in combo))
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Venue, int, DayLedger, int, int]:
    n = draw(st.integers(1, 9))
    tables = []
    for i in range(1, n + 1):
        seats = draw(st.integers(1, 8))
        lo = draw(st.integers(1, seats))
        hi = draw(st.integers(lo, seats + 1))
        tables.append(
            Table(
                id=i * 7,  # ids unrelated to labels and order
                label=draw(st.sampled_from(["T", "B", "t"])) + str(draw(st.integers(1, 12))) + f"-{i}",
                zone=draw(st.sampled_from(["a", "b"])),
                seats=seats,
                min_party=lo,
                max_party=hi,
                movable=draw(st.booleans()) or draw(st.booleans()),
                active=draw(st.integers(0, 5)) > 0,
            )
        )
    pairs = [(a, b) for a, b in combinations(tables, 2) if a.zone == b.zone]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    rows: dict[int, tuple[Busy, ...]] = {}
    for t in tables:
        entries = []
        for j in range(draw(st.integers(0, 2))):
            s = draw(st.integers(-120, 200))
            kind = draw(st.sampled_from(["booking", "hold", "block"]))
            expires = NOW + timedelta(minutes=draw(st.integers(-5, 5))) if kind == "hold" else None
            entries.append(Busy(at(s), at(s + draw(st.integers(1, 120))), kind, f"r{t.id}-{j}", expires))
        rows[t.id] = tuple(entries)
    policy = Policy(
        services=(),
        adjacency_mode=draw(st.sampled_from(list(AdjacencyMode))),
        max_tables_per_combination=draw(st.integers(2, 5)),
        max_overage=draw(st.integers(0, 4)),
    )
    v = Venue(
        name="P",
        slug="p",
        timezone="UTC",
        policy=policy,
        zones=(Zone("a", "A"), Zone("b", "B")),
        tables=tuple(tables),
        adjacency=frozenset(frozenset((a.id, b.id)) for a, b in chosen),
    )
    party = draw(st.integers(1, 24))
    start = draw(st.integers(-60, 120))
    return v, party, DayLedger(busy=rows), start, start + draw(st.integers(1, 150))


def shuffled(v: Venue, seed: int) -> Venue:
    rng = random.Random(seed)  # noqa: S311 - shuffling test input, not security
    tables = list(v.tables)
    rng.shuffle(tables)
    return replace(
        v,
        tables=tuple(tables),
        adjacency=frozenset(rng.sample(list(v.adjacency), len(v.adjacency))),
    )


def check_invariants(v: Venue, ledger: DayLedger, start: datetime, end: datetime, plan: Plan) -> None:
    tables = [v.table_by_id[i] for i in plan.table_ids]
    assert {t.zone for t in tables} == {plan.zone}
    assert plan.seats == sum(t.seats for t in tables)
    for t in tables:
        assert t.active
        for r in ledger.busy.get(t.id, ()):
            assert not (r.live(NOW) and r.start < end and r.end > start)
    if len(tables) > 1:
        assert all(t.movable for t in tables)
        assert oracle_ok(v, plan.table_ids)


@settings(max_examples=300, deadline=None)
@given(scenarios(), st.integers(0, 10**6))
def test_planner_matches_brute_force_oracle(case: tuple[Venue, int, DayLedger, int, int], seed: int) -> None:
    v, party, ledger, s, e = case
    start, end = at(s), at(e)
    result = plan_tables(v, party, start, end, ledger, NOW)
    expected = oracle(v, party, ledger, start, end)
    got = [frozenset(p.table_ids) for p in result.plans]
    assert len(got) == len(set(got))
    assert set(got) == expected
    keys = [rank_key(v, party, p.table_ids) for p in result.plans]
    assert keys == sorted(keys)
    if expected:
        oracle_best = min(expected, key=lambda ids: rank_key(v, party, sorted(ids)))
        assert got[0] == oracle_best
        best = best_plan(v, party, start, end, ledger, NOW)
        assert best == result.plans[0]
    else:
        assert best_plan(v, party, start, end, ledger, NOW) is None
    # The availability fast path agrees: a plan exists exactly when the oracle finds one.
    busy = busy_mask(venue_index(v), ledger, NOW, start, end)
    assert plan_exists_on(v, party, busy) == bool(expected)
    for plan in result.plans:
        check_invariants(v, ledger, start, end, plan)
        assert list(plan.labels) == [v.table_by_id[i].label for i in plan.table_ids]
    # Input order does not matter.
    assert plan_tables(shuffled(v, seed), party, start, end, ledger, NOW) == result


# --- dense zones: many identical and adjacent tables ----------------------------------


def oracle_best(v: Venue, party: int, ledger: DayLedger, start: datetime, end: datetime) -> frozenset[int] | None:
    found = oracle(v, party, ledger, start, end)
    return min(found, key=lambda ids: rank_key(v, party, sorted(ids)), default=None)


@st.composite
def dense_scenarios(draw: st.DrawFn) -> tuple[Venue, int, DayLedger]:
    """Zones of up to 12 tables, mostly adjacent, with few seat sizes (many twins)."""
    n = draw(st.integers(2, 12))
    sizes = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3, unique=True))
    two_zones = draw(st.integers(0, 3)) == 0
    numbers = draw(st.permutations(range(1, n + 1)))  # labels unrelated to ids and order
    tables = [
        Table(
            id=i * 3 + 1,
            label=f"T{numbers[i]}",
            zone="b" if two_zones and draw(st.booleans()) else "a",
            seats=draw(st.sampled_from(sizes)),
            min_party=1,
            max_party=0,
            movable=draw(st.integers(0, 9)) > 0,
            active=draw(st.integers(0, 9)) > 0,
        )
        for i in range(n)
    ]
    pairs = [(a, b) for a, b in combinations(tables, 2) if a.zone == b.zone]
    shape = draw(st.sampled_from(["all", "all-but-a-few", "multipartite", "random"]))
    if shape == "all":
        chosen = pairs
    elif shape == "all-but-a-few":
        dropped = set(draw(st.lists(st.sampled_from(pairs), max_size=3))) if pairs else set()
        chosen = [p for p in pairs if p not in dropped]
    elif shape == "multipartite":  # parts of tables never adjacent to each other
        parts = {t.id: draw(st.integers(0, 3)) for t in tables}
        chosen = [(a, b) for a, b in pairs if parts[a.id] != parts[b.id]]
    else:
        chosen = [p for p in pairs if draw(st.integers(0, 4)) > 0]
    rows: dict[int, tuple[Busy, ...]] = {}
    for t in tables:
        if draw(st.integers(0, 3)) == 0:  # busy over the whole block
            rows[t.id] = (Busy(at(-30), at(120), "booking", f"b{t.id}"),)
    policy = Policy(
        services=(),
        adjacency_mode=draw(st.sampled_from(list(AdjacencyMode))),
        max_tables_per_combination=draw(st.integers(2, 5)),
        max_overage=draw(st.integers(0, 4)),
    )
    v = Venue(
        name="D",
        slug="d",
        timezone="UTC",
        policy=policy,
        zones=(Zone("a", "A"), Zone("b", "B")),
        tables=tuple(tables),
        adjacency=frozenset(frozenset((a.id, b.id)) for a, b in chosen),
    )
    party = draw(st.integers(1, sum(t.seats for t in tables) + 2))
    return v, party, DayLedger(busy=rows)


@settings(max_examples=400, deadline=None)
@given(dense_scenarios(), st.integers(0, 10**6))
def test_best_plan_on_dense_zones_matches_brute_force(case: tuple[Venue, int, DayLedger], seed: int) -> None:
    v, party, ledger = case
    start, end = at(0), at(90)
    expected = oracle_best(v, party, ledger, start, end)
    best = best_plan(v, party, start, end, ledger, NOW)
    assert (None if best is None else frozenset(best.table_ids)) == expected
    if best is not None:
        check_invariants(v, ledger, start, end, best)
        assert best.seats - party == rank_key(v, party, best.table_ids)[0]
    busy = busy_mask(venue_index(v), ledger, NOW, start, end)
    assert plan_exists_on(v, party, busy) == (expected is not None)
    # Fewer tables allowed: the same search with a smaller k.
    for k in range(1, v.policy.max_tables_per_combination):
        smaller = replace(v, policy=replace(v.policy, max_tables_per_combination=k))
        limited = best_plan(v, party, start, end, ledger, NOW, max_tables=k)
        assert (None if limited is None else frozenset(limited.table_ids)) == oracle_best(
            smaller, party, ledger, start, end
        )
    # Input order does not matter.
    assert best_plan(shuffled(v, seed), party, start, end, ledger, NOW) == best
    # Each search visits no more nodes than the venue's planning_work bound.
    index = venue_index(v)
    free = index.active & ~busy
    policy = v.policy
    work = planning_work(v, limit=10**6)
    for zc in index.classes:
        args = (zc, free, policy.adjacency_mode, policy.max_tables_per_combination, party, policy.max_overage)
        exists, search = Ticks(), Ticks()
        any_combination(*args, tick=exists)
        best_combination(*args, None, tick=search)
        bound = work[zc.zone]
        assert bound is not None
        assert exists.n <= bound
        assert search.n <= bound


class Ticks:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> None:
        self.n += 1


def reference_best(v: Venue, party: int, busy: int) -> tuple[str, ...] | None:
    """The planner before issue 15: every feasible table set, then the minimum rank."""
    index = venue_index(v)
    free = index.active & ~busy
    policy = v.policy
    masks = [1 << i for i in bits_of(index.singles(party, policy.max_overage) & free)]
    for zone_mask in index.combinable.values():
        masks.extend(
            iter_combinations(
                policy.adjacency_mode,
                zone_mask & free,
                index.nbr,
                index.seats,
                party,
                policy.max_overage,
                policy.max_tables_per_combination,
            )
        )
    best = min(masks, key=lambda m: rank_key(v, party, index.ids(m)), default=None)
    return None if best is None else index.labels(best)


def forty_tables(mode: AdjacencyMode, seats: Iterable[int], missing: int = 0, max_overage: int = 2) -> Venue:
    """40 tables in one zone, all adjacent but for every `missing`-th pair (0: none)."""
    tables = [tbl(i, f"T{i}", s) for i, s in enumerate(seats, start=1)]
    edges = [(a.label, b.label) for n, (a, b) in enumerate(combinations(tables, 2)) if not missing or n % missing]
    return make_venue(tables, edges, mode=mode, k=5, max_overage=max_overage)


@pytest.mark.parametrize("mode", list(AdjacencyMode))
def test_forty_adjacent_tables_match_the_reference(mode: AdjacencyMode) -> None:
    two_tops = forty_tables(mode, [2] * 40)
    for party in (2, 3, 9, 10):
        best = best_plan(two_tops, party, at(0), at(90), DayLedger(), NOW)
        expected = ("T1",) if party == 2 else tuple(f"T{i}" for i in range(1, (party + 1) // 2 + 1))
        assert best is not None
        assert best.labels == expected
    # Mixed sizes, some tables busy, some edges missing: compared with the reference.
    mixed = forty_tables(mode, [2, 2, 4, 3, 6, 4, 2, 5] * 5, missing=7, max_overage=1)
    ledger = DayLedger(busy={i: (Busy(at(0), at(90), "booking", f"b{i}"),) for i in (1, 3, 5, 8, 13, 21, 34)})
    busy = busy_mask(venue_index(mixed), ledger, NOW, at(0), at(90))
    for party in (3, 7, 11, 13):
        best = best_plan(mixed, party, at(0), at(90), ledger, NOW)
        assert (None if best is None else best.labels) == reference_best(mixed, party, busy)
        assert plan_exists_on(mixed, party, busy) == (best is not None)


def venue_document(n: int, seats: Callable[[int], int], adjacent: Callable[[int, int], bool]) -> dict[str, object]:
    service = {
        "name": "dinner",
        "days": ["fri"],
        "start": "18:00",
        "end": "23:00",
        "turns": [{"max_party": 20, "minutes": 90}],
    }
    return {
        "name": "Dense",
        "slug": "dense",
        "timezone": "UTC",
        "policy": {"max_tables_per_combination": 5, "services": [service]},
        "zones": [{"key": "main"}],
        "tables": [{"label": f"T{i}", "zone": "main", "seats": seats(i)} for i in range(1, n + 1)],
        "adjacency": [[f"T{a}", f"T{b}"] for a, b in combinations(range(1, n + 1), 2) if adjacent(a, b)],
    }


def test_venues_beyond_the_planning_bound_are_refused() -> None:
    # The zone: 40 identical two-tops, all adjacent, k = 5 — one class, cheap.
    dense = parse_venue_document(venue_document(40, lambda _: 2, lambda _a, _b: True))
    assert sum(n or 0 for n in planning_work(dense).values()) <= 5
    assert planning_problem(dense) is None
    # All but every 31st pair adjacent, three sizes: no twins left, 10^5+ combinations.
    doc = venue_document(40, lambda i: 2 + 2 * (i % 3), lambda a, b: bool((a * 7 + b * 13) % 31))
    with pytest.raises(InvalidVenue) as info:
        parse_venue_document(doc)
    [problem] = info.value.fields["problems"]
    assert problem["path"] == "adjacency"
    needs = f"zone 'main' with up to 5 tables (connected) needs more than {PLANNING_WORK_LIMIT} search steps"
    assert needs in problem["message"]
    # The examples stay well inside the bound.
    for name in ("demo-bistro", "grand-hall"):
        text = (Path(__file__).resolve().parents[2] / "examples" / f"{name}.yaml").read_text()
        venue = parse_venue_document(load_document_text(text))
        assert sum(n or PLANNING_WORK_LIMIT for n in planning_work(venue).values()) < PLANNING_WORK_LIMIT // 2
