"""Checks for a staff-chosen table set (manual assignment, DESIGN §5).

:func:`check_assignment` reports every check, in a fixed order, whether it passes
or not: capacity, slack, zone, movable, adjacency, conflict, hold. The caller
decides what to refuse and with which code; nothing here raises for a failed check,
only for a malformed request (unknown or repeated labels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from seatwise.core.adjacency import component, satisfies
from seatwise.core.errors import ValidationFailed
from seatwise.core.model import AdjacencyMode, DayLedger, Table, Venue
from seatwise.core.venue_index import VenueIndex, bits_of, label_key, venue_index

CHECKS = ("capacity", "slack", "zone", "movable", "adjacency", "conflict", "hold")


@dataclass(frozen=True, slots=True)
class Check:
    check: str  # one of CHECKS
    ok: bool
    message: str


def tables_named(venue: Venue, labels: Sequence[str]) -> list[Table]:
    """The venue's tables with these labels, in the given order. An empty list,
    a label given twice or unknown labels (all of them listed) raise ValidationFailed."""
    if not labels:
        raise ValidationFailed("choose at least one table")
    repeated = sorted({x for x in labels if list(labels).count(x) > 1}, key=label_key)
    if repeated:
        raise ValidationFailed(f"tables listed twice: {', '.join(repeated)}", labels=repeated)
    unknown = sorted((x for x in labels if x not in venue.table_by_label), key=label_key)
    if unknown:
        raise ValidationFailed(f"unknown tables: {', '.join(unknown)}", labels=unknown)
    return [venue.table_by_label[x] for x in labels]


def _names(tables: Sequence[Table]) -> str:
    return ", ".join(t.label for t in sorted(tables, key=lambda t: label_key(t.label)))


def _capacity(tables: list[Table], party: int) -> Check:
    inactive = [t for t in tables if not t.active]
    if inactive:
        return Check("capacity", False, f"out of service: {_names(inactive)}")
    seats = sum(t.seats for t in tables)
    if len(tables) == 1:
        t = tables[0]
        if not t.min_party <= party <= t.max_party:
            takes = f"{t.min_party}-{t.max_party}"
            return Check("capacity", False, f"{t.label} takes parties of {takes}, not {party}")
        return Check("capacity", True, f"{t.label} takes a party of {party}")
    if seats < party:
        return Check("capacity", False, f"{seats} seats for a party of {party}")
    return Check("capacity", True, f"{seats} seats for a party of {party}")


def _slack(tables: list[Table], party: int, budget: int, allow_slack: bool) -> Check:
    over = sum(t.seats for t in tables) - party
    if over <= budget:
        return Check("slack", True, f"{max(over, 0)} spare seats (budget {budget})")
    if allow_slack:
        return Check("slack", True, f"{over} spare seats exceed the budget of {budget}, allowed")
    return Check("slack", False, f"{over} spare seats exceed the budget of {budget}")


def _zone(tables: list[Table]) -> Check:
    zones = sorted({t.zone for t in tables})
    if len(zones) == 1:
        return Check("zone", True, f"all in {zones[0]}")
    return Check("zone", False, f"tables span zones {', '.join(zones)}")


def _movable(tables: list[Table]) -> Check:
    fixed = [t for t in tables if not t.movable]
    if len(tables) == 1 or not fixed:
        return Check("movable", True, "single table" if len(tables) == 1 else "all movable")
    return Check("movable", False, f"not movable: {_names(fixed)}")


def _adjacency(index: VenueIndex, mode: AdjacencyMode, mask: int) -> Check:
    if mask.bit_count() == 1:
        return Check("adjacency", True, "single table")
    if satisfies(mode, mask, index.nbr):
        return Check("adjacency", True, f"{mode.value}: satisfied")
    nbr = index.nbr
    if mode is AdjacencyMode.CONNECTED:
        # Keep the largest component (lowest bits on ties); name the rest.
        best = 0
        rest = mask
        while rest:
            part = component(mask, (rest & -rest).bit_length() - 1, nbr)
            if part.bit_count() > best.bit_count():
                best = part
            rest &= ~part
        apart = index.labels(mask & ~best)
        return Check("adjacency", False, f"connected: {', '.join(apart)} not joined to the others")
    if mode is AdjacencyMode.PAIRWISE:
        pairs = [
            f"{index.tables[a].label}-{index.tables[b].label}"
            for a in bits_of(mask)
            for b in bits_of(mask & ~((2 << a) - 1))
            if not nbr[a] >> b & 1
        ]
        return Check("adjacency", False, f"pairwise: not adjacent {', '.join(pairs)}")
    # neighbors: the table touching the most others, and which it misses.
    hub = max(bits_of(mask), key=lambda i: ((nbr[i] & mask).bit_count(), -i))
    missed = ", ".join(index.labels(mask & ~nbr[hub] & ~(1 << hub)))
    best_hub = index.tables[hub].label
    return Check("adjacency", False, f"neighbors: no table touches all others ({best_hub} misses {missed})")


def _ledger_checks(
    tables: list[Table],
    ledger: DayLedger,
    now: datetime,
    block_start: datetime,
    block_end: datetime,
    ignore_ref: str | None,
) -> tuple[Check, Check]:
    conflicts: list[str] = []
    holds: list[str] = []
    for t in sorted(tables, key=lambda t: label_key(t.label)):
        rows = sorted(ledger.busy.get(t.id, ()), key=lambda r: (r.start, r.kind, r.ref))
        for r in rows:
            if not (r.start < block_end and r.end > block_start and r.live(now)):
                continue
            if ignore_ref is not None and r.ref == ignore_ref:
                continue
            (holds if r.kind == "hold" else conflicts).append(f"{t.label}: {r.kind} {r.ref}")
    conflict = (
        Check("conflict", False, "overlaps " + "; ".join(conflicts))
        if conflicts
        else Check("conflict", True, "no overlapping booking or block")
    )
    hold = (
        Check("hold", False, "held: " + "; ".join(holds)) if holds else Check("hold", True, "no overlapping live hold")
    )
    return conflict, hold


def check_assignment(
    venue: Venue,
    party: int,
    labels: Sequence[str],
    block_start: datetime,
    block_end: datetime,
    ledger: DayLedger,
    now: datetime,
    *,
    allow_slack: bool = False,
    ignore_ref: str | None = None,
) -> tuple[Check, ...]:
    """Every check of assigning the tables `labels` to `party` over the block.

    A single table is checked against its own ``min_party..max_party`` (capacity)
    and is trivially movable and adjacent; a combination against its total seats.
    `allow_slack` lets overage beyond the budget pass. Ledger rows whose ref is
    `ignore_ref` (the booking being moved) do not conflict; expired holds never do.
    Raises ValidationFailed for an empty set, repeated labels or unknown labels
    (all unknown ones are listed).
    """
    tables = tables_named(venue, labels)
    index = venue_index(venue)
    mask = 0
    for t in tables:
        mask |= 1 << index.bit_of[t.id]
    conflict, hold = _ledger_checks(tables, ledger, now, block_start, block_end, ignore_ref)
    return (
        _capacity(tables, party),
        _slack(tables, party, venue.policy.max_overage, allow_slack),
        _zone(tables),
        _movable(tables),
        _adjacency(index, venue.policy.adjacency_mode, mask),
        conflict,
        hold,
    )
