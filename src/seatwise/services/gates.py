"""Per-process gates for the writers of one slot (issue 15: a rush on one slot).

Writers of one slot take its lock in the database one after another, whatever this
module does. A gate bounds how many of this process's bookings and holds for one
slot, of the kind whose refusals are kept (services.refusals), are past the event
loop at once: one. The others wait here as tasks on the event loop (no worker
thread, no pooled connection, no polling) until the gate is handed to them, oldest
first (a request that comes later never passes first), or until a refusal is kept
for that slot (services.refusals): each then looks for it under the ledger version
a fresh read probe reads (one batched statement on the event loop) and, when it
applies, is answered without ever taking a thread.
Without gates, a hundred requests for one slot would each hold a thread and a
connection, poll the database between waits, and starve of CPU the one writer that
holds the lock, which every other request is waiting for.

A gate only throttles: it protects nothing (the database decides every booking),
and a request that cannot pass within its patience goes on without it.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

PATIENCE = 2.0  # seconds a request waits at a gate, then goes on without it


@dataclass(slots=True)
class _Gate:
    busy: bool = False
    kept: int = 0  # refusals kept for this slot while requests waited here
    users: int = 0  # requests holding or waiting at this gate
    # in the order they began waiting: the oldest is handed the gate (True); a refusal
    # kept wakes them all to look (False)
    waiters: dict[asyncio.Future[bool], None] = field(default_factory=dict)

    def wake(self) -> None:
        for waiter in list(self.waiters):
            if not waiter.done():
                waiter.set_result(False)


class Gates:
    """The gates of one event loop (touched only from that loop's thread)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._gates: dict[Hashable, _Gate] = {}

    @asynccontextmanager
    async def passage(
        self, key: Hashable, look: Callable[[], Awaitable[None]] | None, patience: float = PATIENCE
    ) -> AsyncIterator[None]:
        """Hold `key`'s gate for the body, or pass without it once `patience` ran out.
        While waiting, each refusal kept for `key` calls `look`, which may raise it."""
        gate = self._gates.setdefault(key, _Gate())
        gate.users += 1
        held = False
        try:
            deadline = self.loop.time() + patience
            while gate.busy and (remaining := deadline - self.loop.time()) > 0:
                seen = gate.kept
                waiter: asyncio.Future[bool] = self.loop.create_future()
                gate.waiters[waiter] = None
                try:
                    held = await asyncio.wait_for(waiter, remaining)
                except TimeoutError:
                    pass
                except BaseException:
                    if waiter.done() and not waiter.cancelled() and waiter.result():
                        self._release(gate)  # handed the gate as this request was cancelled: pass it on
                    raise
                finally:
                    gate.waiters.pop(waiter, None)
                if held:
                    break  # handed the gate by the request before it
                if gate.kept != seen and look is not None:
                    await look()
            if not gate.busy:
                gate.busy = held = True
            yield
        finally:
            gate.users -= 1
            if held:
                self._release(gate)
            if gate.users == 0:
                self._gates.pop(key, None)

    @staticmethod
    def _release(gate: _Gate) -> None:
        """Hand the gate to its oldest waiter (no request that came later can pass
        first), or leave it free."""
        for waiter in gate.waiters:
            if not waiter.done():
                waiter.set_result(True)
                return
        gate.busy = False

    def refusal_kept(self, key: Hashable) -> None:
        gate = self._gates.get(key)
        if gate is not None:  # counted even between two waits of a waiter, which then looks
            gate.kept += 1
            gate.wake()


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Gates] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def gates() -> Gates:
    """The running event loop's gates."""
    loop = asyncio.get_running_loop()
    with _lock:
        found = _by_loop.get(loop)
        if found is None:
            found = _by_loop[loop] = Gates(loop)
        return found


def refusal_kept(key: Hashable) -> None:
    """From any thread: wake the requests waiting at `key`'s gates to look for the
    refusal just kept (services.refusals)."""
    with _lock:
        every = list(_by_loop.values())
    for found in every:
        try:
            found.loop.call_soon_threadsafe(found.refusal_kept, key)
        except RuntimeError:  # that loop is closed: nothing waits there
            continue
