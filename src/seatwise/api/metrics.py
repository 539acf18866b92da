"""Prometheus metrics (`GET /metrics`, no key). Names start with `seatwise_`.

A pure ASGI middleware (no per-request task or body buffering) records each
request's route template, method, status and latency. Each worker process keeps its
own registry; scrape each worker, or run one worker per port.
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def render() -> tuple[bytes, str]:
    WORKER.info({"pid": str(os.getpid())})  # which worker answered this scrape
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
