"""`seatwise serve` (what `make run` starts) as an operator runs it: two worker
processes by default, and a crashed worker is replaced while the other serves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from seatwise.store import server
from tests.conftest import free_port


def _workers(parent: psutil.Process) -> list[psutil.Process]:
    """uvicorn's worker processes (multiprocessing children: not its resource tracker,
    nor the `seatwise worker` that runs the background jobs)."""
    out = []
    for child in parent.children():
        try:
            cmdline = " ".join(child.cmdline())
        except psutil.NoSuchProcess:
            continue
        api_worker = "resource_tracker" not in cmdline and "seatwise.cli worker" not in cmdline
        if api_worker and child.status() != psutil.STATUS_ZOMBIE:
            out.append(child)
    return out


@pytest.fixture
def served(pg: server.Server, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    name = f"seatwise_serve_{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {**os.environ, "SEATWISE_DATABASE": name, "SEATWISE_PORT": str(port), "SEATWISE_ADMIN_KEY": "sw_admin_serve"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "seatwise.cli", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded machine (the whole suite in parallel) starts slowly
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "seatwise serve did not come up"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield proc, base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        server.drop_database(pg, name)


def _wait_for_workers(parent: psutil.Process, count: int, timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while True:
        workers = _workers(parent)
        if len(workers) == count:
            return workers
        assert time.monotonic() < deadline, f"{len(workers)} workers, expected {count}"
        time.sleep(0.1)


def test_serve_runs_two_workers_and_replaces_a_crashed_one(served: tuple[subprocess.Popen[bytes], str]) -> None:
    proc, base = served
    parent = psutil.Process(proc.pid)
    workers = _wait_for_workers(parent, 2, 30)
    victim = workers[0]
    victim.kill()  # a crash: SIGKILL, no cleanup
    victim.wait(timeout=10)
    # The other worker serves meanwhile ...
    with httpx.Client(base_url=base, timeout=5) as c:
        for _ in range(10):
            assert c.get("/healthz").status_code == 200
    # ... and the crashed one is replaced.
    replaced = _wait_for_workers(parent, 2, 120)
    assert victim.pid not in {w.pid for w in replaced}
    deadline = time.monotonic() + 30
    while True:  # the new worker has started its app: readiness holds on every connection
        statuses = []
        for _ in range(6):
            with httpx.Client(base_url=base, timeout=5) as fresh:
                statuses.append(fresh.get("/readyz").status_code)
        if statuses == [200] * 6:
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(0.5)
    # Every worker, the replacement too, froze its startup heap out of full
    # garbage collections (api.heap); each connection may reach either worker.
    for _ in range(6):
        with httpx.Client(base_url=base, timeout=5) as fresh:
            text = fresh.get("/metrics").text
        frozen = [line for line in text.splitlines() if line.startswith("seatwise_gc_frozen_objects ")]
        assert frozen, text
        assert float(frozen[0].split()[1]) > 50_000, frozen
