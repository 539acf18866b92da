"""HTTP protocol for uvicorn: TCP_NODELAY always, and a deadline on each request.

With several workers uvicorn binds the listening socket itself with proto 0, and
asyncio only sets TCP_NODELAY on sockets whose proto is IPPROTO_TCP. Every response
(headers and body written separately) then waits ~40 ms for the client's delayed
ACK — measured here: 48 ms per request with 2 workers, 5 ms with 1.

uvicorn closes a keep-alive connection that stays idle after a response, but not
one that never sends a request, nor one that trickles a request in a byte at a
time (each byte re-arms nothing: no timer runs). Here a connection must deliver a
whole request (headers and body) within `REQUEST_TIMEOUT` seconds of opening or of
its previous response, or it is closed.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

REQUEST_TIMEOUT = 10.0
SERVER_OPTIONS: dict[str, Any] = {
    "server_header": False,  # no banner
    "timeout_keep_alive": 5,
}


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    request_timeout = REQUEST_TIMEOUT
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override] # uvicorn's own signature
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        self._arm_deadline()

    def _arm_deadline(self) -> None:
        self._disarm_deadline()
        self._deadline = self.loop.call_later(self.request_timeout, self._request_too_slow)

    def _disarm_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _request_too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def on_message_complete(self) -> None:
        self._disarm_deadline()  # the whole request is in; the app may take its time
        super().on_message_complete()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # the next request is already whole
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self._arm_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_deadline()
        super().connection_lost(exc)
