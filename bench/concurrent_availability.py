"""Availability under concurrency (issue 15): full day on examples/grand-hall.yaml with
~500 bookings on the date, `seatwise serve --workers 2`, 8 concurrent keep-alive
clients, against a DB-backed health endpoint measured in the same run (`/readyz`
when the server has it, else `/healthz`).

The load generator is one asyncio process of raw HTTP/1.1 keep-alive connections
(bench/_common.RawConnection: prebuilt requests, a minimal response parser) so that
it costs the two shared cores as little as possible; its CPU per request is reported
beside the server's and PostgreSQL's. Each figure is the median over RUNS runs. Prints a table and
writes bench/results/concurrent_availability-*.json.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    ADMIN_KEY,
    ROOT,
    CpuMeter,
    RawConnection,
    api_server,
    client,
    fresh_database,
    median_of_runs,
    pg,
    print_table,
    raw_request,
    summary_ms,
    write_result,
)

DB = "seatwise_bench_concurrent_availability"
DAY = date(2027, 6, 11)  # a Friday
TARGET_BOOKINGS = 500
CLIENTS = 8
SECONDS = 3.0
RUNS = 5
TARGET_RPS = 1500
TARGET_P95_MS = 20.0


async def _one_client(url: str, request: bytes, until: float, out: list[float]) -> int:
    conn = await RawConnection.open(url)
    errors = 0
    try:
        while (t0 := time.perf_counter()) < until:
            status, _ = await conn.send(request)
            out.append(time.perf_counter() - t0)
            errors += status != 200
    finally:
        conn.close()
    return errors


async def _load(url: str, path: str, key: str | None, clients: int, seconds: float) -> tuple[list[float], int, float]:
    request = raw_request("GET", url, path, {"Authorization": f"Bearer {key}"} if key else None)
    samples: list[float] = []
    t0 = time.perf_counter()
    until = t0 + seconds
    errors = await asyncio.gather(*(_one_client(url, request, until, samples) for _ in range(clients)))
    return samples, sum(errors), time.perf_counter() - t0


def measure(url: str, path: str, key: str | None, meter: CpuMeter) -> dict[str, float]:
    """One run: `CLIENTS` clients for `SECONDS`; rate, latency, CPU per request."""
    meter.start()
    samples, errors, wall = asyncio.run(_load(url, path, key, CLIENTS, SECONDS))
    cpu = meter.stop(max(1, len(samples)))
    if errors:
        raise SystemExit(f"{errors} non-200 answers from {path}")
    return {"req_per_s": round(len(samples) / wall, 1), **summary_ms(samples), **cpu}


def book_a_day(url: str, rid: str, key: str, slots: list[str]) -> int:
    """POST bookings (parties 1..12, mostly small) until TARGET_BOOKINGS succeed."""
    rng = random.Random(42)
    weights = [4, 20, 8, 14, 5, 6, 2, 3, 1, 2, 1, 1]
    bodies = [
        {
            "party_size": rng.choices(range(1, 13), weights)[0],
            "start": f"{DAY.isoformat()}T{rng.choice(slots)}",
            "guest": {"name": f"Guest {i}"},
        }
        for i in range(TARGET_BOOKINGS * 4)
    ]
    made = 0
    with client(url, key) as c:

        def post(body: dict[str, object]) -> int:
            return c.post(f"/v1/restaurants/{rid}/bookings", json=body).status_code

        with ThreadPoolExecutor(8) as pool:
            for start in range(0, len(bodies), 32):
                made += sum(1 for s in pool.map(post, bodies[start : start + 32]) if s == 201)
                if made >= TARGET_BOOKINGS:
                    break
    return made


def main() -> None:
    srv = pg()
    fresh_database(srv, DB)
    doc = yaml.safe_load((ROOT / "examples" / "grand-hall.yaml").read_text())
    with api_server(DB, workers=2) as server:
        url = server.url
        meter = CpuMeter(server)
        admin = client(url, ADMIN_KEY)
        created = admin.post("/v1/restaurants", json=doc).json()
        rid, key = created["id"], created["api_keys"]["channel"]
        avail = f"/v1/restaurants/{rid}/availability"
        slots = [s["time"] for s in admin.get(avail, params={"date": DAY.isoformat(), "party_size": 2}).json()["slots"]]
        booked = book_a_day(url, rid, created["api_keys"]["staff"], slots)
        ready = "/readyz" if httpx.get(f"{url}/readyz").status_code == 200 else "/healthz"
        print(f"grand-hall: {booked} bookings on {DAY} over {len(slots)} slots; baseline {ready}")
        cases = {
            f"DB-backed {ready} (baseline)": (ready, None),
            "availability, full day, party 4": (
                f"{avail}?{urlencode({'date': DAY.isoformat(), 'party_size': 4})}",
                key,
            ),
            "availability, time=19:00, party 4": (
                f"{avail}?{urlencode({'date': DAY.isoformat(), 'party_size': 4, 'time': '19:00'})}",
                key,
            ),
        }
        for path, k in cases.values():  # warm connections, pools and caches
            asyncio.run(_load(url, path, k, CLIENTS, 0.5))
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
        for _ in range(RUNS):
            for name, (path, k) in cases.items():
                runs[name].append(measure(url, path, k, meter))
    results = {name: median_of_runs(r) for name, r in runs.items()}
    base = results[next(iter(cases))]
    rows = []
    for name, r in results.items():
        is_base = name.startswith("DB-backed")
        rate_target = max(TARGET_RPS, 0) if not is_base else ""
        meets = (
            ""
            if is_base
            else (
                "yes"
                if (r["req_per_s"] >= TARGET_RPS and r["p95_ms"] <= TARGET_P95_MS)
                or r["req_per_s"] >= base["req_per_s"]
                else "NO"
            )
        )
        rows.append(
            [
                name,
                r["req_per_s"],
                r["p50_ms"],
                r["p95_ms"],
                f">= {rate_target}, p95 <= {TARGET_P95_MS:g}" if not is_base else "",
                f"{r['req_per_s'] / base['req_per_s']:.2f}x" if not is_base else "1.00x",
                meets,
                r["server_cpu_ms"],
                r["postgres_cpu_ms"],
                r["client_cpu_ms"],
            ]
        )
    print_table(
        f"availability under concurrency: grand-hall, {booked} bookings, 2 workers, {CLIENTS} clients, "
        f"{SECONDS:g} s per run; medians of {RUNS} runs (CPU ms per request)",
        [
            "measure",
            "req/s",
            "p50 ms",
            "p95 ms",
            "target",
            "vs baseline rate",
            "met",
            "server CPU",
            "PostgreSQL CPU",
            "load gen CPU",
        ],
        rows,
    )
    spread = {name: round(statistics.pstdev(x["req_per_s"] for x in r), 1) for name, r in runs.items()}
    path = write_result(
        "concurrent_availability",
        {
            "venue": "examples/grand-hall.yaml",
            "bookings": booked,
            "date": DAY.isoformat(),
            "workers": 2,
            "clients": CLIENTS,
            "seconds_per_run": SECONDS,
            "runs": RUNS,
            "baseline": ready,
            "targets": {"req_per_s": TARGET_RPS, "p95_ms": TARGET_P95_MS, "or": "the baseline's rate"},
            "results": results,
            "req_per_s_stdev": spread,
            "every_run": runs,
        },
    )
    print(f"\nwrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
