"""Worst-case planning benchmark (issue 15), core only, no server.

(a) best plan for parties 2..10 on a zone of 40 two-tops, all adjacent, k = 5, in
    each adjacency mode, with an empty ledger (every table free: the most
    combinations), against the planner before issue 15 (bench/_planner_reference.py)
    measured in the same run, and with the same answer checked;
(b) availability (the plan_exists_on fast path) for a full day of slots, party 10,
    on the same zone with a booked day, against the old fast path in the same run;
(c) the work bound: the most expensive venue the validator admits that we know of
    (a grid of 80 distinct tables, k = 5, connected: no twins to merge) — the
    slowest best plan over parties 1..30, and the count of search nodes.

New-planner figures are the median over RUNS runs of that run's percentile; the
baseline takes seconds per call, so it runs BASELINE_RUNS times per case. Prints a
table and writes bench/results/planner.json.

    .venv/bin/python bench/planner.py            # everything (about a minute)
    .venv/bin/python bench/planner.py --quick    # baseline for parties 3, 7, 10 only
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _planner_reference as reference
from _common import RESULTS, ROOT, median_of_runs, print_table, summary_ms

import seatwise.core.availability as availability_module
from seatwise.core.availability import day_availability
from seatwise.core.model import AdjacencyMode, Busy, DayLedger, Venue
from seatwise.core.planner import PLANNING_WORK_LIMIT, best_plan, plan_exists_on, planning_work
from seatwise.core.timerules import booking_window, day_slots
from seatwise.core.venue_doc import parse_venue_document

DAY = date(2027, 6, 11)  # a Friday
NOW = datetime(2027, 6, 1, tzinfo=UTC)
PARTIES = tuple(range(2, 11))
RUNS = 5
ITERATIONS = 40
BASELINE_RUNS = 1
TARGET_P95_MS = 20.0

SERVICE = {
    "name": "all-day",
    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "start": "11:00",
    "end": "23:00",
    "turns": [{"max_party": 4, "minutes": 90}, {"max_party": 20, "minutes": 120}],
}


def dense_document(mode: AdjacencyMode) -> dict[str, Any]:
    """The issue's zone: 40 two-tops, every pair adjacent, k = 5."""
    labels = [f"D{i}" for i in range(1, 41)]
    return {
        "name": "Dense",
        "slug": "dense",
        "timezone": "Europe/London",
        "policy": {"adjacency_mode": mode.value, "max_tables_per_combination": 5, "services": [SERVICE]},
        "zones": [{"key": "hall"}],
        "tables": [{"label": label, "zone": "hall", "seats": 2} for label in labels],
        "adjacency": [list(pair) for pair in combinations(labels, 2)],
    }


def grid_document(rows: int, cols: int) -> dict[str, Any]:
    """A grid of tables of 2, 4 and 6 seats, each adjacent to its 4 neighbours."""
    label = [[f"G{r * cols + c + 1}" for c in range(cols)] for r in range(rows)]
    edges = [[label[r][c], label[r][c + 1]] for r in range(rows) for c in range(cols - 1)]
    edges += [[label[r][c], label[r + 1][c]] for r in range(rows - 1) for c in range(cols)]
    return {
        "name": "Grid",
        "slug": "grid",
        "timezone": "Europe/London",
        "policy": {"adjacency_mode": "connected", "max_tables_per_combination": 5, "services": [SERVICE]},
        "zones": [{"key": "hall"}],
        "tables": [
            {"label": label[r][c], "zone": "hall", "seats": 2 + 2 * ((r * cols + c) % 3)}
            for r in range(rows)
            for c in range(cols)
        ],
        "adjacency": edges,
    }


def timed(fn: Callable[[], object], n: int) -> dict[str, float]:
    """Wall-clock and CPU (this thread's) percentiles of `n` calls: the machine is
    shared, so wall time includes waiting for a CPU; CPU time is the work done."""
    wall, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - t0)
    return {**summary_ms(wall), **{f"cpu_{k}": v for k, v in summary_ms(cpu).items() if k != "n"}}


def booked_day(venue: Venue) -> DayLedger:
    """Five tables booked for two hours at every slot: the busy masks differ from
    slot to slot, and some slots have fewer than five tables left (no plan for 10)."""
    rng = random.Random(15)
    rows: dict[int, list[Busy]] = {}
    for n, slot in enumerate(day_slots(venue, DAY)):
        for t in rng.sample([t.id for t in venue.tables], 5):
            rows.setdefault(t, []).append(Busy(slot.start, slot.start + timedelta(minutes=120), "booking", f"b{n}-{t}"))
    return DayLedger(busy={t: tuple(r) for t, r in rows.items()})


def main() -> None:
    quick = "--quick" in sys.argv
    baseline_parties = (3, 7, 10) if quick else PARTIES
    results: dict[str, Any] = {"best_plan": {}, "availability": {}, "bound": {}}
    rows: list[list[Any]] = []

    # (a) best plan, every mode and party
    for mode in AdjacencyMode:
        venue = parse_venue_document(dense_document(mode))
        start = datetime(2027, 6, 11, 18, 0, tzinfo=UTC)
        window = booking_window(venue, 10, start)
        block = (window.block_start, window.block_end)
        for party in PARTIES:

            def new(party: int = party, venue: Venue = venue, block: tuple[datetime, datetime] = block) -> object:
                return best_plan(venue, party, *block, DayLedger(), NOW)

            plan = best_plan(venue, party, *block, DayLedger(), NOW)
            labels = plan.labels if plan else None
            figures = median_of_runs([timed(new, ITERATIONS) for _ in range(RUNS)])
            entry: dict[str, Any] = {"plan": list(labels) if labels else None, "new": figures}
            ratio = ""
            if party in baseline_parties:
                old = reference.best_plan(venue, party, *block, DayLedger(), NOW)
                if old != labels:
                    raise SystemExit(f"{mode} party {party}: new {labels} != reference {old}")

                def before(
                    party: int = party, venue: Venue = venue, block: tuple[datetime, datetime] = block
                ) -> object:
                    return reference.best_plan(venue, party, *block, DayLedger(), NOW)

                entry["baseline"] = timed(before, BASELINE_RUNS)
                ratio = f"old/new CPU {entry['baseline']['cpu_p50_ms'] / max(figures['cpu_p50_ms'], 1e-3):.0f}x"
            results["best_plan"][f"{mode.value} party {party}"] = entry
            rows.append(
                [
                    f"best plan, {mode.value}, party {party}",
                    figures["p50_ms"],
                    figures["p95_ms"],
                    f"<= {TARGET_P95_MS:g}",
                    entry["baseline"]["p50_ms"] if "baseline" in entry else "-",
                    entry["baseline"]["cpu_p50_ms"] if "baseline" in entry else "-",
                    ratio,
                    "+".join(labels) if labels else "none",
                ]
            )

    # (b) availability, full day, party 10
    for mode in AdjacencyMode:
        venue = parse_venue_document(dense_document(mode))
        ledger = booked_day(venue)
        got = day_availability(venue, ledger, DAY, 10, NOW)
        figures = median_of_runs(
            [timed(lambda v=venue, lg=ledger: day_availability(v, lg, DAY, 10, NOW), 10) for _ in range(RUNS)]
        )
        # The same sweep with the old fast path swapped in (a benchmark, not a test).
        availability_module.plan_exists_on = reference.plan_exists_on
        try:
            old = day_availability(venue, ledger, DAY, 10, NOW)
            base = timed(lambda v=venue, lg=ledger: day_availability(v, lg, DAY, 10, NOW), 5)
        finally:
            availability_module.plan_exists_on = plan_exists_on
        if old != got:
            raise SystemExit(f"{mode}: availability differs from the reference")
        open_slots = sum(s.available for s in got)
        results["availability"][mode.value] = {
            "slots": len(got),
            "available": open_slots,
            "new": figures,
            "baseline": base,
        }
        rows.append(
            [
                f"full day availability, {mode.value}, party 10 ({open_slots}/{len(got)} open)",
                figures["p50_ms"],
                figures["p95_ms"],
                f"<= {TARGET_P95_MS:g}",
                base["p50_ms"],
                base["cpu_p50_ms"],
                f"old/new CPU {base['cpu_p50_ms'] / figures['cpu_p50_ms']:.1f}x",
                "",
            ]
        )

    # (c) the work bound on a costly admitted venue
    grid = parse_venue_document(grid_document(8, 10))
    nodes = sum(n or 0 for n in planning_work(grid).values())
    start = datetime(2027, 6, 11, 18, 0, tzinfo=UTC)
    window = booking_window(grid, 10, start)
    slowest: list[float] = []
    slowest_cpu: list[float] = []
    for party in range(1, 31):

        def plan(party: int = party) -> object:
            return best_plan(grid, party, window.block_start, window.block_end, DayLedger(), NOW)

        figures = median_of_runs([timed(plan, 3) for _ in range(3)])
        slowest.append(figures["p50_ms"])
        slowest_cpu.append(figures["cpu_p50_ms"])
    worst = max(slowest)
    results["bound"] = {
        "venue": "grid 8x10, seats 2/4/6, k=5, connected",
        "nodes": nodes,
        "limit": PLANNING_WORK_LIMIT,
        "slowest_best_plan_ms": worst,
        "slowest_best_plan_cpu_ms": max(slowest_cpu),
        "slowest_party": slowest.index(worst) + 1,
    }
    rows.append(
        [
            f"slowest best plan (p50), grid 8x10 k=5 ({nodes} of {PLANNING_WORK_LIMIT} nodes)",
            worst,
            "",
            "",
            "",
            "",
            f"party {slowest.index(worst) + 1}; CPU {max(slowest_cpu)} ms",
            "",
        ]
    )

    print_table(
        f"worst-case planning (40 two-tops, all adjacent, k=5); new: medians of {RUNS} runs x {ITERATIONS}",
        ["measure", "p50 ms", "p95 ms", "target p95", "baseline p50 ms", "baseline CPU ms", "vs baseline", "plan"],
        rows,
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "planner.json"
    payload = {
        "benchmark": "planner",
        "at": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "runs": RUNS,
        "iterations": ITERATIONS,
        "baseline_runs": BASELINE_RUNS,
        "target_p95_ms": TARGET_P95_MS,
        **results,
    }
    path.write_text(json.dumps(payload, indent=2, default=str))
    print(f"\nwrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
