"""Sign-in with an API key, sign-out, and the admin's choice of restaurant."""

from __future__ import annotations

from dataclasses import replace

from fastapi import Request, Response

from seatwise.core.errors import Forbidden, SeatwiseError
from seatwise.services import restaurants
from seatwise.services.auth import Permission, authenticate, authorize
from seatwise.services.ids import parse_id
from seatwise.web.ops import session as sessions
from seatwise.web.ops.common import CheckedForm, CtxDep, field, page, redirect, router


@router.get("")
def sign_in_form(request: Request) -> Response:
    session = sessions.read(request)
    if session is not None and session.signed_in and sessions.principal(request, session) is not None:
        if session.role != "admin" and session.rid:
            return redirect(f"/ops/{session.rid}/timeline")
        return page(request, "ops/pick.html", {"error": None, "rid": None})
    return page(request, "ops/signin.html", {"error": None}, session=session or sessions.fresh())


@router.post("/sign-in")
def sign_in(request: Request, form: CheckedForm) -> Response:
    rt = sessions.runtime_of(request)
    key = field(form, "api_key")
    try:
        who = authenticate(rt.db, rt.admin_key, f"Bearer {key}")
        if who.role == "channel" or (who.restaurant_id and not who.may(Permission.MANAGE_BOOKINGS)):
            raise Forbidden("the dashboard takes a staff or admin key, not a channel key")
    except SeatwiseError as exc:
        return page(request, "ops/signin.html", {"error": str(exc)}, status=exc.status)
    # A new CSRF token at sign-in: a token planted before cannot follow the session.
    signed = sessions.fresh()
    if who.role == "admin":
        signed = replace(signed, role="admin", admin=sessions.admin_fingerprint(rt.admin_key))
        response = redirect("/ops")
    else:
        signed = replace(signed, role=who.role, rid=who.restaurant_id, key_id=who.key_id)
        response = redirect(f"/ops/{who.restaurant_id}/timeline")
    sessions.write(request, response, signed)
    return response


@router.post("/sign-out")
def sign_out(form: CheckedForm) -> Response:
    del form  # checked: a sign-out cannot be forced from another site
    response = redirect("/ops")
    sessions.clear(response)
    return response


@router.post("/pick")
def pick_restaurant(ctx: CtxDep, form: CheckedForm) -> Response:
    """The admin opens a restaurant by its id."""
    text = field(form, "restaurant_id")
    try:
        rid = parse_id(text, "restaurant")
        authorize(ctx.principal, rid, Permission.READ_RESTAURANT)
        restaurants.get_restaurant(ctx.rt.db, rid)
    except SeatwiseError as exc:
        return page(ctx.request, "ops/pick.html", {"error": str(exc), "rid": None, "value": text}, status=exc.status)
    response = redirect(f"/ops/{rid}/timeline")
    sessions.write(ctx.request, response, replace(ctx.session, rid=rid))
    return response
