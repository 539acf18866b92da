"""Shared fixtures: a real PostgreSQL (the embedded one unless DATABASE_URL is set),
one throwaway database per xdist worker built by running the migrations, and the
real app served by uvicorn on a loopback port for real HTTP clients."""

from __future__ import annotations

import asyncio
import copy
import os
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import httpx
import psycopg
import pytest
import uvicorn
import yaml

from seatwise.api.app import create_app
from seatwise.api.protocol import SERVER_OPTIONS, NoDelayHttpToolsProtocol
from seatwise.config import load_settings
from seatwise.runtime import Runtime
from seatwise.store import migrate, server
from seatwise.store.db import Database
from seatwise.store.probe import AsyncReads

ROOT = Path(__file__).resolve().parent.parent
ADMIN_KEY = "sw_admin_test_" + uuid.uuid4().hex


@pytest.fixture(scope="session")
def pg() -> server.Server:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return server.locate(load_settings())


@contextmanager
def migrated_database(pg: server.Server, name: str) -> Iterator[str]:
    """A throwaway database `name` at the migrations' head, dropped afterwards."""
    server.drop_database(pg, name)
    server.ensure_database(pg, name)
    migrate.upgrade(pg.owner_url(name))
    try:
        yield name
    finally:
        server.drop_database(pg, name)


@pytest.fixture(scope="session")
def database_name(pg: server.Server, worker_id: str) -> Iterator[str]:
    # Concurrent sessions never share one.
    with migrated_database(pg, f"seatwise_test_{worker_id}_{os.getpid()}") as name:
        yield name


@pytest.fixture(scope="session")
def owner_url(pg: server.Server, database_name: str) -> str:
    """The schema owner's URL (superuser on the embedded server): for audits only."""
    return pg.owner_url(database_name)


@pytest.fixture(scope="session")
def runtime(pg: server.Server, database_name: str) -> Iterator[Runtime]:
    settings = replace(load_settings(), database_name=database_name, admin_key=ADMIN_KEY)
    db = Database(pg.app_url(database_name), max_size=40)
    rt = Runtime(settings, pg, db, ADMIN_KEY)
    yield rt
    rt.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


T = TypeVar("T")


def in_own_thread(fn: Callable[..., T], *args: Any, timeout: float = 120, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in a thread of its own: its result, or what it raised.
    For anything that runs an event loop (`asyncio.run`): a browser test before it on
    the same pytest worker (Playwright's sync API) may leave a loop running in this
    thread, where `asyncio.run` refuses to start. A daemon thread: past `timeout` the
    test fails and nothing waits for the thread."""
    outcome: Future[T] = Future()

    def run() -> None:
        try:
            outcome.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the test's thread
            outcome.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return outcome.result(timeout=timeout)


def on_own_loop(main: Callable[[], Coroutine[Any, Any, T]], *, timeout: float = 120) -> T:
    """Run the coroutine `main()` on a new event loop in a thread of its own (`in_own_thread`)."""
    return in_own_thread(asyncio.run, main(), timeout=timeout)


@contextmanager
def serving(
    rt: Runtime, *, http: type[NoDelayHttpToolsProtocol] = NoDelayHttpToolsProtocol, log_level: str = "warning"
) -> Iterator[str]:
    """The real app on `rt`, served by uvicorn on a loopback port in a thread with the
    production protocol and options; yields its base URL, stops it afterwards."""
    port = free_port()
    # Each server its own read-probe pool: an asyncpg pool belongs to the event loop
    # that opened it, and the app's lifespan closes it (in production one process
    # serves one loop). Two servers sharing one (the session's and a test's own)
    # used its connections from two loops and threads, and once crashed the process.
    served = copy.copy(rt)
    served.reads = AsyncReads(rt.db.url)
    config = uvicorn.Config(
        create_app(served),
        host="127.0.0.1",
        port=port,
        log_level=log_level,
        access_log=False,
        http=http,
        **SERVER_OPTIONS,
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn exited"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def base_url(runtime: Runtime) -> Iterator[str]:
    with serving(runtime) as url:
        yield url


@pytest.fixture
def admin(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30) as c:
        yield c


@pytest.fixture
def anonymous(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as c:
        yield c


def load_example(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "examples" / name).read_text())
    return doc


@pytest.fixture(scope="session")
def demo_document() -> dict[str, Any]:
    return load_example("demo-bistro.yaml")


@pytest.fixture
def create_restaurant(admin: httpx.Client, demo_document: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """Create a restaurant (the demo venue, or `document`) with a unique slug."""

    def create(document: dict[str, Any] | None = None) -> dict[str, Any]:
        doc = copy.deepcopy(document if document is not None else demo_document)
        doc["slug"] = f"{doc.get('slug', 'r')[:40]}-{uuid.uuid4().hex[:12]}"
        response = admin.post("/v1/restaurants", json=doc)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return create


def client_for(base_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def small_venue(
    tables: int = 10,
    seats: int = 4,
    *,
    pacing: dict[str, int] | None = None,
    hold_ttl_seconds: int = 180,
    adjacency: list[list[str]] | None = None,
) -> dict[str, Any]:
    """A one-zone venue of identical tables, dinner 17:00-23:00 every day."""
    service: dict[str, Any] = {
        "name": "dinner",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "17:00",
        "end": "23:00",
        "last_seating": "21:30",
        "turns": [{"max_party": 2, "minutes": 60}, {"max_party": 20, "minutes": 90}],
    }
    if pacing:
        service["pacing"] = pacing
    return {
        "name": "Test Room",
        "slug": "test-room",
        "timezone": "Europe/London",
        "slot_minutes": 15,
        "policy": {
            "adjacency_mode": "connected",
            "max_tables_per_combination": 3,
            "max_overage": 4,
            "hold_ttl_seconds": hold_ttl_seconds,
            "max_party_size": 20,
            "services": [service],
        },
        "zones": [{"key": "main", "name": "Main"}],
        "tables": [{"label": f"T{i}", "zone": "main", "seats": seats} for i in range(1, tables + 1)],
        "adjacency": adjacency or [],
    }


DAY = "2027-03-10"  # a Wednesday, far enough ahead for every test


class StatementCounter:
    """Counts statements sent by this process (the server under test is in-process):
    `count` all of them, `sync` only psycopg's (the store's transactions; the read
    probe runs over asyncpg)."""

    def __init__(self) -> None:
        self.count = 0
        self.sync = 0
        self.lock = threading.Lock()

    def wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                self.count += 1
                self.sync += 1
            return original(*args, **kwargs)

        return counted

    def wrap_async(self, original: Callable[..., Any]) -> Callable[..., Any]:
        async def counted(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                self.count += 1
            return await original(*args, **kwargs)

        return counted


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> StatementCounter:
    counter = StatementCounter()
    # Connection.execute goes through Cursor.execute: count at the cursor only.
    for name in ("execute", "executemany"):
        monkeypatch.setattr(psycopg.Cursor, name, counter.wrap(getattr(psycopg.Cursor, name)))
    # The read probe runs on the event loop, over asyncpg (store.probe).
    for name in ("execute", "fetch", "fetchrow", "fetchval"):
        monkeypatch.setattr(asyncpg.Connection, name, counter.wrap_async(getattr(asyncpg.Connection, name)))
    return counter
