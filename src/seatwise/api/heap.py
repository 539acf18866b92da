"""The API worker's heap and Python's garbage collector.

A worker starts with about 190,000 objects the collector tracks (the modules, the app,
its routes, models and schemas) that live as long as the process. A full collection
(generation 2) walks every tracked object: on the 2-core machine of the benchmarks it
paused a worker for 100-300 ms, and every request in flight on that worker waited for
it (it was the stall that turned a race for one slot from about 200 ms into 400-550
ms). Python runs one whenever the long-lived objects have grown by a quarter, so it
kept coming back while the worker's caches filled.

`freeze_startup_heap` moves what is alive once the app is built into the collector's
permanent generation (`gc.freeze`): later collections walk only what came after, and
garbage is collected as before. Only the server's worker factory calls it (never the
tests' in-process apps, whose heaps are the test run's). `watch_full_collections`
times every full collection that still happens, for `/metrics`.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from seatwise import telemetry


def freeze_startup_heap() -> int:
    """Collect what is garbage now, then freeze everything alive; returns how many
    objects were frozen (also `seatwise_gc_frozen_objects`)."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    telemetry.GC_FROZEN_OBJECTS.set(frozen)
    return frozen


class _FullCollections:
    """A `gc.callbacks` entry timing generation-2 collections only."""

    def __init__(self) -> None:
        self.started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self.started = time.perf_counter()
        else:
            telemetry.GC_FULL_COLLECTION_SECONDS.observe(time.perf_counter() - self.started)


def watch_full_collections() -> None:
    """Time every full collection of this process into
    `seatwise_gc_full_collection_seconds` (once per process, however often called)."""
    if not any(isinstance(cb, _FullCollections) for cb in gc.callbacks):
        gc.callbacks.append(_FullCollections())
