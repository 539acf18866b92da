"""Fixtures for the jobs and webhooks tests: a database of their own (the jobs cross
tenants, so their counts must not see other tests' rows), the real app on it with
private webhook addresses allowed, and a real HTTP receiver on loopback."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from seatwise.config import load_settings
from seatwise.runtime import Runtime
from seatwise.services.sealing import SecretBox
from seatwise.store import server
from seatwise.store.db import Database
from tests.conftest import ADMIN_KEY, migrated_database, serving, small_venue

WEBHOOK_KEY = SecretBox.new_key()
SHORT_BACKOFF = (0.05,) * 7


@pytest.fixture(scope="session")
def jobs_database(pg: server.Server, worker_id: str) -> Iterator[str]:
    with migrated_database(pg, f"seatwise_jobs_{worker_id}_{os.getpid()}") as name:
        yield name


@pytest.fixture(scope="session")
def jobs_owner_url(pg: server.Server, jobs_database: str) -> str:
    return pg.owner_url(jobs_database)


@pytest.fixture(scope="session")
def jobs_runtime(pg: server.Server, jobs_database: str) -> Iterator[Runtime]:
    settings = replace(
        load_settings(),
        database_name=jobs_database,
        admin_key=ADMIN_KEY,
        webhook_key=WEBHOOK_KEY,
        webhook_allow_private=True,
        webhook_backoff=SHORT_BACKOFF,
        webhook_timeout_seconds=2.0,
    )
    rt = Runtime(settings, pg, Database(pg.app_url(jobs_database), max_size=20), ADMIN_KEY)
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def jobs_base_url(jobs_runtime: Runtime) -> Iterator[str]:
    with serving(jobs_runtime) as url:
        yield url


@pytest.fixture
def jobs_admin(jobs_base_url: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=jobs_base_url, headers=headers, timeout=30) as c:
        yield c


@pytest.fixture
def restaurant(jobs_admin: httpx.Client) -> dict[str, Any]:
    """A fresh restaurant in the jobs database (ten 4-seat tables, dinner 17-23)."""
    doc = {**small_venue(tables=10), "slug": f"jobs-{uuid.uuid4().hex[:12]}"}
    made = jobs_admin.post("/v1/restaurants", json=doc)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """A real HTTP server on loopback that records every POST. It answers 500 to the
    first `fail_first` requests of each webhook-id, then 200."""

    port: int
    fail_first: int = 0
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def by_id(self) -> Counter[str]:
        with self.lock:
            return Counter(r.webhook_id for r in self.received)

    def wait_for(self, done: Callable[[Receiver], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not done(self):
            assert time.monotonic() < deadline, f"receiver got {len(self.received)} requests"
            time.sleep(0.02)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            got = Received({k.lower(): v for k, v in self.headers.items()}, body)
            with state.lock:
                seen = sum(1 for r in state.received if r.webhook_id == got.webhook_id)
                state.received.append(got)
            if state.delay:
                time.sleep(state.delay)
            self.send_response(500 if seen < state.fail_first else 200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            del format, args  # quiet

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
