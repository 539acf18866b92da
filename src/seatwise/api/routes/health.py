"""Liveness, readiness and metrics: no key needed.

`/healthz` and `/metrics` run on the event loop and touch no database, so no number
of database-bound requests waiting in the worker threads can delay them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from seatwise.api import metrics
from seatwise.api.deps import RuntimeDep
from seatwise.api.problems import problems

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
async def prometheus_metrics() -> Response:
    """Prometheus exposition of this worker's counters (no key needed)."""
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
