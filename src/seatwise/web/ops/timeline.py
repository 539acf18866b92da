"""The timeline: the night per table, booking actions, moves and the slot picker."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Response

from seatwise.core.errors import SeatwiseError, ValidationFailed
from seatwise.services import availability as reads
from seatwise.services import bookings, dashboard, moves, walkins
from seatwise.services import status as machine
from seatwise.services.auth import Permission
from seatwise.services.bookings import BookingRequest
from seatwise.services.moves import AssignRequest, RescheduleRequest
from seatwise.services.results import Guest
from seatwise.web.ops.common import CheckedForm, Ctx, CtxDep, field, page, redirect, router

NAME_MAX, PHONE_MAX = 200, 40


def _timeline_url(rid: str, **params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"/ops/{rid}/timeline" + (f"?{query}" if query else "")


def _party(text: str) -> int:
    try:
        party = int(text)
    except ValueError:
        raise ValidationFailed(f"party size must be a whole number, got {text!r}") from None
    if not 1 <= party <= 1000:
        raise ValidationFailed("party size must be between 1 and 1000")
    return party


def _view(
    ctx: Ctx,
    rid: str,
    date: str | None,
    *,
    booking_id: str | None = None,
    party: str | None = None,
    time: str | None = None,
    refusal: dict[str, Any] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    board = dashboard.day_board(ctx.rt.db, rid, date)
    day = board.date.isoformat()
    selected = None
    if booking_id:
        try:
            selected = bookings.get_booking(ctx.rt.db, rid, booking_id)
        except SeatwiseError:
            selected = None  # a stale link: show the night without the panel
    slots = None
    if party:
        try:
            slots = reads.availability(ctx.rt.db, rid, day, _party(party), None).slots
        except SeatwiseError as exc:
            refusal = refusal or exc.problem()
    return page(
        ctx.request,
        "ops/timeline.html",
        {
            "rid": rid,
            "board": board,
            "day": day,
            "selected": selected,
            "party": party or "",
            "time": time or "",
            "slots": slots,
            "refusal": refusal,
            "notice": notice,
            "transitions": machine.TRANSITIONS,
        },
        status=status,
    )


@router.get("/{rid}/timeline")
def timeline(
    ctx: CtxDep,
    rid: str,
    date: str | None = None,
    booking: str | None = None,
    party: str | None = None,
    time: str | None = None,
    notice: str | None = None,
) -> Response:
    rid = ctx.restaurant(rid)
    return _view(ctx, rid, date, booking_id=booking, party=party, time=time, notice=notice)


@router.get("/{rid}/timeline/grid")
def timeline_grid(ctx: CtxDep, rid: str, date: str | None = None, booking: str | None = None) -> Response:
    """The grid alone: what the page polls (htmx) to follow other clients."""
    rid = ctx.restaurant(rid)
    board = dashboard.day_board(ctx.rt.db, rid, date)
    return page(
        ctx.request,
        "ops/_grid.html",
        {"rid": rid, "board": board, "day": board.date.isoformat(), "selected_id": booking or ""},
    )


@router.post("/{rid}/bookings")
def create_booking(ctx: CtxDep, rid: str, form: CheckedForm) -> Response:
    rid = ctx.restaurant(rid, Permission.MANAGE_BOOKINGS)
    day, party, time = field(form, "date"), field(form, "party_size"), field(form, "time")
    try:
        name, phone = field(form, "name"), field(form, "phone") or None
        if not 1 <= len(name) <= NAME_MAX:
            raise ValidationFailed("the guest's name is required (at most 200 characters)")
        if phone is not None and len(phone) > PHONE_MAX:
            raise ValidationFailed("the phone number is at most 40 characters")
        request = BookingRequest(_party(party), f"{day}T{time}", Guest(name, phone), field(form, "notes") or None)
        booking, _ = bookings.create_booking(ctx.rt.db, rid, request, ctx.principal)
    except SeatwiseError as exc:
        return _view(ctx, rid, day or None, party=party, time=time, refusal=exc.problem(), status=exc.status)
    return redirect(_timeline_url(rid, date=day, booking=booking.id, notice="Booking made"))


@router.post("/{rid}/walk-ins")
def walk_in(ctx: CtxDep, rid: str, form: CheckedForm) -> Response:
    rid = ctx.restaurant(rid, Permission.MANAGE_BOOKINGS)
    party = field(form, "party_size")
    try:
        booking = walkins.walk_in(ctx.rt.db, rid, _party(party), field(form, "name") or None, ctx.principal)
    except SeatwiseError as exc:
        return _view(ctx, rid, None, party=party, refusal=exc.problem(), status=exc.status)
    return redirect(_timeline_url(rid, booking=booking.id, notice="Walk-in seated"))


@router.post("/{rid}/bookings/{booking_id}/status")
def change_status(ctx: CtxDep, rid: str, booking_id: str, form: CheckedForm) -> Response:
    rid = ctx.restaurant(rid)
    action, day = field(form, "action"), field(form, "date")
    try:
        if action not in tuple(machine.Action):
            raise ValidationFailed(f"unknown action {action!r}")
        booking = machine.transition(ctx.rt.db, rid, booking_id, machine.Action(action), ctx.principal)
    except SeatwiseError as exc:
        return _view(ctx, rid, day or None, booking_id=booking_id, refusal=exc.problem(), status=exc.status)
    return redirect(_timeline_url(rid, date=day, booking=booking.id, notice=f"Booking {booking.status}"))


@router.post("/{rid}/bookings/{booking_id}/tables")
def move(ctx: CtxDep, rid: str, booking_id: str, form: CheckedForm) -> Response:
    rid = ctx.restaurant(rid, Permission.MANAGE_BOOKINGS)
    day = field(form, "date")
    labels = [x for x in form.getlist("table") if isinstance(x, str) and x]
    try:
        request = AssignRequest(labels, field(form, "allow_slack") == "on")
        booking = moves.assign_tables(ctx.rt.db, rid, booking_id, request, ctx.principal)
    except SeatwiseError as exc:
        return _view(ctx, rid, day or None, booking_id=booking_id, refusal=exc.problem(), status=exc.status)
    moved = ", ".join(booking.tables)
    return redirect(_timeline_url(rid, date=day, booking=booking.id, notice=f"Moved to {moved}"))


@router.post("/{rid}/bookings/{booking_id}/pin")
def pin(ctx: CtxDep, rid: str, booking_id: str, form: CheckedForm) -> Response:
    rid = ctx.restaurant(rid, Permission.MANAGE_BOOKINGS)
    day, wanted = field(form, "date"), field(form, "pinned")
    try:
        if wanted not in ("on", "off"):
            raise ValidationFailed("pinned must be on or off")
        booking = moves.pin(ctx.rt.db, rid, booking_id, wanted == "on")
    except SeatwiseError as exc:
        return _view(ctx, rid, day or None, booking_id=booking_id, refusal=exc.problem(), status=exc.status)
    notice = "Pinned to its tables" if booking.pinned else "Unpinned"
    return redirect(_timeline_url(rid, date=day, booking=booking.id, notice=notice))


@router.post("/{rid}/bookings/{booking_id}/reschedule")
def reschedule(ctx: CtxDep, rid: str, booking_id: str, form: CheckedForm) -> Response:
    rid = ctx.restaurant(rid, Permission.MANAGE_BOOKINGS)
    day, time, party = field(form, "new_date"), field(form, "new_time"), field(form, "new_party_size")
    back = field(form, "date")
    try:
        start = f"{day}T{time}" if day and time else None
        request = RescheduleRequest(start, _party(party) if party else None)
        booking = moves.reschedule(ctx.rt.db, rid, booking_id, request, ctx.principal)
    except SeatwiseError as exc:
        return _view(ctx, rid, back or None, booking_id=booking_id, refusal=exc.problem(), status=exc.status)
    return redirect(_timeline_url(rid, date=day or back, booking=booking.id, notice="Booking rescheduled"))
