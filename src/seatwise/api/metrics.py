"""Prometheus metrics (`GET /metrics`, no key). Names start with `seatwise_`.

A pure ASGI middleware (no per-request task or body buffering) records each
request's route template, method, status and latency. Each worker process keeps its
own registry; scrape each worker, or run one worker per port.
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seatwise.services.jobs import Backlog
from seatwise.telemetry import REGISTRY, WORKER

REQUESTS = Counter(
    "seatwise_http_requests_total",
    "HTTP requests by route, method and status",
    ["route", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "seatwise_http_request_seconds",
    "HTTP request latency by route",
    ["route", "method"],
    registry=REGISTRY,
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope.get("method", "")
            REQUESTS.labels(template, method, str(status)).inc()
            LATENCY.labels(template, method).observe(time.perf_counter() - started)


def backlog_gauges(backlog: Backlog) -> bytes:
    """The jobs' backlog as gauges, read from the database at scrape time: true for the
    whole deployment, whichever process is scraped and wherever the workers run (the
    workers' own counters, runs and deliveries, are on their metrics port)."""
    registry = CollectorRegistry()
    Gauge(
        "seatwise_outbox_oldest_undelivered_seconds",
        "Age of the oldest event not yet relayed or still being delivered (0: none)",
        registry=registry,
    ).set(backlog.oldest_undelivered_seconds)
    states = Gauge("seatwise_webhook_deliveries", "Webhook deliveries by current state", ["state"], registry=registry)
    for state, n in (("pending", backlog.pending), ("retrying", backlog.retrying), ("dead", backlog.dead)):
        states.labels(state).set(n)
    Gauge("seatwise_holds_stuck", "Expired holds past the grace period and still stored", registry=registry).set(
        backlog.stuck_holds
    )
    return generate_latest(registry)


def render(backlog: Backlog | None = None) -> tuple[bytes, str]:
    WORKER.info({"pid": str(os.getpid())})  # which worker answered this scrape
    body = generate_latest(REGISTRY)
    if backlog is not None:
        body += backlog_gauges(backlog)
    return body, CONTENT_TYPE_LATEST
