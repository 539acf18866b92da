"""Which tables a day ledger occupies over a block, as bitmasks.

A ledger row occupies its table over ``[start, end)`` while it is live at `now`
(a hold stops occupying at its `expires_at`). A table is busy for a block
``[block_start, block_end)`` when a live row overlaps it; touching does not count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise
from operator import itemgetter

from seatwise.core.model import DayLedger
from seatwise.core.venue_index import VenueIndex

Row = tuple[datetime, datetime, int]  # (start, end, table bit) of a live ledger row


def live_rows(index: VenueIndex, ledger: DayLedger, now: datetime) -> list[Row]:
    """The ledger's live, non-empty rows on tables of the venue."""
    out: list[Row] = []
    for table_id, rows in ledger.busy.items():
        bit = index.bit_of.get(table_id)
        if bit is None:
            continue
        out.extend((r.start, r.end, bit) for r in rows if r.start < r.end and r.live(now))
    return out


def busy_mask(
    index: VenueIndex,
    ledger: DayLedger,
    now: datetime,
    block_start: datetime,
    block_end: datetime,
    *,
    ignore_ref: str | None = None,
) -> int:
    """Tables with a live row overlapping ``[block_start, block_end)``.

    Rows whose `ref` equals `ignore_ref` (the booking being moved) are skipped.
    """
    mask = 0
    for table_id, rows in ledger.busy.items():
        bit = index.bit_of.get(table_id)
        if bit is None:
            continue
        for r in rows:
            if r.start < block_end and r.end > block_start and r.live(now) and r.ref != ignore_ref:
                mask |= 1 << bit
                break
    return mask


def busy_masks(rows: Sequence[Row], windows: Sequence[tuple[datetime, datetime]]) -> list[int]:
    """Busy mask of each window, from pre-filtered live `rows`.

    When both window ends are non-decreasing (the slots of one service) this is a
    single sweep, O(rows log rows + windows): a row enters once its start is before
    the window's end and leaves once its end is at or before the window's start.
    Otherwise each window is checked directly.
    """
    monotone = all(a[0] <= b[0] and a[1] <= b[1] for a, b in pairwise(windows)) and all(s < e for s, e in windows)
    if not monotone:
        return [_direct(rows, s, e) for s, e in windows]
    by_start = sorted(rows, key=itemgetter(0))
    by_end = sorted(rows, key=itemgetter(1))
    counts: dict[int, int] = {}
    mask = 0
    i = j = 0
    out: list[int] = []
    for block_start, block_end in windows:
        while i < len(by_start) and by_start[i][0] < block_end:
            bit = by_start[i][2]
            counts[bit] = counts.get(bit, 0) + 1
            mask |= 1 << bit
            i += 1
        # A row leaving has end <= block_start < block_end, so it already entered.
        while j < len(by_end) and by_end[j][1] <= block_start:
            bit = by_end[j][2]
            counts[bit] -= 1
            if counts[bit] == 0:
                mask &= ~(1 << bit)
            j += 1
        out.append(mask)
    return out


def _direct(rows: Sequence[Row], block_start: datetime, block_end: datetime) -> int:
    mask = 0
    for start, end, bit in rows:
        if start < block_end and end > block_start:
            mask |= 1 << bit
    return mask
