"""The HTTP edge (issue 9): headers, authentication scheme, body and connection
limits, and requests that need no database never waiting behind ones that do.
Real sockets against the real app."""

from __future__ import annotations

import copy
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import anyio.to_thread
import httpx
import psycopg
import pytest

from seatwise.api.guard import MAX_BODY_BYTES
from seatwise.api.protocol import NoDelayHttpToolsProtocol
from seatwise.api.routes import health
from seatwise.runtime import Runtime
from seatwise.store.db import LOCK_TIMEOUT
from seatwise.store.probe import AsyncReads
from tests.conftest import DAY, client_for, in_own_thread, serving, small_venue

LOCK_TIMEOUT_S = float(LOCK_TIMEOUT.removesuffix("s"))


def test_every_response_is_nosniff_and_bannerless(anonymous: httpx.Client, admin: httpx.Client) -> None:
    for response in (
        anonymous.get("/healthz"),
        anonymous.get("/metrics"),
        anonymous.get("/openapi.json"),
        anonymous.get("/v1/restaurants/00000000-0000-0000-0000-000000000000"),  # 401
        admin.get("/no/such/path"),  # 404
    ):
        assert response.headers["x-content-type-options"] == "nosniff", response.url
        assert "server" not in response.headers, response.url


def test_a_401_names_the_bearer_scheme(anonymous: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Basic Zm9vOmJhcg=="}, {"Authorization": "Bearer sw_nope"}):
        r = anonymous.get("/v1/restaurants/00000000-0000-0000-0000-000000000000", headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["code"] == "UNAUTHENTICATED"


def test_the_bearer_scheme_is_case_insensitive(base_url: str, create_restaurant: Callable[..., dict[str, Any]]) -> None:
    r = create_restaurant(small_venue(tables=1))
    key = r["api_keys"]["staff"]
    for scheme in ("bearer", "BEARER", "BeArEr"):
        got = httpx.get(f"{base_url}/v1/restaurants/{r['id']}", headers={"Authorization": f"{scheme} {key}"})
        assert got.status_code == 200, (scheme, got.text)


def test_answers_carrying_secrets_are_not_cached(admin: httpx.Client) -> None:
    doc = {**small_venue(tables=1), "slug": "secret-bearing-" + str(time.monotonic_ns())}
    created = admin.post("/v1/restaurants", json=doc)
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    key = admin.post(f"/v1/restaurants/{created.json()['id']}/api-keys", json={"role": "channel"})
    assert key.status_code == 201
    assert key.headers["cache-control"] == "no-store"
    read = admin.get(f"/v1/restaurants/{created.json()['id']}")
    assert "cache-control" not in read.headers  # only secrets are kept out of caches


def test_head_on_healthz_and_readiness(anonymous: httpx.Client) -> None:
    head = anonymous.head("/healthz")
    assert head.status_code == 200
    assert head.content == b""
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok"}


def _raw(base_url: str, request: bytes, *, timeout: float = 10) -> bytes:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(request)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
            if b"\r\n\r\n" in out and b'"code"' in out and out.rstrip().endswith(b"}"):
                break
        return out


def test_a_body_over_one_mib_is_refused_from_its_declared_length(base_url: str) -> None:
    """The header alone decides: the 64 MB body is never sent, let alone parsed."""
    head = (
        b"POST /v1/restaurants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 67108864\r\n\r\n{"
    )
    started = time.monotonic()
    out = _raw(base_url, head)
    assert out.startswith(b"HTTP/1.1 413 "), out[:200]
    assert b"application/problem+json" in out
    assert b'"PAYLOAD_TOO_LARGE"' in out
    assert time.monotonic() - started < 2


def test_a_chunked_body_over_one_mib_is_refused_without_reading_it_all(base_url: str) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        piece = b" " * 65536
        for _ in range(64 * 16):  # up to 64 MiB if the server kept reading
            sent += len(piece)
            yield piece

    try:
        status: int | None = httpx.post(
            f"{base_url}/v1/restaurants", content=chunks(), headers={"Content-Type": "application/json"}, timeout=10
        ).status_code
    except httpx.HTTPError:
        status = None  # the server answered 413 and closed while the client was still writing
    assert status in (413, None)
    assert sent < 8 * MAX_BODY_BYTES


def test_a_body_within_the_limit_is_parsed_as_usual(admin: httpx.Client) -> None:
    doc = {**small_venue(tables=1), "slug": "padded-" + str(time.monotonic_ns()), "name": "x" * 100}
    body = httpx.Request("POST", "/", json=doc).content
    padded = body[:-1] + b" " * (MAX_BODY_BYTES - len(body)) + b"}"
    assert len(padded) == MAX_BODY_BYTES
    r = admin.post("/v1/restaurants", content=padded, headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text[:300]
    over = admin.post("/v1/restaurants", content=padded + b" ", headers={"Content-Type": "application/json"})
    assert over.status_code == 413
    assert over.json()["code"] == "PAYLOAD_TOO_LARGE"


class _QuickDeadline(NoDelayHttpToolsProtocol):
    request_timeout = 0.5


@pytest.fixture
def quick_server(runtime: Runtime) -> Iterator[tuple[str, int]]:
    """The app behind the production protocol with its request deadline shortened."""
    with serving(runtime, http=_QuickDeadline) as url:
        host, port = url.removeprefix("http://").split(":")
        yield host, int(port)


def _closed_after(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closes `sock` (recv returns b'')."""
    started = time.monotonic()
    sock.settimeout(limit)
    while sock.recv(1024):
        pass
    return time.monotonic() - started


def test_an_idle_connection_is_closed(quick_server: tuple[str, int]) -> None:
    with socket.create_connection(quick_server) as s:
        assert _closed_after(s, 5) < 2


def test_a_trickled_request_is_closed(quick_server: tuple[str, int]) -> None:
    with socket.create_connection(quick_server) as s:
        started = time.monotonic()
        s.settimeout(0.2)
        closed = False
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40:
            try:
                s.sendall(bytes([byte]))
                if s.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
        assert closed, "the server kept a trickling connection open"
        assert time.monotonic() - started < 3


def test_a_prompt_request_on_the_same_server_is_served(quick_server: tuple[str, int]) -> None:
    host, port = quick_server
    with httpx.Client(base_url=f"http://{host}:{port}") as c:
        assert c.get("/healthz").status_code == 200
        time.sleep(0.2)  # within the deadline: the kept-alive connection serves again
        assert c.get("/healthz").status_code == 200


def test_requests_needing_no_database_are_not_starved(
    base_url: str, create_restaurant: Callable[..., dict[str, Any]], owner_url: str
) -> None:
    """60 database-bound requests wait on a lock (holding every worker thread): a
    key-less 401, /metrics, /openapi.json and /healthz still answer at once."""
    r = create_restaurant(small_venue(tables=1))
    url = f"/v1/restaurants/{r['id']}/bookings"
    quick_paths = ((f"/v1/restaurants/{r['id']}", 401), ("/metrics", 200), ("/openapi.json", 200), ("/healthz", 200))
    with httpx.Client(base_url=base_url, timeout=30) as warm:
        # Each answered once before (on every worker it may reach): the OpenAPI document
        # is built on its first request, seconds of CPU on a loaded machine, which is
        # not what this measures.
        for _ in range(4):
            for path, status in quick_paths:
                assert warm.get(path).status_code == status, path
    with psycopg.connect(owner_url) as locker, client_for(base_url, r["api_keys"]["staff"]) as staff:
        locker.execute("LOCK TABLE bookings IN ACCESS EXCLUSIVE MODE")
        locked_at = time.monotonic()
        with ThreadPoolExecutor(60) as pool:
            waiting = [pool.submit(staff.get, url, params={"date": DAY}) for _ in range(60)]
            time.sleep(0.4)  # let them reach the lock
            with httpx.Client(base_url=base_url, timeout=5) as quick:
                for path, status in quick_paths:
                    started = time.monotonic()
                    got = quick.get(path)
                    elapsed = time.monotonic() - started
                    assert got.status_code == status, path
                    assert elapsed < 1.0, f"{path} took {elapsed:.2f}s behind database-bound requests"
            locker.rollback()  # release: every waiting request completes normally
            held = time.monotonic() - locked_at
            statuses = [f.result().status_code for f in waiting]
            if held < LOCK_TIMEOUT_S - 0.2:
                assert statuses == [200] * 60
            else:  # a loaded machine held the lock past the 2 s lock timeout: those waits end in a 503
                assert set(statuses) <= {200, 503}, statuses
                assert all(f.result().headers.get("retry-after") for f in waiting if f.result().status_code == 503)


def test_a_scrape_with_every_worker_thread_taken_does_not_wait_for_one(runtime: Runtime) -> None:
    """With no worker thread free, `/metrics` answers at once, with the process's own
    counters and the jobs' backlog: it reads the backlog on the event loop (before,
    it waited `BACKLOG_WAIT` for a thread that could not start)."""
    served = copy.copy(runtime)  # its own loop's pool: an asyncpg pool belongs to one loop

    async def scrape(every_thread_taken: bool) -> tuple[float, str]:
        served.reads = AsyncReads(runtime.db.url)
        limiter = anyio.to_thread.current_default_thread_limiter()
        holders = [object() for _ in range(int(limiter.total_tokens))] if every_thread_taken else []
        for holder in holders:
            await limiter.acquire_on_behalf_of(holder)
        try:
            started = time.monotonic()
            response = await health.prometheus_metrics(served)
            return time.monotonic() - started, bytes(response.body).decode()
        finally:
            for holder in holders:
                limiter.release_on_behalf_of(holder)
            await served.reads.close()

    took, taken = in_own_thread(anyio.run, scrape, True, timeout=30)
    _, free = in_own_thread(anyio.run, scrape, False, timeout=30)
    assert took < health.BACKLOG_WAIT, f"the scrape waited {took:.2f}s for a worker thread"
    assert "# TYPE seatwise_http_requests_total counter" in taken
    assert "seatwise_outbox_oldest_undelivered_seconds" in taken
    assert "seatwise_outbox_oldest_undelivered_seconds" in free
