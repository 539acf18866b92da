"""The worker's Prometheus metrics (names start with `seatwise_`), on the process's
one registry (`seatwise.telemetry`).

Counters live in the process that did the work, like the API's: a worker serves its
registry on `SEATWISE_WORKER_METRICS_PORT` (`seatwise serve` gives its worker the API
port + 1). The jobs' backlog (oldest undelivered event, deliveries by state, stuck
holds) is deployment-wide and read from the database at scrape time by the API's
`/metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from prometheus_client import Counter, Histogram, start_http_server

from seatwise.telemetry import REGISTRY

JOB_RUNS = Counter("seatwise_job_runs_total", "Job runs by job", ["job"], registry=REGISTRY)
JOB_FAILURES = Counter("seatwise_job_failures_total", "Job runs that raised, by job", ["job"], registry=REGISTRY)
JOB_ROWS = Counter(
    "seatwise_job_rows_total", "Rows handled by jobs (announced, deleted, archived ...)", ["job"], registry=REGISTRY
)
JOB_SECONDS = Histogram(
    "seatwise_job_run_seconds",
    "Duration of job runs",
    ["job"],
    registry=REGISTRY,
    buckets=(0.005, 0.02, 0.1, 0.5, 2, 10, 60, 300),
)
DELIVERIES = Counter(
    "seatwise_webhook_deliveries_total",
    "Webhook delivery attempts by outcome (delivered, retrying, dead)",
    ["outcome"],
    registry=REGISTRY,
)


class HasRows(Protocol):
    @property
    def rows(self) -> int: ...


R = TypeVar("R", bound=HasRows)


def counted(job: str, run: Callable[[], R]) -> R:
    """Run one job pass, counting the run, its rows, its duration and any failure."""
    started = time.perf_counter()
    JOB_RUNS.labels(job).inc()
    try:
        result = run()
    except Exception:
        JOB_FAILURES.labels(job).inc()
        raise
    finally:
        JOB_SECONDS.labels(job).observe(time.perf_counter() - started)
    JOB_ROWS.labels(job).inc(result.rows)
    return result


def serve(host: str, port: int) -> None:
    """Serve `/metrics` of this process on a daemon thread."""
    start_http_server(port, addr=host, registry=REGISTRY)
