"""Allocation archival in restartable batches: a real `seatwise jobs
archive-allocations` process killed (SIGKILL, by pid) after its first committed
batch, then rerun: every row ends in exactly one of the two tables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

import psycopg

from tests.conftest import ROOT

OLD, RECENT = 1200, 300


def _seed(owner_url: str, rid: str) -> set[int]:
    """OLD allocations that ended 50+ days ago and RECENT ones ending from 5 days ago
    on, all on one table, one hour each (staff blocks, so no booking rows are needed)."""
    with psycopg.connect(owner_url) as conn:
        table = conn.execute(
            "SELECT id FROM dining_tables WHERE restaurant_id = %s ORDER BY id LIMIT 1", [rid]
        ).fetchone()
        assert table is not None
        conn.execute(
            """WITH spans AS (
                   SELECT gen_random_uuid() AS block_id, lo, lo + interval '1 hour' AS hi
                   FROM (SELECT now() - interval '100 days' + n * interval '1 hour' AS lo
                         FROM generate_series(0, %(old)s - 1) n
                         UNION ALL
                         SELECT now() - interval '5 days' + n * interval '1 hour'
                         FROM generate_series(0, %(recent)s - 1) n) s),
               blocks AS (
                   INSERT INTO blocks (restaurant_id, id, start_at, end_at, reason)
                   SELECT %(rid)s, block_id, lo, hi, 'archival test' FROM spans RETURNING 1)
               INSERT INTO allocations (restaurant_id, table_id, during, block_id)
               SELECT %(rid)s, %(table)s, tstzrange(lo, hi, '[)'), block_id FROM spans""",
            {"rid": rid, "table": table[0], "old": OLD, "recent": RECENT},
        )
        return {r[0] for r in conn.execute("SELECT id FROM allocations WHERE restaurant_id = %s", [rid])}


def _split(owner_url: str, rid: str) -> tuple[list[int], list[int]]:
    """Both tables in one snapshot (one statement): a batch the killed process's
    server session is still finishing may commit at any moment."""
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            """SELECT false, id FROM allocations WHERE restaurant_id = %(rid)s
               UNION ALL SELECT true, id FROM allocations_archive WHERE restaurant_id = %(rid)s""",
            {"rid": rid},
        ).fetchall()
    return [i for archived, i in rows if not archived], [i for archived, i in rows if archived]


def _archiver(database: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SEATWISE_DATABASE": database, "SEATWISE_DATA_DIR": str(ROOT / ".data")}
    return subprocess.Popen(
        [sys.executable, "-m", "seatwise.cli", "jobs", "archive-allocations", "--batch-size", "500"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_archival_killed_after_a_batch_and_rerun(
    jobs_database: str, jobs_owner_url: str, restaurant: dict[str, Any]
) -> None:
    rid = restaurant["id"]
    every = _seed(jobs_owner_url, rid)
    assert len(every) == OLD + RECENT

    proc = _archiver(jobs_database)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert first.startswith("batch: 500 archived"), first
    assert proc.returncode == -signal.SIGKILL

    live, archived = _split(jobs_owner_url, rid)
    assert len(archived) in {500, 1000, OLD}  # whole batches only
    assert not set(live) & set(archived)
    assert sorted(live + archived) == sorted(every)  # nothing lost, nothing twice

    rerun = _archiver(jobs_database)
    out, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, out
    live, archived = _split(jobs_owner_url, rid)
    assert (len(live), len(archived)) == (RECENT, OLD)
    assert len(set(archived)) == OLD
    assert sorted(live + archived) == sorted(every)
    with psycopg.connect(jobs_owner_url) as conn:
        newest_archived = conn.execute(
            "SELECT max(upper(during)) < now() - interval '30 days' FROM allocations_archive WHERE restaurant_id = %s",
            [rid],
        ).fetchone()
        oldest_live = conn.execute(
            "SELECT min(upper(during)) > now() - interval '30 days' FROM allocations WHERE restaurant_id = %s", [rid]
        ).fetchone()
    assert newest_archived == (True,)
    assert oldest_live == (True,)
