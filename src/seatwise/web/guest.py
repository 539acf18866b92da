"""The public guest booking page (`/book/{slug}`)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/book", include_in_schema=False)
