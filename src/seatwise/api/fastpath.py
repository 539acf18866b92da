"""The availability read, answered before FastAPI's routing (issue 15: availability
is most of the traffic).

A pure ASGI middleware, innermost of the app's own (so the request id, the access log
line, the metrics and the edge headers are the same as for any request): a
`GET /v1/restaurants/{rid}/availability` whose query is valid is answered by the
route's own body (`routes.bookings.availability_answer`), with the route's
response, or with the problem the route's handler would render for a refusal. The
route, its dependencies and FastAPI's per-request machinery are skipped, and with
them about a third of a cached answer's CPU (measured: bench/concurrent_availability.py).

Anything else goes the normal way: another path or method, a query the route would
refuse (its 422 is rendered there, field by field), or an error that is not a
refusal (the app's handlers answer it; a GET changes nothing, so running it again
there is safe). The route stays the one documented in the OpenAPI document.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from seatwise.core.errors import SeatwiseError

PATH = re.compile(r"/v1/restaurants/([^/]+)/availability")
TEMPLATE = "/v1/restaurants/{rid}/availability"


class AvailabilityFastPath:
    def __init__(self, app: ASGIApp, *, routes: list[Any]) -> None:
        self.app = app
        found = [r for r in routes if isinstance(r, APIRoute) and r.path == TEMPLATE and "GET" in (r.methods or ())]
        if len(found) != 1:
            raise LookupError(f"no single GET route {TEMPLATE}")
        self.route = found[0]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and (match := PATH.fullmatch(scope["path"])):
            response = await self._answer(scope, match.group(1))
            if response is not None:
                scope["route"], scope["path_params"] = self.route, {"rid": match.group(1)}
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, rid: str) -> Response | None:
        """The route's response, or None to let the route answer."""
        from seatwise.api.app import problem_response
        from seatwise.api.routes.bookings import JSON, AvailabilityQuery, availability_answer

        try:
            query = AvailabilityQuery.model_validate(dict(QueryParams(scope["query_string"])))
        except ValidationError:
            return None
        authorization = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None)
        rt = scope["app"].state.runtime
        try:
            return Response(await availability_answer(rt, rid, query, authorization), media_type=JSON)
        except SeatwiseError as refusal:
            return problem_response(refusal)
        except Exception:  # the app's handlers answer it, on the normal way
            return None
