"""In-process turns for waiting on a slot's lock (issue 15: a rush on one slot).

Writers of one slot take its lock one after another in the database, whatever this
module does. What it bounds is how many threads of this process wait for that lock
at once: one. The others sleep here, without the database and without the
interpreter lock, until the waiting thread's turn ends (it took the lock, or its
patience ran out) or until a refusal is kept for that slot (services.refusals),
which may answer them all. Without this, a hundred waiters of one slot would each
poll the database between patient waits, and their polling would slow the one
writer that holds the lock: every other request's wait.

A turn is only a throttle: it protects nothing, and a thread that cannot get one
within its patience goes on without it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable

KEYS_REMEMBERED = 1024  # slots whose kept refusals are counted (a forgotten one reads as changed)


class Turns:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._taken: set[Hashable] = set()
        self._kept: OrderedDict[Hashable, int] = OrderedDict()  # refusals kept per slot

    def kept(self, key: Hashable) -> int:
        with self._cond:
            return self._kept.get(key, 0)

    def take(self, key: Hashable, patience: float, *, kept_since: int) -> bool:
        """Wait up to `patience` seconds for `key`'s turn: True when taken (give it
        back with `give_back`); False when the patience ran out or a refusal was
        kept for `key` after `kept_since` (the caller looks for it)."""
        deadline = time.monotonic() + patience
        with self._cond:
            while key in self._taken:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._kept.get(key, 0) != kept_since:
                    return False
                self._cond.wait(remaining)
            self._taken.add(key)
            return True

    def give_back(self, key: Hashable) -> None:
        with self._cond:
            self._taken.discard(key)
            self._cond.notify_all()

    def refusal_kept(self, key: Hashable) -> None:
        with self._cond:
            self._kept[key] = self._kept.get(key, 0) + 1
            self._kept.move_to_end(key)
            while len(self._kept) > KEYS_REMEMBERED:
                self._kept.popitem(last=False)
            self._cond.notify_all()


turns = Turns()
