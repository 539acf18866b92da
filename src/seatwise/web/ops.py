"""The ops dashboard (`/ops`): sign-in, timeline, floor plan, venue editor, summary."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/ops", include_in_schema=False)
