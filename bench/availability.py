"""Availability benchmark (issue 3) on examples/grand-hall.yaml with ~400 bookings.

(a) the core computing a full day of slots for parties of 2, 6 and 10, against a
    baseline measured in the same run: the naive way (booking_window + best_plan +
    pacing for each slot, one after the other);
(b) the same over HTTP against the real server, against GET /healthz (one SELECT 1
    round trip) on the same connection;
(c) the planner's best plan for a party of 10 with k = 4 at the busiest time.

Each figure is the median over RUNS runs of that run's percentile. Prints a table
and writes bench/results/availability-*.json.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    ADMIN_KEY,
    ROOT,
    api_server,
    client,
    fresh_database,
    median_of_runs,
    pg,
    print_table,
    summary_ms,
    write_result,
)

from seatwise.core.availability import day_availability
from seatwise.core.errors import SeatwiseError
from seatwise.core.model import PacingUsage
from seatwise.core.pacing import pacing_allows
from seatwise.core.planner import best_plan
from seatwise.core.timerules import booking_window, day_slots, day_span
from seatwise.services.snapshot import venue_snapshot
from seatwise.store import ledger
from seatwise.store.db import Database

DAY = date(2027, 6, 11)  # a Friday
TARGET_BOOKINGS = 400
PARTIES = (2, 6, 10)
RUNS = 5
CORE_ITERATIONS = 200
HTTP_ITERATIONS = 100


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def book_a_day(url: str, rid: str, key: str, slots: list[str]) -> int:
    """POST bookings (parties 1..12, mostly small) until ~400 succeed."""
    rng = random.Random(42)
    weights = [4, 20, 8, 14, 5, 6, 2, 3, 1, 2, 1, 1]
    bodies = [
        {
            "party_size": rng.choices(range(1, 13), weights)[0],
            "start": f"{DAY.isoformat()}T{rng.choice(slots)}",
            "guest": {"name": f"Guest {i}"},
        }
        for i in range(TARGET_BOOKINGS * 3)
    ]
    made = 0
    with client(url, key) as c:

        def post(body: dict[str, object]) -> int:
            return c.post(f"/v1/restaurants/{rid}/bookings", json=body).status_code

        with ThreadPoolExecutor(8) as pool:
            for start in range(0, len(bodies), 64):
                made += sum(1 for s in pool.map(post, bodies[start : start + 64]) if s == 201)
                if made >= TARGET_BOOKINGS:
                    break
    return made


def naive_day(venue, day_ledger, party, now):  # type: ignore[no-untyped-def]
    """The baseline: every slot planned from scratch with the ranked planner."""
    out = []
    for slot in day_slots(venue, DAY):
        try:
            w = booking_window(venue, party, slot.start)
        except SeatwiseError:
            out.append(False)
            continue
        usage = day_ledger.pacing.get(w.slot_start, PacingUsage())
        ok = (
            pacing_allows(w.service.pacing, usage, party)
            and best_plan(venue, party, w.block_start, w.block_end, day_ledger, now) is not None
        )
        out.append(ok)
    return out


def main() -> None:
    srv = pg()
    fresh_database(srv, "seatwise_bench_availability")
    doc = yaml.safe_load((ROOT / "examples" / "grand-hall.yaml").read_text())
    with api_server("seatwise_bench_availability") as server:
        url = server.url
        admin = client(url, ADMIN_KEY)
        created = admin.post("/v1/restaurants", json=doc).json()
        rid, key = created["id"], created["api_keys"]["staff"]
        slots = [
            s["time"]
            for s in admin.get(
                f"/v1/restaurants/{rid}/availability", params={"date": DAY.isoformat(), "party_size": 2}
            ).json()["slots"]
        ]
        booked = book_a_day(url, rid, key, slots)
        print(f"grand-hall: {booked} bookings on {DAY} over {len(slots)} slots")

        # (b) HTTP, against /healthz on the same keep-alive connection.
        http: dict[str, dict[str, float]] = {}
        with client(url, key) as c:
            for _ in range(20):  # warm the venue cache and connections
                c.get(f"/v1/restaurants/{rid}/availability", params={"date": DAY.isoformat(), "party_size": 2})
            http["healthz"] = median_of_runs(
                [summary_ms(timed(lambda: c.get("/healthz"), HTTP_ITERATIONS)) for _ in range(RUNS)]
            )
            for party in PARTIES:
                params = {"date": DAY.isoformat(), "party_size": party}
                http[f"party {party}"] = median_of_runs(
                    [
                        summary_ms(
                            timed(
                                lambda p=params: c.get(f"/v1/restaurants/{rid}/availability", params=p), HTTP_ITERATIONS
                            )
                        )
                        for _ in range(RUNS)
                    ]
                )

    # (a, c) the core, on exactly the ledger the server holds.
    db = Database(srv.app_url("seatwise_bench_availability"), max_size=2)
    now = datetime.now(UTC)
    with db.tenant(rid) as conn:
        venue = venue_snapshot(conn, rid)
        lo, hi = day_span(venue, DAY)
        day_ledger = ledger.load_ledger(conn, rid, lo, hi, now)
    db.close()
    core: dict[str, dict[str, float]] = {}
    naive: dict[str, dict[str, float]] = {}
    for party in PARTIES:
        assert [s.available for s in day_availability(venue, day_ledger, DAY, party, now)] == naive_day(
            venue, day_ledger, party, now
        ), "the fast path and the baseline must agree"
        core[f"party {party}"] = median_of_runs(
            [
                summary_ms(timed(lambda p=party: day_availability(venue, day_ledger, DAY, p, now), CORE_ITERATIONS))
                for _ in range(RUNS)
            ]
        )
        naive[f"party {party}"] = median_of_runs(
            [summary_ms(timed(lambda p=party: naive_day(venue, day_ledger, p, now), 20)) for _ in range(RUNS)]
        )

    def occupancy(s: object) -> int:
        return sum(1 for rows in day_ledger.busy.values() for b in rows if b.start <= s.start < b.end)  # type: ignore[attr-defined]

    # The busiest slot where a party of 10 still fits (a found plan), and the busiest
    # of all (no plan: the search must exhaust every combination to say so).
    by_load = sorted(day_slots(venue, DAY), key=occupancy, reverse=True)
    planner: dict[str, dict[str, float]] = {}
    plans: dict[str, object] = {}
    for case, slot in (("busiest", by_load[0]), ("busiest with a plan", None)):
        candidates = [slot] if slot else by_load
        for s in candidates:
            w = booking_window(venue, 10, s.start)
            plan = best_plan(venue, 10, w.block_start, w.block_end, day_ledger, now)
            if slot or plan is not None:
                break
        planner[case] = median_of_runs(
            [
                summary_ms(timed(lambda w=w: best_plan(venue, 10, w.block_start, w.block_end, day_ledger, now), 500))
                for _ in range(RUNS)
            ]
        )
        plans[case] = {"at": s.time, "plan": list(plan.labels) if plan else None}

    rows = []
    for party in PARTIES:
        k = f"party {party}"
        rows.append(
            [
                f"core full day, {k}",
                core[k]["p50_ms"],
                core[k]["p95_ms"],
                "< 5",
                f"{naive[k]['p50_ms'] / core[k]['p50_ms']:.1f}x faster than naive per-slot planning",
            ]
        )
    for party in PARTIES:
        k = f"party {party}"
        rows.append(
            [
                f"HTTP full day, {k}",
                http[k]["p50_ms"],
                http[k]["p95_ms"],
                "< 20",
                f"{http[k]['p50_ms'] / http['healthz']['p50_ms']:.1f}x a /healthz round trip",
            ]
        )
    rows.append(["HTTP /healthz (baseline)", http["healthz"]["p50_ms"], http["healthz"]["p95_ms"], "", ""])
    for case, figures in planner.items():
        found = plans[case]
        rows.append(
            [
                f"best plan, party 10, k=4, {case} ({found['at']})",
                figures["p50_ms"],
                figures["p95_ms"],  # type: ignore[index]
                "< 2",
                f"plan: {'+'.join(found['plan']) if found['plan'] else 'none'}",
            ]
        )  # type: ignore[index]
    print_table(
        f"availability on grand-hall ({len(venue.tables)} tables, {booked} bookings); medians of {RUNS} runs",
        ["measure", "p50 ms", "p95 ms", "target p95", "vs baseline"],
        rows,
    )
    path = write_result(
        "availability",
        {
            "venue": "examples/grand-hall.yaml",
            "tables": len(venue.tables),
            "bookings": booked,
            "date": DAY.isoformat(),
            "runs": RUNS,
            "core": core,
            "core_naive_baseline": naive,
            "http": http,
            "best_plan_party10_k4": {case: {**planner[case], **plans[case]} for case in planner},  # type: ignore[dict-item]
        },
    )
    print(f"\nwrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
