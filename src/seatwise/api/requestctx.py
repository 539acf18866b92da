"""The request id: taken from a well-formed `X-Request-Id`, else made here; set for
every log line of the request (seatwise.logs), returned in the `X-Request-Id`
header and in every problem document. One access line per request, without query
string, headers or body."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seatwise.logs import request_id

_ACCESS = logging.getLogger("seatwise.access")
_WELL_FORMED = re.compile(rb"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", ())).get(b"x-request-id", b"")
        rid = given.decode() if _WELL_FORMED.match(given) else uuid.uuid4().hex
        # Not reset afterwards: each request runs in its own task, and the outermost
        # error handler (a 500) still logs inside it.
        request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route: Any = scope.get("route")
            _ACCESS.info(
                "request",
                extra={
                    "method": scope.get("method", ""),
                    "route": getattr(route, "path", "unmatched"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
