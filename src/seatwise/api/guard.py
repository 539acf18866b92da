"""Edge guards applied to every request before any route sees it.

- Bodies over `MAX_BODY_BYTES` are refused with 413 `PAYLOAD_TOO_LARGE` before they
  are read whole or parsed: a declared `Content-Length` is judged from the header, a
  chunked body is read only up to the limit.
- Every response carries `X-Content-Type-Options: nosniff`.

A pure ASGI middleware: no per-request task, no buffering of bodies within the limit
that declare their length.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seatwise.core.errors import PayloadTooLarge

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB (DESIGN §7)
NOSNIFF = (b"x-content-type-options", b"nosniff")


def _too_large() -> tuple[bytes, list[tuple[bytes, bytes]]]:
    problem = PayloadTooLarge(f"the request body is over {MAX_BODY_BYTES} bytes").problem()
    body = json.dumps(problem).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of the body is never read
    ]
    return body, headers


class GuardMiddleware:
    def __init__(self, app: ASGIApp, *, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if all(name.lower() != NOSNIFF[0] for name, _ in headers):  # a page may have set it already
                    message["headers"] = [*headers, NOSNIFF]
            await send(message)

        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_body:
                await self._refuse(send_nosniff)
                return
            await self.app(scope, receive, send_nosniff)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send_nosniff)
            return
        # A chunked body: read it up to the limit, then hand it on.
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_body:
                await self._refuse(send_nosniff)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send_nosniff)

    async def _refuse(self, send: Send) -> None:
        body, headers = _too_large()
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
