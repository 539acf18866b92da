"""The floor plan (inline SVG) and the day summary (figures and an inline SVG chart)."""

from __future__ import annotations

from fastapi import Response

from seatwise.services import dashboard
from seatwise.web.ops.common import CtxDep, page, router


@router.get("/{rid}/floor")
def floor(ctx: CtxDep, rid: str, date: str | None = None, time: str | None = None) -> Response:
    rid = ctx.restaurant(rid)
    plan = dashboard.floor_plan(ctx.rt.db, rid, date, time)
    centre = {
        t.placement.label: (
            t.placement.position.x + t.placement.position.width / 2,
            t.placement.position.y + t.placement.position.height / 2,
        )
        for t in plan.tables
    }
    return page(
        ctx.request,
        "ops/floor.html",
        {"rid": rid, "plan": plan, "day": plan.date.isoformat(), "time": plan.at.strftime("%H:%M"), "centre": centre},
    )


@router.get("/{rid}/summary")
def summary(ctx: CtxDep, rid: str, date: str | None = None) -> Response:
    rid = ctx.restaurant(rid)
    result = dashboard.day_summary(ctx.rt.db, rid, date)
    figures = result.figures
    top = max([s.covers for s in figures.slots] + [s.max_covers or 0 for s in figures.slots] + [1])
    return page(
        ctx.request,
        "ops/summary.html",
        {"rid": rid, "s": figures, "day": figures.date.isoformat(), "top": top},
    )
