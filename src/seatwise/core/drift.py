"""Policy drift (DESIGN §12): is a hold still valid on the venue as it is now?

A hold is planned on one venue version. When the venue or policy changed before the
confirm, the held tables and window are checked again: the window is redrawn under
the current policy (:func:`redrawn_window`), and the held tables are checked over it
(:func:`table_drift`). Each failure is a :class:`Drift` with a stable `reason`:

- ``table_removed``: a held table is no longer in the venue;
- ``table_inactive``: a held table was taken out of use;
- ``closure``: the hold's service date is now closed;
- ``service``: no service takes the start any more (hours, last seating, overrun);
- ``party_size``: the party is now outside the table's range or the policy's limit;
- ``adjacency``: the combination no longer satisfies the zone, movable or adjacency rules;
- ``slack``: the tables now waste more seats than the slack budget;
- ``turn_overlap``: the redrawn window (a longer turn, a larger buffer) overlaps
  another booking, hold or block on a held table.

No drift means the hold confirms as usual, on its redrawn window. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from seatwise.core.assignment import check_assignment
from seatwise.core.errors import OutsideServiceHours, ServiceOverrun, ValidationFailed
from seatwise.core.model import DayLedger, Venue
from seatwise.core.timerules import BookingWindow, booking_window


@dataclass(frozen=True, slots=True)
class Drift:
    reason: str
    message: str


# The check of core.assignment that fails -> the drift it means.
_DRIFT_OF_CHECK = {
    "capacity": "party_size",
    "zone": "adjacency",
    "movable": "adjacency",
    "adjacency": "adjacency",
    "slack": "slack",
    "conflict": "turn_overlap",
    "hold": "turn_overlap",
}


def redrawn_window(
    venue: Venue, party: int, start: datetime, service_date: date
) -> tuple[BookingWindow | None, list[Drift]]:
    """The hold's window under the current policy, or why there is none."""
    drifts = []
    if not 1 <= party <= venue.policy.max_party_size:
        drifts.append(Drift("party_size", f"parties are now limited to {venue.policy.max_party_size}"))
    if service_date in venue.policy.closures:
        return None, [*drifts, Drift("closure", f"{service_date.isoformat()} is now closed")]
    try:
        return booking_window(venue, party, start), drifts
    except (OutsideServiceHours, ServiceOverrun) as exc:
        return None, [*drifts, Drift("service", exc.detail)]


def missing_tables(venue: Venue, table_ids: Sequence[int]) -> list[Drift]:
    """Held tables removed from the venue or taken out of use."""
    drifts = []
    for table_id in sorted(table_ids):
        table = venue.table_by_id.get(table_id)
        if table is None:
            drifts.append(Drift("table_removed", "a held table was removed from the venue"))
        elif not table.active:
            drifts.append(Drift("table_inactive", f"{table.label} was taken out of use"))
    return drifts


def table_drift(
    venue: Venue,
    party: int,
    table_ids: Sequence[int],
    window: BookingWindow,
    ledger: DayLedger,
    now: datetime,
    *,
    hold_id: str,
) -> list[Drift]:
    """Every check the held tables now fail over `window` (the hold's own rows
    ignored). The tables must all be in the venue and active (see :func:`missing_tables`)."""
    labels = [venue.table_by_id[t].label for t in table_ids]
    try:
        checks = check_assignment(
            venue, party, labels, window.block_start, window.block_end, ledger, now, ignore_ref=hold_id
        )
    except ValidationFailed as exc:  # unreachable for tables of the venue; stated, not assumed
        return [Drift("table_removed", exc.detail)]
    return [Drift(_DRIFT_OF_CHECK[c.check], c.message) for c in checks if not c.ok]
