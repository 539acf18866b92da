"""What every dashboard page shares: the router, sign-in and CSRF guards, rendering.

Every page handler takes a `Ctx` (the signed-in principal, re-checked on each
request) and authorizes with services.auth like the API; every POST takes a
`CheckedForm` (the CSRF token verified first). Refusals from the services render
as an HTML page with the same status and code as the API would answer.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute, APIRouter
from starlette.datastructures import FormData

from seatwise.core.errors import Forbidden, SeatwiseError, ValidationFailed
from seatwise.runtime import Runtime
from seatwise.services.auth import Permission, Principal, authorize
from seatwise.services.ids import parse_id
from seatwise.web.ops import session as sessions
from seatwise.web.ops.session import Session
from seatwise.web.templating import templates


class Redirect(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class OpsRoute(APIRoute):
    """Renders refusals as HTML pages instead of problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except Redirect as r:
                return RedirectResponse(r.url, status_code=303)
            except SeatwiseError as exc:
                return error_page(request, exc)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body"))
                detail = f"{where}: {first.get('msg', 'invalid request')}"
                return error_page(request, ValidationFailed(detail))

        return handler


router = APIRouter(prefix="/ops", include_in_schema=False, route_class=OpsRoute)


@dataclass(frozen=True)
class Ctx:
    request: Request
    session: Session
    principal: Principal

    @property
    def rt(self) -> Runtime:
        return sessions.runtime_of(self.request)

    def restaurant(self, rid: str, permission: Permission = Permission.READ_BOOKINGS) -> str:
        """The path's restaurant id, authorized for `permission` (404 otherwise)."""
        rid = parse_id(rid, "restaurant")
        authorize(self.principal, rid, permission)
        return rid


def signed_in(request: Request) -> Ctx:
    session = sessions.read(request)
    who = sessions.principal(request, session) if session is not None and session.signed_in else None
    if session is None or who is None:
        raise Redirect("/ops")
    return Ctx(request, session, who)


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matched the session's (403 otherwise)."""
    form = await request.form()
    if not sessions.csrf_ok(sessions.read(request), form.get(sessions.CSRF_FIELD)):
        raise Forbidden("the form's CSRF token is missing or wrong: reload the page")
    return form


CtxDep = Annotated[Ctx, Depends(signed_in)]
CheckedForm = Annotated[FormData, Depends(checked_form)]


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def page(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200, session: Session | None = None
) -> HTMLResponse:
    session = session or sessions.read(request) or sessions.fresh()
    response = templates.TemplateResponse(
        request, template, {"csrf": session.csrf, "session": session, **context}, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"
    sessions.write(request, response, session)
    return response


def error_page(request: Request, error: SeatwiseError) -> HTMLResponse:
    problem = error.problem()
    session = sessions.read(request)
    return page(
        request,
        "ops/error.html",
        {"problem": problem, "rid": session.rid if session else None},
        status=error.status,
    )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
