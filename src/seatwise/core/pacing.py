"""Pacing math: limits on covers and parties starting in one slot.

A limit of None is no limit. A party fits when, counted in, neither the slot's
covers nor its parties exceed their limits.
"""

from __future__ import annotations

from typing import TypedDict

from seatwise.core.model import Pacing, PacingUsage


class CapacitySummary(TypedDict):
    max_covers: int | None  # None: unlimited
    booked_covers: int
    utilization_percent: float  # 0 when unlimited, rounded to 1 decimal


def pacing_allows(pacing: Pacing | None, usage: PacingUsage, party: int) -> bool:
    """Whether one more party of `party` covers may start in the slot."""
    if pacing is None:
        return True
    if pacing.max_covers_per_slot is not None and usage.covers + party > pacing.max_covers_per_slot:
        return False
    return not (pacing.max_parties_per_slot is not None and usage.parties + 1 > pacing.max_parties_per_slot)


def capacity_summary(pacing: Pacing | None, usage: PacingUsage) -> CapacitySummary:
    """Covers booked in a slot against its cover limit (a full zero limit reads 100%)."""
    limit = None if pacing is None else pacing.max_covers_per_slot
    if limit is None:
        percent = 0.0
    elif limit <= 0:
        percent = 100.0
    else:
        percent = round(100 * usage.covers / limit, 1)
    return {"max_covers": limit, "booked_covers": usage.covers, "utilization_percent": percent}
