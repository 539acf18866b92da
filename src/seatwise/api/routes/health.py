from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Response

from seatwise.api import metrics
from seatwise.api.deps import RuntimeDep
from seatwise.services import jobs

_log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="getHealth")
def healthz(rt: RuntimeDep) -> dict[str, Any]:
    with rt.db.pool.connection() as conn:
        conn.execute("SELECT 1")
    return {"status": "ok", "database": "ok"}


@router.get(
    "/metrics", operation_id="getMetrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}}
)
def prometheus_metrics(rt: RuntimeDep) -> Response:
    """Prometheus exposition of this process's counters and the jobs' backlog (no key
    needed; the backlog is left out while the database is unreachable)."""
    try:
        backlog = jobs.backlog(rt.db)
    except Exception:  # the database is down: still answer with this process's counters
        _log.warning("the jobs' backlog is not available for /metrics", exc_info=True)
        backlog = None
    body, content_type = metrics.render(backlog)
    return Response(body, media_type=content_type)
