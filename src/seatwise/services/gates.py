"""Per-process gates for the writers of one slot (issue 15: a rush on one slot).

Writers of one slot take its lock in the database one after another, whatever this
module does. A gate bounds how many of this process's bookings and holds for one
slot, of the kind whose refusals are kept (services.refusals), are past the event
loop at once: one. The others wait here as tasks on the
event loop (no worker thread, no pooled connection, no polling) until the gate is
free, or until a refusal is kept for that slot (services.refusals): each then looks
for it under the ledger version a fresh read probe reads (one batched statement on
the event loop) and, when it applies, is answered without ever taking a thread.
Without gates, a hundred requests for one slot would each hold a thread and a
connection, poll the database between waits, and starve of CPU the one writer that
holds the lock, which every other request is waiting for.

A request may come with a `Ticket` (a direct booking does): the request that next
holds the gate may then carry it, with up to `carry` others queued before it, and run
them all with its own in one transaction (services.batches), so the writers of a
rushed slot share one lock wait and one commit instead of queueing one by one. Only a
ticket waiting at the gate is taken, never one that is looking for a kept refusal, so a
request is answered either by its looking or by its carrier, never both.

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
from typing import Any

PATIENCE = 2.0  # seconds a request waits at a gate, then goes on without it


@dataclass(eq=False, slots=True)
class Ticket:
    """A request at a gate that its holder may carry (`job`: what to run for it).
    Once taken, `outcome` is the future the carrier sets with the request's answer."""

    job: Any
    outcome: asyncio.Future[Any] | None = None
    looking: bool = False  # looking for a kept refusal (then never taken)
    _waiting: asyncio.Future[None] | None = None  # what its waiting awaits, to wake it

    @property
    def taken(self) -> bool:
        return self.outcome is not None


@dataclass(slots=True)
class _Gate:
    busy: bool = False
    kept: int = 0  # refusals kept for this slot while requests waited here
    users: int = 0  # requests holding or waiting at this gate
    waiters: set[asyncio.Future[None]] = field(default_factory=set)
    queue: list[Ticket] = field(default_factory=list)  # tickets waiting here, oldest first

    def wake(self) -> None:
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(None)


class Gates:
    """The gates of one event loop (touched only from that loop's thread)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._gates: dict[Hashable, _Gate] = {}

    @asynccontextmanager
    async def passage(
        self,
        key: Hashable,
        look: Callable[[], Awaitable[None]] | None,
        patience: float = PATIENCE,
        *,
        ticket: Ticket | None = None,
        carry: int = 0,
    ) -> AsyncIterator[list[Ticket]]:
        """Hold `key`'s gate for the body, or pass without it once `patience` ran out.
        While waiting, each refusal kept for `key` calls `look`, which may raise it.

        The body gets the tickets its request carries: with `carry`, up to that many
        idle ones queued here (oldest first), taken only by a request holding the
        gate; it must set each one's `outcome`. A request whose `ticket` was taken
        meanwhile does not hold the gate: its body finds `ticket.taken` and awaits
        `ticket.outcome`."""
        gate = self._gates.setdefault(key, _Gate())
        gate.users += 1
        held = False
        try:
            deadline = self.loop.time() + patience
            if ticket is not None:
                gate.queue.append(ticket)
            try:
                while gate.busy and (remaining := deadline - self.loop.time()) > 0:
                    seen = gate.kept
                    waiter = self.loop.create_future()
                    gate.waiters.add(waiter)
                    if ticket is not None:
                        ticket._waiting = waiter
                    try:
                        await asyncio.wait_for(waiter, remaining)
                    except TimeoutError:
                        pass
                    finally:
                        gate.waiters.discard(waiter)
                        if ticket is not None:
                            ticket._waiting = None
                    if ticket is not None and ticket.taken:
                        break
                    if gate.kept != seen and look is not None:
                        if ticket is not None:
                            ticket.looking = True
                        try:
                            await look()
                        finally:
                            if ticket is not None:
                                ticket.looking = False
            finally:
                if ticket is not None and not ticket.taken:
                    gate.queue.remove(ticket)
            if ticket is not None and ticket.taken:
                yield []
                return
            if not gate.busy:
                gate.busy = held = True
            yield self._take(gate, carry) if held else []
        finally:
            gate.users -= 1
            if held:
                gate.busy = False
                gate.wake()
            if gate.users == 0:
                self._gates.pop(key, None)

    def _take(self, gate: _Gate, carry: int) -> list[Ticket]:
        """Up to `carry` tickets queued at `gate` and not looking, oldest first, each
        taken (and its waiting woken, to await its outcome)."""
        taken: list[Ticket] = []
        for ticket in list(gate.queue):
            if len(taken) == carry:
                break
            if ticket.looking:
                continue
            gate.queue.remove(ticket)
            ticket.outcome = self.loop.create_future()
            if ticket._waiting is not None and not ticket._waiting.done():
                ticket._waiting.set_result(None)
            taken.append(ticket)
        return taken

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
