"""The hottest requests, answered before FastAPI's routing (issue 15): reading
availability, booking directly, and holding tables.

A pure ASGI middleware, innermost of the app's own (so the request id, the access log
line, the metrics and the edge guards are the same as for any request). A
`GET /v1/restaurants/{rid}/availability` whose query is valid, or a
`POST /v1/restaurants/{rid}/bookings` (or `/holds`) whose JSON body (and, for a
booking, `Idempotency-Key`) is valid, is answered by the route's own body
(`routes.bookings.availability_answer`, `booking_answer`, `hold_answer`), after the
same steps the route's dependencies take, in their order (the key probed, then the
restaurant id parsed); a refusal is the problem the
route's handler renders. FastAPI's per-request machinery (routing, dependency
solving, parameter and body validation against the signature) is skipped, and with
it about a third of a cached availability answer's CPU (bench/concurrent_availability.py).

Anything else goes the normal way, untouched (a body read here is handed on as it
came): another path or method, and any request the route would refuse before its
body runs (a query, body or header it refuses field by field, with its own order of
errors). An availability read that fails with an error that is not a refusal goes
there too (a GET changes nothing, so running it again is safe); a write never
does: once its use case started, any error is answered here as the app's handlers
answer it (`api.problems.unexpected_response`), so a write is never run twice.

The routes stay the ones documented in the OpenAPI document, and
tests/api/test_fastpath.py checks both ways give the same answers.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seatwise.api.problems import problem_response, unexpected_response
from seatwise.api.routes.bookings import (
    IDEMPOTENCY_KEY_LENGTH,
    JSON,
    AvailabilityQuery,
    BookingIn,
    HoldIn,
    availability_answer,
    booking_answer,
    hold_answer,
)
from seatwise.core.errors import SeatwiseError
from seatwise.services.auth import authenticate_read
from seatwise.services.ids import parse_id

AVAILABILITY = re.compile(r"/v1/restaurants/([^/]+)/availability")
WRITES = re.compile(r"/v1/restaurants/([^/]+)/(bookings|holds)")
TEMPLATES = {
    ("GET", "availability"): "/v1/restaurants/{rid}/availability",
    ("POST", "bookings"): "/v1/restaurants/{rid}/bookings",
    ("POST", "holds"): "/v1/restaurants/{rid}/holds",
}


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of header `name` (as Starlette's `Headers.get`)."""
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == name), None)


class FastPath:
    def __init__(self, app: ASGIApp, *, routes: list[Any]) -> None:
        self.app = app
        self.routes: dict[tuple[str, str], APIRoute] = {}
        for (method, name), template in TEMPLATES.items():
            found = [
                r for r in routes if isinstance(r, APIRoute) and r.path == template and method in (r.methods or ())
            ]
            if len(found) != 1:
                raise LookupError(f"no single {method} route {template}")
            self.routes[method, name] = found[0]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method = scope["method"]
            if method == "GET" and (match := AVAILABILITY.fullmatch(scope["path"])):
                response = await self._availability(scope, match.group(1))
                if response is not None:
                    await self._send(response, scope, "availability", match.group(1), receive, send)
                    return
            elif method == "POST" and (match := WRITES.fullmatch(scope["path"])):
                await self._write(scope, match.group(2), match.group(1), receive, send)
                return
        await self.app(scope, receive, send)

    async def _send(self, response: Response, scope: Scope, name: str, rid: str, receive: Receive, send: Send) -> None:
        scope["route"], scope["path_params"] = self.routes[scope["method"], name], {"rid": rid}
        await response(scope, receive, send)

    async def _availability(self, scope: Scope, rid: str) -> Response | None:
        """The route's response, or None to let the route answer."""
        try:
            query = AvailabilityQuery.model_validate(dict(QueryParams(scope["query_string"])))
        except ValidationError:
            return None
        rt = scope["app"].state.runtime
        try:
            rid = parse_id(rid, "restaurant")  # an id that is not one does not exist (404)
            answer = await availability_answer(rt, rid, query, _header(scope, b"authorization"))
            return Response(answer, media_type=JSON)
        except SeatwiseError as refusal:
            return problem_response(refusal)
        except Exception:  # the app's handlers answer it, on the normal way
            return None

    async def _write(self, scope: Scope, name: str, rid: str, receive: Receive, send: Send) -> None:
        """A booking or a hold (`name`), answered here unless the route must judge it."""
        keyed = name == "bookings"  # a hold takes no Idempotency-Key
        model = BookingIn if keyed else HoldIn

        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        parsed = _write_body(scope, messages, body, model, keyed=keyed)
        if parsed is None:

            async def replay() -> Message:
                return messages.pop(0) if messages else await receive()

            await self.app(scope, replay, send)
            return
        request, key = parsed
        rt = scope["app"].state.runtime
        try:
            probed = await authenticate_read(rt.reads, rt.admin_key, _header(scope, b"authorization"), rid)
            parsed_rid = parse_id(rid, "restaurant")
            response: Response = await (
                booking_answer(rt, probed, parsed_rid, request, key)
                if keyed
                else hold_answer(rt, probed, parsed_rid, request)
            )
        except SeatwiseError as refusal:
            response = problem_response(refusal)
        except Exception as exc:  # once the use case may have run, never the normal way again
            response = unexpected_response(exc)
        await self._send(response, scope, name, rid, receive, send)


def _write_body(
    scope: Scope, messages: list[Message], body: bytes, model: type[Any], *, keyed: bool
) -> tuple[Any, str | None] | None:
    """The body as `model` and (`keyed`: a booking's) Idempotency-Key, or None when
    the route must judge the request (anything but a whole JSON body and a valid key)."""
    if messages[-1]["type"] != "http.request":
        return None  # the client went away: the route sees it
    content_type = (_header(scope, b"content-type") or "").partition(";")[0].strip().lower()
    if content_type != "application/json":
        return None
    key = _header(scope, b"idempotency-key") if keyed else None  # a hold's route ignores the header
    if key is not None and not IDEMPOTENCY_KEY_LENGTH[0] <= len(key) <= IDEMPOTENCY_KEY_LENGTH[1]:
        return None
    try:
        return model.model_validate(json.loads(body)), key
    except (ValueError, ValidationError):  # not JSON (json's errors are ValueErrors), or not the model
        return None
