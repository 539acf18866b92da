"""ASGI entry point: `uvicorn --factory seatwise.api.main:app_from_env`."""

from __future__ import annotations

from fastapi import FastAPI

from seatwise import runtime
from seatwise.api.app import create_app
from seatwise.api.heap import freeze_startup_heap, watch_full_collections
from seatwise.config import load_settings


def app_from_env() -> FastAPI:
    """One worker's app. What it built lives as long as the worker: frozen out of
    the garbage collector's full collections (api.heap), which are timed."""
    settings = load_settings()
    app = create_app(runtime.start(settings, pool_size=settings.pool_size))
    freeze_startup_heap()
    watch_full_collections()
    return app
