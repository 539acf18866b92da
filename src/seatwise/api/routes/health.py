from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from seatwise.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(rt: RuntimeDep) -> dict[str, Any]:
    with rt.db.pool.connection() as conn:
        conn.execute("SELECT 1")
    return {"status": "ok", "database": "ok"}
