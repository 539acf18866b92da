"""A cached availability answer is never stale on any worker: with a real
`seatwise serve --workers 2`, each worker answers a question from its cache, a
booking is made, and the very next request on every worker sees it; a cancellation
likewise. A refusal each worker keeps for a full slot (services.refusals) is never
answered after a cancellation: the very next booking request on each worker books.
(Each worker's /metrics names its pid, so the test knows it reached both.)"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, DAY, ROOT, free_port, small_venue

PID = re.compile(r'seatwise_worker_info\{pid="(\d+)"\}')
CACHED = re.compile(r'seatwise_availability_answers_total\{source="cache"\} ([0-9.e+]+)')
KEPT = re.compile(r'seatwise_refusals_kept_total\{outcome="hit"\} ([0-9.e+]+)')


@pytest.fixture
def two_workers(database_name: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "SEATWISE_DATABASE": database_name,
        "SEATWISE_ADMIN_KEY": ADMIN_KEY,
        "SEATWISE_HOST": "127.0.0.1",
        "SEATWISE_PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "seatwise.cli", "serve", "--workers", "2", "--no-worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()  # the server we started, by its handle
        try:
            proc.wait(timeout=60)  # two workers shut down one after the other; slow on a loaded machine
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            raise


class Conn:
    """One keep-alive connection: uvicorn's workers share the socket, so a connection
    stays with the worker that accepted it."""

    def __init__(self, port: int) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, key: str | None = None) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http.request("GET", path, headers=headers)
        response = self.http.getresponse()
        return response.status, response.read().decode()

    def post(self, path: str, body: dict[str, Any], key: str) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.http.request("POST", path, body=json.dumps(body), headers=headers)
        response = self.http.getresponse()
        return response.status, response.read().decode()

    def kept_hits(self) -> float:
        """Refusals this worker answered from a kept refusal so far."""
        status, text = self.get("/metrics")
        assert status == 200
        found = KEPT.search(text)
        return float(found.group(1)) if found else 0.0

    def worker(self) -> tuple[str, float]:
        """(pid, availability answers served from its cache so far)."""
        status, text = self.get("/metrics")
        assert status == 200
        pid = PID.search(text)
        cached = CACHED.search(text)
        assert pid is not None
        return pid.group(1), float(cached.group(1)) if cached else 0.0


def _one_per_worker(port: int) -> list[Conn]:
    """One connection per worker: new connections until both pids are seen (the
    second worker may still be starting when the first answers /healthz)."""
    by_pid: dict[str, Conn] = {}
    deadline = time.monotonic() + 60
    while len(by_pid) < 2 and time.monotonic() < deadline:
        c = Conn(port)
        pid, _ = c.worker()
        if pid in by_pid:
            c.close()
            time.sleep(0.05)
            continue
        by_pid[pid] = c
    return list(by_pid.values())


def test_a_booking_is_visible_to_the_next_availability_request_on_every_worker(two_workers: str) -> None:
    port = int(two_workers.rsplit(":", 1)[1])
    admin = httpx.Client(base_url=two_workers, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30)
    created = admin.post("/v1/restaurants", json={**small_venue(tables=1), "slug": "workers-room"}).json()
    rid, key = created["id"], created["api_keys"]["channel"]
    conns = _one_per_worker(port)
    try:
        assert len(conns) == 2, "both workers must be reached"
        _book_and_cancel(admin, rid, key, conns)
        _refuse_then_cancel(admin, rid, key, conns)
    finally:
        for c in conns:
            c.close()
        admin.close()


def _refuse_then_cancel(admin: httpx.Client, rid: str, key: str, conns: list[Conn]) -> None:
    """A kept refusal (services.refusals) is never answered once a write changed the
    ledger: each worker keeps a refusal of the full slot, a cancellation frees it,
    and the very next booking request on each worker is booked."""
    url = f"/v1/restaurants/{rid}/bookings"
    body = {"party_size": 2, "start": f"{DAY}T20:00", "guest": {"name": "B"}}
    taken = admin.post(url, json=body)
    assert taken.status_code == 201, taken.text
    for c in conns:  # decided once, then answered from the worker's kept refusal
        assert c.post(url, body, key)[0] == 409
        before = c.kept_hits()
        status, text = c.post(url, body, key)
        assert status == 409, text
        assert json.loads(text)["code"] == "CAPACITY_EXCEEDED"
        assert c.kept_hits() == before + 1, "this refusal should have been a kept one"
    booking_id = taken.json()["id"]
    for c in conns:
        cancelled = admin.post(f"{url}/{booking_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        status, text = c.post(url, body, key)  # the very next request on this worker
        assert status == 201, text
        booking_id = json.loads(text)["id"]  # the slot is full again: cancelled for the next worker


def _book_and_cancel(admin: httpx.Client, rid: str, key: str, conns: list[Conn]) -> None:
    path = f"/v1/restaurants/{rid}/availability?date={DAY}&party_size=2"

    def at_1900(c: Conn) -> bool:
        status, text = c.get(path, key)
        assert status == 200, text
        slots = {s["time"]: s["available"] for s in json.loads(text)["slots"]}
        return bool(slots["19:00"])

    def answered_from_cache(c: Conn, ask: Callable[[Conn], Any]) -> Any:
        before = c.worker()[1]
        answer = ask(c)
        assert c.worker()[1] == before + 1, "this answer should have come from the worker's cache"
        return answer

    for c in conns:  # each worker computes once, then answers from its cache
        assert at_1900(c)
        assert answered_from_cache(c, at_1900)

    booked = admin.post(
        f"/v1/restaurants/{rid}/bookings", json={"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "A"}}
    )
    assert booked.status_code == 201, booked.text
    assert [at_1900(c) for c in conns] == [False, False]  # the very next request, on every worker
    for c in conns:
        assert answered_from_cache(c, at_1900) is False  # and the new answer is what is cached

    cancelled = admin.post(f"/v1/restaurants/{rid}/bookings/{booked.json()['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert [at_1900(c) for c in conns] == [True, True]
