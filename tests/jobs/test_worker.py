"""`seatwise worker` as real processes: procrastinate runs the periodic sweeper, two
workers side by side announce each expired hold once, SIGTERM stops them cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import psycopg

from tests.conftest import DAY, ROOT, client_for
from tests.jobs.conftest import WEBHOOK_KEY


def _expired_events(owner_url: str, rid: str) -> list[str]:
    with psycopg.connect(owner_url) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT payload->>'id' FROM outbox WHERE restaurant_id = %s AND event = 'hold.expired'", [rid]
            )
        ]


def _last_tick(owner_url: str) -> int:
    """The latest sweeper tick procrastinate deferred (it keeps one row per periodic task)."""
    with psycopg.connect(owner_url) as conn:
        row = conn.execute(
            "SELECT max(defer_timestamp) FROM procrastinate_periodic_defers WHERE task_name = 'seatwise.sweep_holds'"
        ).fetchone()
    assert row is not None
    assert row[0] is not None
    return int(row[0])


def test_two_workers_sweep_on_schedule_and_announce_once(
    jobs_database: str, jobs_base_url: str, jobs_owner_url: str, restaurant: dict[str, Any]
) -> None:
    rid = restaurant["id"]
    with client_for(jobs_base_url, restaurant["api_keys"]["staff"]) as staff:
        holds = [
            staff.post(f"/v1/restaurants/{rid}/holds", json={"party_size": 2, "start": f"{DAY}T19:00"}).json()["id"]
            for _ in range(10)
        ]
    env = {
        **os.environ,
        "SEATWISE_DATABASE": jobs_database,
        "SEATWISE_DATA_DIR": str(ROOT / ".data"),
        "SEATWISE_WEBHOOK_KEY": WEBHOOK_KEY,
        "SEATWISE_SWEEP_INTERVAL_SECONDS": "1",
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "seatwise.cli", "worker"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        time.sleep(1)
        with psycopg.connect(jobs_owner_url) as conn:
            for table, column in (("holds", "id"), ("allocations", "hold_id")):
                conn.execute(
                    f"UPDATE {table} SET expires_at = now() WHERE restaurant_id = %s AND {column} = ANY(%s::uuid[])",
                    [rid, holds],
                )
        deadline = time.monotonic() + 30
        while len(_expired_events(jobs_owner_url, rid)) < len(holds):
            assert time.monotonic() < deadline, "the sweeper did not run"
            assert all(w.poll() is None for w in workers)
            time.sleep(0.2)
        first_tick = _last_tick(jobs_owner_url)
        time.sleep(3)  # more ticks, with both workers running
        assert sorted(_expired_events(jobs_owner_url, rid)) == sorted(holds)  # each announced once
        assert _last_tick(jobs_owner_url) >= first_tick + 2  # the schedule goes on
    finally:
        for w in workers:
            if w.poll() is None:
                os.kill(w.pid, signal.SIGTERM)
        codes = [w.wait(timeout=60) for w in workers]
        for w in workers:
            if w.stderr is not None:
                w.stderr.close()
    assert codes == [0, 0]


def test_a_worker_stopped_while_starting_exits_cleanly(jobs_database: str) -> None:
    env = {
        **os.environ,
        "SEATWISE_DATABASE": jobs_database,
        "SEATWISE_DATA_DIR": str(ROOT / ".data"),
        "SEATWISE_WEBHOOK_KEY": WEBHOOK_KEY,
    }
    command = [sys.executable, "-m", "seatwise.cli", "worker"]
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)  # noqa: S603
    assert worker.stderr is not None
    assert "starting" in worker.stderr.readline()  # inside the CLI, before the worker runs (imports, migrations)
    os.kill(worker.pid, signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    worker.stderr.close()
