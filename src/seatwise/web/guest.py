"""The public guest booking page (`/book/{slug}`, DESIGN §11).

Plain HTML forms, each step its own server-rendered page (post, then redirect to a
page that can be reloaded); `static/guest.js` only enhances (focus, countdown, one
submit at a time). The page carries no API key: `services.guest_booking` acts with
the restaurant's channel access. Every answer under `/book` carries a strict
Content-Security-Policy (:class:`GuestSecurityHeaders`): scripts and styles come
from the app itself, never inline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seatwise.core.errors import (
    CapacityExceeded,
    HoldExpired,
    NotFound,
    OutsideServiceHours,
    RateLimited,
    SeatwiseError,
    ValidationFailed,
)
from seatwise.runtime import Runtime
from seatwise.services import guest_booking as guest
from seatwise.services.guest_booking import GuestPage, Times, field_errors
from seatwise.web.templating import templates

router = APIRouter(prefix="/book", include_in_schema=False)

MAX_FORM_BYTES = 16 * 1024  # the longest honest form (notes: 2000 characters) is far below
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    # A hold's page is live state: never from a cache (nor the back-forward cache),
    # so going back after confirming asks the server, which answers with the booking.
    (b"cache-control", b"no-store"),
]
DETAILS = (
    {"name": "name", "label": "Name", "kind": "text", "max": guest.NAME_MAX, "autocomplete": "name", "required": True},
    {"name": "phone", "label": "Phone", "kind": "tel", "max": guest.PHONE_MAX, "autocomplete": "tel"},
    {"name": "email", "label": "Email", "kind": "email", "max": guest.EMAIL_MAX, "autocomplete": "email"},
    {"name": "notes", "label": "Notes", "kind": "textarea", "max": guest.NOTES_MAX},
)


class GuestSecurityHeaders:
    """Adds the guest page's security headers to every answer under `/book`
    (its pages, its redirects and its error pages alike)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/book" or path.startswith("/book/")):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in SECURITY_HEADERS}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + SECURITY_HEADERS}
            await send(message)

        await self.app(scope, receive, with_headers)


async def form_fields(request: Request) -> dict[str, str] | None:
    """An url-encoded form body as field -> first value; None when it cannot be a
    form of this page (too large, too many fields). Unknown fields are ignored."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=20)
    except ValueError:
        return None
    return {k: v[0] for k, v in parsed.items()}


def readable(fields: dict[str, str] | None) -> dict[str, str]:
    if fields is None:
        raise ValidationFailed("the form could not be read: it is too large or has too many fields")
    return fields


FormDep = Annotated[dict[str, str] | None, Depends(form_fields)]


async def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def client_address(request: Request) -> str:
    """The guest's address as uvicorn reports it: the peer, or the `X-Forwarded-For`
    of a proxy uvicorn trusts (127.0.0.1 unless FORWARDED_ALLOW_IPS says otherwise)."""
    return request.client.host if request.client else guest.UNKNOWN_ADDRESS


# --- rendering -----------------------------------------------------------------------


def _render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("message", None)
    context.setdefault("errors", {})
    return templates.TemplateResponse(request, f"guest/{template}", context, status_code=status)


def _page_context(page: GuestPage) -> dict[str, Any]:
    minutes, seconds = divmod(page.hold_ttl_seconds, 60)
    if minutes and not seconds:
        ttl = f"{minutes} minute{'s' if minutes != 1 else ''}"
    elif minutes:
        ttl = f"{minutes} min {seconds} s"
    else:
        ttl = f"{seconds} seconds"
    return {
        "name": page.name,
        "slug": page.slug,
        "timezone": page.timezone,
        "today": page.today,
        "max_party_size": page.max_party_size,
        "hold_minutes_text": ttl,
    }


def _times_context(times: Times) -> dict[str, Any]:
    return {
        "party_size": times.party_size,
        "date": times.date,
        "date_text": guest.long_date(times.date),
        "groups": times.groups,
        "closed": times.closed,
    }


def _message(text: str, kind: str = "error", *, focus: bool = True) -> dict[str, Any]:
    return {"text": text, "kind": kind, "focus": focus}


def _invalid(exc: ValidationFailed) -> dict[str, Any]:
    if field_errors(exc):
        return _message("Please correct the highlighted fields.")
    return _message(exc.detail[:1].upper() + exc.detail[1:] + ".")


def _start_page(
    request: Request,
    page: GuestPage,
    *,
    form: dict[str, str],
    times: Times | None = None,
    alternatives: list[str] | None = None,
    message: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return _render(
        request,
        "start.html",
        status,
        page=_page_context(page),
        form=form,
        times=_times_context(times) if times else None,
        alternatives=alternatives,
        focus_times=times is not None and message is None,
        message=message,
        errors=errors or {},
    )


def _problem(request: Request, page: GuestPage | None, exc: SeatwiseError) -> HTMLResponse:
    titles = {404: "Not found", 409: "Please try again", 429: "Too many holds"}
    text = exc.detail if exc.status != 404 else "There is nothing at this address."
    return _render(
        request,
        "problem.html",
        exc.status,
        page=_page_context(page) if page else None,
        title=titles.get(exc.status, "Something is not right"),
        text=text[:1].upper() + text[1:],
    )


def _guarded(rt: Runtime, request: Request, slug: str, build: Callable[[GuestPage], Response]) -> Response:
    """Find the restaurant, then build the answer; any refusal becomes an HTML page."""
    try:
        page = guest.open_page(rt.db, slug)
    except SeatwiseError as exc:
        return _problem(request, None, exc)
    try:
        return build(page)
    except SeatwiseError as exc:
        return _problem(request, page, exc)


def _see_other(request: Request, name: str, query: dict[str, str] | None = None, **params: str) -> RedirectResponse:
    url = str(request.url_for(name, **params).path)
    if query:
        url += "?" + urlencode(query)
    return RedirectResponse(url, status_code=303)


# --- routes ---------------------------------------------------------------------------


@router.get("/{slug}", name="guest_start")
def start(
    request: Request, rt: RuntimeDep, slug: str, party_size: str | None = None, date: str | None = None
) -> Response:
    """Step 1 (party size and date) and, once both are given, step 2 (the times)."""

    def build(page: GuestPage) -> Response:
        form = {"party_size": party_size or "2", "date": date or page.today.isoformat()}
        if party_size is None and date is None:
            return _start_page(request, page, form=form)
        try:
            party, day = guest.parse_search(page, party_size or "", date or "")
        except ValidationFailed as exc:
            return _start_page(request, page, form=form, message=_invalid(exc), errors=field_errors(exc), status=422)
        return _start_page(request, page, form=form, times=guest.find_times(rt.db, page, party, day))

    return _guarded(rt, request, slug, build)


@router.post("/{slug}/holds", name="guest_hold")
def hold(request: Request, rt: RuntimeDep, slug: str, body: FormDep) -> Response:
    """Choosing a time takes a hold, then shows it (post, redirect, get)."""

    def build(page: GuestPage) -> Response:
        fields = readable(body)
        party_text, date_text = fields.get("party_size", ""), fields.get("date", "")
        time_text = fields.get("time", "")
        form = {"party_size": party_text, "date": date_text}
        try:
            held = guest.take_hold(rt.db, page, party_text, date_text, time_text, client_address(request))
        except ValidationFailed as exc:
            return _start_page(request, page, form=form, message=_invalid(exc), errors=field_errors(exc), status=422)
        except (CapacityExceeded, OutsideServiceHours, RateLimited) as exc:
            party, day = guest.parse_search(page, party_text, date_text)
            times = guest.find_times(rt.db, page, party, day)
            alternatives: list[str] | None = None
            if isinstance(exc, CapacityExceeded):
                alternatives = list(exc.fields.get("alternatives", [])) or None
                text = f"Sorry, {time_text} is no longer free for {party}."
                text += " These times are still free:" if alternatives else " No other time is free that day."
            elif isinstance(exc, OutsideServiceHours):
                text = f"{time_text} on {guest.long_date(day)} is outside the restaurant's opening hours."
            else:
                text = (
                    f"You are already holding {guest.HOLDS_PER_ADDRESS} tables here. Confirm one, choose "
                    "another time from a held table's page, or wait a few minutes for a hold to run out."
                )
            return _start_page(
                request,
                page,
                form=form,
                times=times,
                alternatives=alternatives,
                message=_message(text, "warning"),
                status=exc.status,
            )
        return _see_other(request, "guest_held", slug=page.slug, hold_id=held.id)

    return _guarded(rt, request, slug, build)


def _hold_page(
    request: Request,
    page: GuestPage,
    held: guest.HeldTime,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    minutes, seconds = divmod(held.seconds_left, 60)
    hold_view = {
        "id": held.id,
        "party_size": held.party_size,
        "date_text": guest.long_date(held.date),
        "time": held.time,
        "seconds_left": held.seconds_left,
        "left_text": f"{minutes}:{seconds:02d}",
        "expires_text": f"{held.expires_at:%H:%M:%S}",
    }
    return _render(
        request,
        "hold.html",
        status,
        page=_page_context(page),
        hold=hold_view,
        fields=DETAILS,
        form=form or {str(f["name"]): "" for f in DETAILS},
        errors=errors or {},
        message=_message("Please correct the highlighted fields.") if errors else None,
        idempotency_key=guest.confirm_form_key(held.id),
    )


def _expired_page(request: Request, rt: Runtime, page: GuestPage, held: guest.HeldTime) -> HTMLResponse:
    times = guest.find_times(rt.db, page, held.party_size, guest.offer_date(page, held))
    text = f"Your hold on {held.time} has expired, so the table was given back. Please choose a time again."
    return _start_page(
        request,
        page,
        form={"party_size": str(held.party_size), "date": held.date.isoformat()},
        times=times,
        message=_message(text, "warning"),
        status=409,
    )


@router.get("/{slug}/holds/{hold_id}", name="guest_held")
def held(request: Request, rt: RuntimeDep, slug: str, hold_id: str) -> Response:
    """Step 3: the held time with its countdown, and the guest's details."""

    def build(page: GuestPage) -> Response:
        state = guest.hold_state(rt.db, page, hold_id)
        if state.booking_id is not None:
            return _see_other(request, "guest_booking", slug=page.slug, booking_id=state.booking_id)
        if state.hold is None:
            raise NotFound("no such hold")
        if state.expired:
            return _expired_page(request, rt, page, state.hold)
        return _hold_page(request, page, state.hold)

    return _guarded(rt, request, slug, build)


@router.post("/{slug}/holds/{hold_id}/confirm", name="guest_confirm")
def confirm(request: Request, rt: RuntimeDep, slug: str, hold_id: str, body: FormDep) -> Response:
    """Step 4: confirm. A replay of the same hold answers with the same booking."""

    def build(page: GuestPage) -> Response:
        fields = readable(body)
        values = {str(f["name"]): fields.get(str(f["name"]), "") for f in DETAILS}
        try:
            guest_details, notes = guest.parse_guest(values["name"], values["phone"], values["email"], values["notes"])
        except ValidationFailed as exc:
            state = guest.hold_state(rt.db, page, hold_id)
            if state.booking_id is not None:
                return _see_other(request, "guest_booking", slug=page.slug, booking_id=state.booking_id)
            if state.hold is None:
                raise NotFound("no such hold") from None
            if state.expired:
                return _expired_page(request, rt, page, state.hold)
            return _hold_page(request, page, state.hold, form=values, errors=field_errors(exc), status=422)
        key = fields.get("idempotency_key", "")[:200] or guest.confirm_form_key(hold_id)
        try:
            done, _created = guest.confirm(rt.db, page, hold_id, guest_details, notes, key)
        except HoldExpired:
            state = guest.hold_state(rt.db, page, hold_id)
            if state.hold is None:
                raise
            return _expired_page(request, rt, page, state.hold)
        return _see_other(request, "guest_booking", slug=page.slug, booking_id=done.booking_id)

    return _guarded(rt, request, slug, build)


@router.post("/{slug}/holds/{hold_id}/release", name="guest_release")
def release(request: Request, rt: RuntimeDep, slug: str, hold_id: str) -> Response:
    """Give the held table back and choose another time for the same party and date."""

    def build(page: GuestPage) -> Response:
        state = guest.hold_state(rt.db, page, hold_id)
        if state.booking_id is not None:
            return _see_other(request, "guest_booking", slug=page.slug, booking_id=state.booking_id)
        if state.hold is None:
            raise NotFound("no such hold")
        try:
            guest.release(rt.db, page, hold_id)
        except NotFound:
            pass  # released meanwhile (another tab): the guest wanted it gone anyway
        query = {"party_size": str(state.hold.party_size), "date": guest.offer_date(page, state.hold).isoformat()}
        return _see_other(request, "guest_start", query, slug=page.slug)

    return _guarded(rt, request, slug, build)


@router.get("/{slug}/bookings/{booking_id}", name="guest_booking")
def booking(request: Request, rt: RuntimeDep, slug: str, booking_id: str) -> Response:
    """The confirmation: time, party size and the booking reference."""

    def build(page: GuestPage) -> Response:
        done = guest.confirmation(rt.db, page, booking_id)
        view = {
            "time": done.time,
            "date_text": guest.long_date(done.date),
            "party_size": done.party_size,
            "reference": done.reference,
            "status": done.status,
        }
        return _render(request, "confirmed.html", page=_page_context(page), booking=view)

    return _guarded(rt, request, slug, build)
