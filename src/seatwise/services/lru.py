"""A thread-safe map of at most `max_size` entries, least recently used evicted
first: the one mechanism under the per-process caches (venue snapshots, availability
answers, kept refusals). One lock guards the order and the entries, never held
during I/O: the event loop reads, worker threads fill."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Lru(Generic[K, V]):
    def __init__(self, max_size: int) -> None:
        if max_size < 1:
            raise ValueError("a cache holds at least one entry")
        self.max_size = max_size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, usable: Callable[[V], bool], *, drop_unusable: bool = False) -> V | None:
        """The entry of `key` when `usable` says so, marked as recently used; an
        unusable one is left alone, or dropped with `drop_unusable`."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if not usable(found):
                if drop_unusable:
                    del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return found

    def put(self, key: K, value: V, *, unless: Callable[[V], bool] | None = None) -> None:
        """Keep `value` under `key`, unless the entry kept there already satisfies
        `unless` (a slow writer must not put back an older value)."""
        with self._lock:
            kept = self._entries.get(key)
            if kept is not None and unless is not None and unless(kept):
                return
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def keys(self) -> list[K]:
        """The keys, least recently used first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
