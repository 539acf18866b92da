"""Mount the web shells and their static files on the API's application."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    from seatwise.web import guest, ops

    app.include_router(ops.router)
    app.include_router(guest.router)
    app.add_middleware(guest.GuestSecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
