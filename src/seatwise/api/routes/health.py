from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from seatwise.api import metrics
from seatwise.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="getHealth")
def healthz(rt: RuntimeDep) -> dict[str, Any]:
    with rt.db.pool.connection() as conn:
        conn.execute("SELECT 1")
    return {"status": "ok", "database": "ok"}


@router.get(
    "/metrics", operation_id="getMetrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}}
)
def prometheus_metrics() -> Response:
    """Prometheus exposition of this worker's counters (no key needed)."""
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
