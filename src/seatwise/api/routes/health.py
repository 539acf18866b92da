"""Liveness, readiness and metrics: no key needed.

`/healthz` and `/metrics` run on the event loop and need no worker thread: `/healthz`
touches no database, and `/metrics` reads the jobs' backlog on the loop's own pool
(`store.probe`) and waits at most `BACKLOG_WAIT` for it, so no number of
database-bound requests holding the worker threads can hang them.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from fastapi import APIRouter, Response

from seatwise.api import metrics
from seatwise.api.deps import RuntimeDep
from seatwise.api.problems import problems
from seatwise.services import jobs

_log = logging.getLogger(__name__)
BACKLOG_WAIT = 0.5  # seconds /metrics waits for the jobs' backlog (a database read)

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="getHealth")
@router.head("/healthz", include_in_schema=False)
async def healthz() -> dict[str, Any]:
    """Liveness: the process answers. It does not ask the database (see `/readyz`)."""
    return {"status": "ok"}


@router.get("/readyz", operation_id="getReadiness", responses=problems(503))
def readyz(rt: RuntimeDep) -> dict[str, Any]:
    """Readiness: 503 `DATABASE_UNAVAILABLE` while the database is unreachable."""
    rt.db.ping()
    return {"status": "ok", "database": "ok"}


@router.get(
    "/metrics", operation_id="getMetrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}}
)
async def prometheus_metrics(rt: RuntimeDep) -> Response:
    """Prometheus exposition of this process's counters and the jobs' backlog (no key
    needed). The counters never wait: the backlog (a database read on the event loop)
    is left out at once when the database is known down, and when it takes longer
    than `BACKLOG_WAIT`."""
    backlog = None
    if not rt.db.reach.down:
        with anyio.move_on_after(BACKLOG_WAIT):
            try:
                backlog = await jobs.backlog(rt.reads)
            except Exception:  # the database is down: still answer with this process's counters
                _log.warning("the jobs' backlog is not available for /metrics", exc_info=True)
    body, content_type = metrics.render(backlog)
    return Response(body, media_type=content_type)
