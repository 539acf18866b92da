"""`make run`-style startup as real processes: `seatwise serve --demo` starts the API
and one worker; a booking made over HTTP reaches a loopback receiver as a signed
`booking.created` within seconds; stopping the server stops its worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from seatwise.store import server
from tests.conftest import ADMIN_KEY, DAY, ROOT, free_port
from tests.jobs.conftest import Receiver


class Process:
    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - our own program
            args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def line_starting(self, prefix: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if line.startswith(prefix):
                    return line
            assert self.proc.poll() is None, "\n".join(self.lines)
            assert time.monotonic() < deadline, "\n".join(self.lines)
            time.sleep(0.05)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code


@pytest.fixture
def e2e_database(pg: server.Server) -> Iterator[str]:
    name = f"seatwise_e2e_{uuid.uuid4().hex[:12]}"
    yield name
    server.drop_database(pg, name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_with_its_worker_delivers_a_booking(
    pg: server.Server, e2e_database: str, tmp_path: Path, receiver: Receiver
) -> None:
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": pg.owner_base,
        "SEATWISE_DATABASE": e2e_database,
        "SEATWISE_DATA_DIR": str(tmp_path),  # keys and the demo's answer; the database is the test server's
        "SEATWISE_PORT": str(port),
        "SEATWISE_ADMIN_KEY": ADMIN_KEY,
        "SEATWISE_WEBHOOK_ALLOW_PRIVATE": "1",
        "SEATWISE_RELAY_POLL_SECONDS": "0.2",
        "SEATWISE_WORKER_METRICS_PORT": str(metrics_port),
    }
    serve = Process([sys.executable, "-m", "seatwise.cli", "serve", "--demo"], env)
    worker_pid = 0
    try:
        rid = serve.line_starting("  demo restaurant ").split()[2]
        staff_key = serve.line_starting("  staff key ").split()[2]
        worker_pid = int(serve.line_starting("worker pid ").split()[-1])
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90  # startup of 2 API workers and a job worker on a loaded machine
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "\n".join(serve.lines)
            time.sleep(0.1)
        serve.line_starting("worker ")  # the worker said it runs

        headers = {"Authorization": f"Bearer {staff_key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as staff:
            hooks = f"/v1/restaurants/{rid}/webhooks"
            hook = staff.post(hooks, json={"url": receiver.url, "events": ["booking.*"]})
            assert hook.status_code == 422  # only exact event types or "*"
            hook = staff.post(hooks, json={"url": receiver.url, "events": ["booking.created"]})
            assert hook.status_code == 201, hook.text
            booked_at = time.monotonic()
            booking = staff.post(
                f"/v1/restaurants/{rid}/bookings",
                json={"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "Ada"}},
            )
            assert booking.status_code == 201, booking.text

        receiver.wait_for(lambda r: len(r.received) >= 1, timeout=10)
        took = time.monotonic() - booked_at
        got = receiver.received[0]
        body = Verifier(hook.json()["secret"]).verify(got.body, got.headers)
        assert body["type"] == "booking.created"
        assert body["data"] == booking.json()
        assert took < 5, took

        deadline = time.monotonic() + 10
        while 'seatwise_webhook_deliveries_total{outcome="delivered"} 1.0' not in (
            text := httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        ):
            assert time.monotonic() < deadline, text
            time.sleep(0.1)
        assert 'seatwise_job_runs_total{job="relay_outbox"}' in text
        api_metrics = httpx.get(f"{base}/metrics").text
        assert "seatwise_outbox_oldest_undelivered_seconds 0.0" in api_metrics
    finally:
        code = serve.stop()
    assert code == 0, "\n".join(serve.lines)
    deadline = time.monotonic() + 30
    while worker_pid and _alive(worker_pid):
        assert time.monotonic() < deadline, "the worker outlived the server"
        time.sleep(0.1)
