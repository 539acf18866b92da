"""ASGI entry point: `uvicorn --factory seatwise.api.main:app_from_env`."""

from __future__ import annotations

import os

from fastapi import FastAPI

from seatwise import runtime
from seatwise.api.app import create_app
from seatwise.config import load_settings


def app_from_env() -> FastAPI:
    pool = int(os.environ.get("SEATWISE_POOL_SIZE", "20"))
    return create_app(runtime.start(load_settings(), pool_size=pool))
