"""Seating imported bookings (DESIGN §12), a pure function of the venue and ledger.

Rows that name tables are placed on them when the tables are free and fit the
party (the slack budget is waived: the old system seated them so); rows without
tables are planned, largest parties first; a row that can be neither is left
unassigned, with the reason. Rows are seated one service date at a time on that
date's part of the ledger, each on what the rows before it left, after the claims
of unassigned bookings already stored (they are older).

Invariant: a seating never overlaps the ledger, another seating, or a claim placed
before it; the result does not depend on the order of dates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from seatwise.core.assignment import check_assignment
from seatwise.core.claims import with_claims
from seatwise.core.errors import ValidationFailed
from seatwise.core.model import Busy, DayLedger, Venue
from seatwise.core.planner import best_plan


@dataclass(frozen=True, slots=True)
class ImportRow:
    """A valid row that occupies tables (pending, confirmed or seated)."""

    key: int  # the row's position in the file
    party_size: int
    labels: tuple[str, ...]  # the tables it names; empty: plan it
    block_start: datetime
    block_end: datetime
    service_date: date


@dataclass(frozen=True, slots=True)
class Seating:
    outcome: str  # placed | planned | unassigned
    table_ids: tuple[int, ...] = ()
    reason: str | None = None  # unassigned: why


def seat_rows(venue: Venue, ledger: DayLedger, rows: Sequence[ImportRow], now: datetime) -> dict[int, Seating]:
    """The seating of every row, by key. `ledger` must cover every row's block."""
    by_date: dict[date, list[ImportRow]] = defaultdict(list)
    for row in rows:
        by_date[row.service_date].append(row)
    taken: dict[int, list[Busy]] = {t: list(v) for t, v in ledger.busy.items()}  # grows with every seating
    out: dict[int, Seating] = {}
    for on in sorted(by_date):
        todo = by_date[on]
        lo, hi = min(r.block_start for r in todo), max(r.block_end for r in todo)
        part = DayLedger(
            busy={t: tuple(b for b in v if b.start < hi and b.end > lo) for t, v in taken.items()},
            claims=tuple(c for c in ledger.claims if c.start < hi and c.end > lo),
        )
        part, _ = with_claims(venue, part, now)
        busy = dict(part.busy)
        for row in (r for r in todo if r.labels):  # file order
            reason = _named_refusal(venue, row, DayLedger(busy=busy), now)
            if reason is not None:
                out[row.key] = Seating("unassigned", reason=reason)
                continue
            ids = tuple(sorted(venue.table_by_label[x].id for x in row.labels))
            out[row.key] = _seat(row, ids, "placed", busy, taken)
        for row in sorted((r for r in todo if not r.labels), key=lambda r: (-r.party_size, r.key)):
            plan = best_plan(venue, row.party_size, row.block_start, row.block_end, DayLedger(busy=busy), now)
            if plan is None:
                out[row.key] = Seating("unassigned", reason="no table can take this party at that time")
                continue
            out[row.key] = _seat(row, plan.table_ids, "planned", busy, taken)
    return out


def _seat(
    row: ImportRow,
    table_ids: tuple[int, ...],
    outcome: str,
    busy: dict[int, tuple[Busy, ...]],
    taken: dict[int, list[Busy]],
) -> Seating:
    """Mark the row's tables busy on the date's ledger and the whole import's."""
    mark = Busy(row.block_start, row.block_end, "booking", f"import:{row.key}")
    for t in table_ids:
        busy[t] = (*busy.get(t, ()), mark)
        taken.setdefault(t, []).append(mark)
    return Seating(outcome, table_ids)


def _named_refusal(venue: Venue, row: ImportRow, ledger: DayLedger, now: datetime) -> str | None:
    """Why the row's own tables cannot take it, or None."""
    try:
        checks = check_assignment(
            venue, row.party_size, row.labels, row.block_start, row.block_end, ledger, now, allow_slack=True
        )
    except ValidationFailed as exc:  # unknown or repeated labels
        return exc.detail
    failed = [c for c in checks if not c.ok]
    return None if not failed else "; ".join(f"{c.check}: {c.message}" for c in failed)
