"""api.heap: a worker's startup heap is frozen out of full collections, and every
full collection that still happens is timed for /metrics."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from seatwise import telemetry
from seatwise.api import heap


def _sample(name: str) -> float:
    value = telemetry.REGISTRY.get_sample_value(name)
    assert value is not None, name
    return value


@pytest.fixture
def watched() -> Iterator[None]:
    before = list(gc.callbacks)
    yield
    gc.callbacks[:] = before  # the test process's collector as it was


@pytest.mark.usefixtures("watched")
def test_full_collections_are_timed_once_per_process() -> None:
    heap.watch_full_collections()
    heap.watch_full_collections()  # a second call adds no second timer
    assert sum(isinstance(cb, heap._FullCollections) for cb in gc.callbacks) == 1
    count, total = (
        _sample("seatwise_gc_full_collection_seconds_count"),
        _sample("seatwise_gc_full_collection_seconds_sum"),
    )
    gc.collect(0)  # a young collection is not timed
    assert _sample("seatwise_gc_full_collection_seconds_count") == count
    gc.collect()  # a full one is
    assert _sample("seatwise_gc_full_collection_seconds_count") == count + 1
    assert _sample("seatwise_gc_full_collection_seconds_sum") > total


def test_the_startup_heap_is_frozen_and_garbage_still_collected() -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    before = weakref.ref(Cycle())  # garbage before the freeze: collected first, not kept forever
    try:
        frozen = heap.freeze_startup_heap()
        assert before() is None
        assert frozen > 10_000  # the test run's modules at least
        assert _sample("seatwise_gc_frozen_objects") == frozen
        # Other threads of the test run may free frozen objects meanwhile (reference
        # counting frees them as ever), so the count can only have gone down.
        assert gc.get_freeze_count() <= frozen
        # Garbage made after the freeze is collected as before, and a collection
        # never adds to the frozen objects.
        after = weakref.ref(Cycle())
        assert after() is not None
        gc.collect()
        assert after() is None
        assert gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
