"""The venue editor: the whole venue document as a form, saved through the same
validation and use case as `PUT /v1/restaurants/{rid}/venue`."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from seatwise.core.errors import ErrorCode, SeatwiseError
from seatwise.core.model import WEEKDAYS
from seatwise.services import restaurants
from seatwise.services.auth import Permission
from seatwise.web.ops.common import CheckedForm, Ctx, CtxDep, field, page, router
from seatwise.web.ops.venue_form import form_to_document, with_blank_rows

ADD = {"add_table": "table", "add_zone": "zone", "add_service": "service"}


def _editor(
    ctx: Ctx,
    rid: str,
    doc: dict[str, Any],
    *,
    problems: list[dict[str, str]] | None = None,
    stranded: list[dict[str, Any]] | None = None,
    refusal: dict[str, Any] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    errors: dict[str, list[str]] = {}
    for p in problems or []:
        errors.setdefault(p["path"], []).append(p["message"])
    return page(
        ctx.request,
        "ops/venue.html",
        {
            "rid": rid,
            "doc": doc,
            "errors": errors,
            "problems": problems or [],
            "stranded": stranded or [],
            "refusal": refusal,
            "notice": notice,
            "weekdays": WEEKDAYS,
        },
        status=status,
    )


@router.get("/{rid}/venue")
def venue_editor(ctx: CtxDep, rid: str, notice: str | None = None) -> Response:
    rid = ctx.restaurant(rid, Permission.READ_VENUE)
    return _editor(ctx, rid, restaurants.export_venue(ctx.rt.db, rid), notice=notice)


@router.post("/{rid}/venue")
def save_venue(ctx: CtxDep, rid: str, form: CheckedForm) -> Response:
    rid = ctx.restaurant(rid, Permission.MANAGE_VENUE)
    pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    doc = form_to_document(pairs)
    action = field(form, "action")
    if action in ADD:
        return _editor(ctx, rid, with_blank_rows(doc, ADD[action]))
    try:
        restaurants.replace_venue(ctx.rt.db, rid, doc)
    except SeatwiseError as exc:
        problem = exc.problem()
        if exc.code == ErrorCode.INVALID_VENUE:
            return _editor(ctx, rid, doc, problems=problem.get("problems", []), status=exc.status)
        if exc.code == ErrorCode.VENUE_IN_USE:
            return _editor(ctx, rid, doc, stranded=problem.get("bookings", []), refusal=problem, status=exc.status)
        return _editor(ctx, rid, doc, refusal=problem, status=exc.status)
    return _editor(ctx, rid, restaurants.export_venue(ctx.rt.db, rid), notice="Venue saved")
