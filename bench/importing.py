"""Importing bookings (issue 13): 2,000 rows in one request against the real server.

Baseline, measured in the same run on the same server: the same kind of rows
booked one by one (POST bookings, one client, BASELINE_ROWS of them), as a
per-row cost. Reported: the import's wall time for 2,000 rows (the issue's bar is
10 s), its per-row cost against the baseline's, and a re-import of the same file
(every row replayed by external_ref). Each figure is the median over RUNS runs, each
on a fresh restaurant. A SQL audit after every run counts overlapping live
allocations and pacing overruns (must be zero).

Prints a table, writes bench/results/importing-*.json.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ADMIN_KEY, api_server, client, dinner_service, fresh_database, pg, print_table, write_result

DB = "seatwise_bench_importing"
RUNS = 3
ROWS = 2000
BASELINE_ROWS = 200
AUDIT = """
SELECT
  (SELECT count(*) FROM allocations a JOIN allocations b
     ON b.restaurant_id = a.restaurant_id AND b.table_id = a.table_id AND a.id < b.id AND a.during && b.during
   WHERE (a.expires_at IS NULL OR a.expires_at > now()) AND (b.expires_at IS NULL OR b.expires_at > now())),
  (SELECT count(*) FROM pacing_usage
   WHERE (max_covers IS NOT NULL AND covers > max_covers) OR (max_parties IS NOT NULL AND parties > max_parties))
"""


def venue(run: int) -> dict[str, Any]:
    return {
        "name": f"Import {run}",
        "slug": f"import-{run}",
        "timezone": "Europe/London",
        "policy": {
            "enforcement": "shadow",  # the baseline's overbooked rows are accepted too, as an import keeps them
            "services": [
                dinner_service({2: 60, 20: 90}, pacing={"max_covers_per_slot": 60, "max_parties_per_slot": 16})
            ],
        },
        "zones": [{"key": "main", "name": "Main"}],
        "tables": [{"label": f"T{n}", "zone": "main", "seats": 4} for n in range(1, 41)],
        "adjacency": [[f"T{n}", f"T{n + 1}"] for n in range(1, 40)],
    }


def rows(n: int, first_month: int) -> list[dict[str, Any]]:
    """`n` rows over evenings of 100 rows each; one in five names its table."""
    out = []
    for i in range(n):
        day = f"2028-{first_month:02d}-{1 + i // 100:02d}"
        slot = i % 100
        at = f"{17 + (slot % 16) // 4}:{15 * (slot % 4):02d}"
        out.append(
            {
                "start": f"{day}T{at}",
                "party_size": 2 + i % 5,
                "name": f"Guest {i}",
                "email": f"g{i}@example.com",
                "tables": f"T{1 + slot % 40}" if i % 5 == 0 else "",
                "external_ref": f"bulk-{first_month}-{i}",
            }
        )
    return out


def audit(owner_url: str) -> tuple[int, int]:
    with psycopg.connect(owner_url) as conn:
        row = conn.execute(AUDIT).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def main() -> None:
    owner_url = fresh_database(pg(), DB)
    runs = []
    with api_server(DB, workers=1, pool=8) as server:
        admin = client(server.url, ADMIN_KEY)
        for run in range(RUNS):
            r = admin.post("/v1/restaurants", json=venue(run)).json()
            base = f"/v1/restaurants/{r['id']}"
            staff = client(server.url, r["api_keys"]["staff"])
            one_by_one = rows(BASELINE_ROWS, 1 + 2 * run)
            t0 = time.perf_counter()
            for x in one_by_one:
                body = {"party_size": x["party_size"], "start": x["start"], "guest": {"name": x["name"]}}
                assert staff.post(f"{base}/bookings", json=body).status_code == 201
            baseline_per_row = (time.perf_counter() - t0) / BASELINE_ROWS
            bulk = rows(ROWS, 2 + 2 * run)
            t0 = time.perf_counter()
            answer = staff.post(f"{base}/bookings/import", json=bulk)
            wall = time.perf_counter() - t0
            assert answer.status_code == 200, answer.text
            counts = answer.json()["counts"]
            t0 = time.perf_counter()
            again = staff.post(f"{base}/bookings/import", json=bulk)
            replay_wall = time.perf_counter() - t0
            assert again.json()["counts"]["replayed"] == ROWS
            assert audit(owner_url) == (0, 0)
            runs.append(
                {
                    "import_s": wall,
                    "reimport_s": replay_wall,
                    "import_ms_per_row": wall / ROWS * 1000,
                    "baseline_ms_per_row": baseline_per_row * 1000,
                    "counts": counts,
                }
            )
            staff.close()
        admin.close()

    def median(key: str) -> float:
        return round(statistics.median(x[key] for x in runs), 3)

    result = {
        "rows": ROWS,
        "runs": runs,
        "import_s": median("import_s"),
        "reimport_s": median("reimport_s"),
        "import_ms_per_row": median("import_ms_per_row"),
        "baseline_ms_per_row": median("baseline_ms_per_row"),
    }
    result["speedup_vs_one_by_one"] = round(result["baseline_ms_per_row"] / result["import_ms_per_row"], 1)
    result["under_10_s"] = result["import_s"] < 10  # the bar
    print_table(
        f"Import of {ROWS} rows (median of {RUNS} runs; baseline: {BASELINE_ROWS} bookings one by one)",
        ["figure", "value"],
        [
            ["import wall time (s)", result["import_s"]],
            ["re-import, all replayed (s)", result["reimport_s"]],
            ["import per row (ms)", result["import_ms_per_row"]],
            ["one-by-one booking per row (ms)", result["baseline_ms_per_row"]],
            ["import / one-by-one speed-up", result["speedup_vs_one_by_one"]],
            ["under 10 s (the bar)", result["under_10_s"]],
            ["outcomes (last run)", runs[-1]["counts"]],
        ],
    )
    print(f"\nwrote {write_result('importing', result)}")


if __name__ == "__main__":
    main()
