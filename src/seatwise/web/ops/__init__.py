"""The ops dashboard (`/ops`): sign-in, timeline, floor plan, venue editor, summary,
keys. Pages parse, authorize with services.auth, call the services and render."""

from __future__ import annotations

from datetime import datetime, timedelta

from seatwise.services.dashboard import Bar, DayBoard
from seatwise.web.templating import templates


def pct(board: DayBoard, instant: datetime) -> float:
    """Where an instant falls on the board's time axis, in percent (clipped)."""
    total = (board.axis_end - board.axis_start).total_seconds() or 1.0
    return round(min(100.0, max(0.0, (instant - board.axis_start).total_seconds() / total * 100)), 3)


def hours(board: DayBoard) -> list[datetime]:
    first = board.axis_start.replace(minute=0, second=0, microsecond=0)
    if first < board.axis_start:
        first += timedelta(hours=1)
    out = []
    while first <= board.axis_end:
        out.append(first)
        first += timedelta(hours=1)
    return out


def countdown(board: DayBoard, bar: Bar) -> str:
    if bar.expires_at is None:
        return ""
    left = max(0, int((bar.expires_at - board.now).total_seconds()))
    return f"{left // 60}:{left % 60:02d}"


templates.env.globals.update(pct=pct, hours=hours, countdown=countdown)

from seatwise.web.ops import floor, keys, signin, timeline, venue  # noqa: E402 - the pages register on the router
from seatwise.web.ops.common import router  # noqa: E402

__all__ = ["floor", "keys", "router", "signin", "timeline", "venue"]
