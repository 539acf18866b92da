"""ASGI entry point: `uvicorn --factory seatwise.api.main:app_from_env`."""

from __future__ import annotations

from fastapi import FastAPI

from seatwise import runtime
from seatwise.api.app import create_app
from seatwise.config import load_settings


def app_from_env() -> FastAPI:
    settings = load_settings()
    return create_app(runtime.start(settings, pool_size=settings.pool_size))
