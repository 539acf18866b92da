"""The table planner (DESIGN §4): which tables can seat a party over a block.

A plan is one table or a combination of 2..k tables that are all free over the
whole block ``[block_start, block_end)`` (half-open; only rows live at `now` count).

* Singles: active tables with ``min_party <= party <= max_party`` and
  ``seats - party <= max_overage``. Tables without adjacency edges still seat as
  singles.
* Combinations: active movable tables of one zone, ``seats >= party`` and
  ``seats - party <= max_overage``, satisfying the policy's adjacency mode. A
  table's own ``min_party``/``max_party`` describe it *alone*, so they do not apply
  inside a combination: only the total seats count.

The enumeration is complete (see :mod:`seatwise.core.combinations`); nothing is cut
by time or count, so :attr:`PlanResult.truncated` is always False.

:func:`best_plan` and :func:`plan_exists_on` do not enumerate table sets: they
search over classes of identical tables (:class:`~seatwise.core.venue_index.ZoneClasses`)
by branch and bound on the ranking, which gives the same answer (the tests compare
it with brute force). Their work is bounded per venue: :func:`planning_work` counts
the nodes of the uncut search, every call visits a subset of them, and venue
documents whose count passes :data:`PLANNING_WORK_LIMIT` are refused.

Ranking (:func:`rank_key`), best first, deterministic and independent of the order
of tables and edges in the venue: least overage; fewest tables; highest priority
(sum of the tables' priorities: a table's own, else its zone's; default 0); least
look-ahead cost (with an :class:`~seatwise.core.outlook.Outlook` only: the expected
covers of later demand the plan's tables could no longer seat, see
:mod:`seatwise.core.outlook`; without one every plan costs 0); lowest scarcity
(sum over the plan's tables of ``seats / number of active tables of that size``,
so large and rare tables are kept free for the parties that need them); natural
label order of the tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from seatwise.core.assignment import Check, check_assignment
from seatwise.core.combinations import (
    Best,
    WorkExceeded,
    any_combination,
    best_combination,
    count_nodes,
    iter_combinations,
)
from seatwise.core.errors import ValidationFailed
from seatwise.core.model import DayLedger, Venue
from seatwise.core.occupancy import busy_mask
from seatwise.core.outlook import MILLI, Outlook, lookahead_costs
from seatwise.core.venue_index import VenueIndex, bits_of, venue_index

__all__ = [
    "Check",
    "Plan",
    "PlanResult",
    "best_plan",
    "check_assignment",
    "plan_exists_on",
    "plan_tables",
    "planning_problem",
    "planning_work",
    "rank_key",
]

PLANNING_WORK_LIMIT = 5_000
"""Most search nodes a venue's combinations may need (see :func:`planning_work`)."""

# (overage, number of tables, -priority, look-ahead cost, scarcity, table positions
# in natural label order)
RankKey = tuple[int, int, int, int, int, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Plan:
    """Tables for one party, in natural label order, all in `zone`."""

    table_ids: tuple[int, ...]
    labels: tuple[str, ...]
    zone: str
    seats: int
    overage: int
    reason: str


@dataclass(frozen=True, slots=True)
class PlanResult:
    """Every feasible plan, best first. `truncated` is always False: no limit cuts."""

    plans: tuple[Plan, ...]
    truncated: bool = False

    @property
    def best(self) -> Plan | None:
        return self.plans[0] if self.plans else None


Costs = tuple[int, ...] | None  # look-ahead cost per table bit; None: no outlook


def _mask_rank(index: VenueIndex, mask: int, party: int, cost: Costs = None) -> RankKey:
    # Bits are natural label order, so comparing bit tuples compares label lists.
    bits = tuple(bits_of(mask))
    seats = sum(index.seats[i] for i in bits)
    return (
        seats - party,
        len(bits),
        -sum(index.priority[i] for i in bits),
        sum(cost[i] for i in bits) if cost is not None else 0,
        sum(index.scarcity[i] for i in bits),
        bits,
    )


def rank_key(
    venue: Venue,
    party: int,
    table_ids: tuple[int, ...] | list[int],
    *,
    outlook: Outlook | None = None,
    ledger: DayLedger | None = None,
    block: tuple[datetime, datetime] | None = None,
    now: datetime | None = None,
) -> RankKey:
    """The ranking key of a table set (smaller is better); see the module docstring.

    With an `outlook`, the look-ahead part needs the `ledger`, `block` and `now` the
    plan is made for. Keys compare meaningfully only within one venue and one
    request (scarcity is scaled per venue, costs depend on the ledger).
    """
    index = venue_index(venue)
    mask = 0
    for table_id in table_ids:
        mask |= 1 << index.bit_of[table_id]
    cost: Costs = None
    if outlook is not None:
        if ledger is None or block is None or now is None:
            raise ValidationFailed("a look-ahead rank needs the ledger, block and now")
        cost = lookahead_costs(venue, index, outlook, ledger, now, block[0], block[1], mask)
    return _mask_rank(index, mask, party, cost)


def _plan(index: VenueIndex, mask: int, party: int, cost: Costs = None) -> Plan:
    bits = list(bits_of(mask))
    tables = [index.tables[i] for i in bits]
    seats = sum(t.seats for t in tables)
    overage = seats - party
    labels = tuple(t.label for t in tables)
    spare = f", {overage} spare seat{'' if overage == 1 else 's'}" if overage else ""
    priority = sum(index.priority[i] for i in bits)
    extra = f", priority {priority}" if priority else ""
    if cost is not None:
        lost = sum(cost[i] for i in bits) / MILLI
        extra += f", takes {lost:.2f} expected later covers"
    if len(tables) == 1:
        reason = f"single {labels[0]} ({seats} seats for {party}{spare}{extra})"
    else:
        joined = "+".join(labels)
        reason = f"combination {joined} in {tables[0].zone} ({seats} seats for {party}{spare}{extra})"
    return Plan(tuple(t.id for t in tables), labels, tables[0].zone, seats, overage, reason)


def _costs(
    venue: Venue,
    index: VenueIndex,
    outlook: Outlook | None,
    ledger: DayLedger,
    now: datetime,
    block_start: datetime,
    block_end: datetime,
    free: int,
    ignore_ref: str | None,
) -> Costs:
    if outlook is None or not outlook.by_party:
        return None
    return lookahead_costs(venue, index, outlook, ledger, now, block_start, block_end, free, ignore_ref=ignore_ref)


def _limit(venue: Venue, max_tables: int | None) -> int:
    k = venue.policy.max_tables_per_combination if max_tables is None else max_tables
    if k < 1:
        raise ValidationFailed("max_tables must be at least 1")
    return k


def _feasible_masks(venue: Venue, index: VenueIndex, party: int, busy: int, k: int) -> Iterator[int]:
    """Every feasible plan as a mask: singles in bit order, then combinations by zone."""
    free = index.active & ~busy
    yield from (1 << i for i in bits_of(index.singles(party, venue.policy.max_overage) & free))
    yield from _combination_masks(venue, index, party, free, k, venue.policy.max_overage)


def _combination_masks(
    venue: Venue, index: VenueIndex, party: int, free: int, k: int, max_overage: int
) -> Iterator[int]:
    """Every feasible combination of 2..k free tables wasting at most `max_overage`."""
    if k < 2 or max_overage < 0:
        return
    for zone_mask in index.combinable.values():
        yield from iter_combinations(
            venue.policy.adjacency_mode, zone_mask & free, index.nbr, index.seats, party, max_overage, k
        )


def _check_request(party: int, block_start: datetime, block_end: datetime) -> None:
    if party < 1:
        raise ValidationFailed("party size must be at least 1")
    if not block_start < block_end:
        raise ValidationFailed("block must end after it starts")


def plan_tables(
    venue: Venue,
    party: int,
    block_start: datetime,
    block_end: datetime,
    ledger: DayLedger,
    now: datetime,
    *,
    max_tables: int | None = None,
    ignore_ref: str | None = None,
    outlook: Outlook | None = None,
) -> PlanResult:
    """All feasible plans for `party` over the block, ranked best first.

    `max_tables` overrides the policy's k (1 = singles only). Ledger rows whose ref
    is `ignore_ref` (a booking being re-planned) do not occupy their tables. With an
    `outlook` the ranking weighs later demand; `ledger` must then hold the rows up to
    ``outlook.horizon`` around the block.
    """
    _check_request(party, block_start, block_end)
    index = venue_index(venue)
    busy = busy_mask(index, ledger, now, block_start, block_end, ignore_ref=ignore_ref)
    cost = _costs(venue, index, outlook, ledger, now, block_start, block_end, index.active & ~busy, ignore_ref)
    masks = sorted(
        _feasible_masks(venue, index, party, busy, _limit(venue, max_tables)),
        key=lambda m: _mask_rank(index, m, party, cost),
    )
    return PlanResult(tuple(_plan(index, m, party, cost) for m in masks))


def best_plan(
    venue: Venue,
    party: int,
    block_start: datetime,
    block_end: datetime,
    ledger: DayLedger,
    now: datetime,
    *,
    max_tables: int | None = None,
    ignore_ref: str | None = None,
    outlook: Outlook | None = None,
) -> Plan | None:
    """The best-ranked feasible plan, or None: the same plan as ``plan_tables(...).best``
    (with the same `outlook`).

    The best single seeds the bound, so combinations must waste fewer seats than it
    (none when a single fits exactly); each zone's class search then cuts every
    branch that cannot rank before the best found so far.
    """
    _check_request(party, block_start, block_end)
    index = venue_index(venue)
    busy = busy_mask(index, ledger, now, block_start, block_end, ignore_ref=ignore_ref)
    free = index.active & ~busy
    policy = venue.policy
    cost = _costs(venue, index, outlook, ledger, now, block_start, block_end, free, ignore_ref)
    # For one table the ranking key reduces to (seats, -priority, cost, scarcity, natural order).
    singles = bits_of(index.singles(party, policy.max_overage) & free)
    single = min(
        singles,
        key=lambda i: (index.seats[i], -index.priority[i], cost[i] if cost else 0, index.scarcity[i], i),
        default=None,
    )
    best: Best | None = None
    if single is not None:
        best = (
            index.seats[single] - party,
            1,
            -index.priority[single],
            cost[single] if cost else 0,
            index.scarcity[single],
            1 << single,
        )
    k = _limit(venue, max_tables)
    for zc in index.classes:
        best = best_combination(zc, free, policy.adjacency_mode, k, party, policy.max_overage, best, cost=cost)
    return None if best is None else _plan(index, best[5], party, cost)


def plan_exists_on(venue: Venue, party: int, busy: int, *, max_tables: int | None = None) -> bool:
    """Whether any plan exists when the tables of bitmask `busy` are taken.

    The availability fast path: `busy` comes from :mod:`seatwise.core.occupancy`
    with the bits of :func:`seatwise.core.venue_index.venue_index`. Singles are one
    mask test; the combination search stops at the first one found.
    """
    index = venue_index(venue)
    free = index.active & ~busy
    policy = venue.policy
    if index.singles(party, policy.max_overage) & free:
        return True
    k = _limit(venue, max_tables)
    mode = policy.adjacency_mode
    return any(any_combination(zc, free, mode, k, party, policy.max_overage) for zc in index.classes)


def planning_work(venue: Venue, limit: int = PLANNING_WORK_LIMIT) -> dict[str, int | None]:
    """Nodes of each zone's combination search with every table free and nothing cut.

    Every :func:`best_plan` or :func:`plan_exists_on` call on this venue (any party,
    ledger or ``max_tables`` up to the policy's) visits at most the sum of these
    nodes, at a cost of a few bit operations per class of each node. A zone whose
    count passes what is left of `limit` maps to None (counting stops there, so
    this is cheap for any document).
    """
    policy = venue.policy
    left = limit
    out: dict[str, int | None] = {}
    for zc in venue_index(venue).classes:
        try:
            n = count_nodes(zc, policy.adjacency_mode, policy.max_tables_per_combination, max(left, 0))
        except WorkExceeded:
            out[zc.zone] = None
            left = 0
        else:
            out[zc.zone] = n
            left -= n
    return out


def planning_problem(venue: Venue, limit: int = PLANNING_WORK_LIMIT) -> str | None:
    """Why the venue's combinations are too many to plan within `limit`, or None."""
    work = planning_work(venue, limit)
    if all(n is not None for n in work.values()):
        return None
    policy = venue.policy
    worst = sorted(work, key=lambda z: (work[z] is not None, -(work[z] or 0), z))
    zones = ", ".join(f"'{z}'" for z in worst[:3])
    return (
        f"too many table combinations to plan a booking in bounded time: zone {zones} "
        f"with up to {policy.max_tables_per_combination} tables ({policy.adjacency_mode.value}) "
        f"needs more than {limit} search steps; lower policy.max_tables_per_combination, "
        "remove adjacency edges or split the zone (identical tables with the same "
        "neighbours count once)"
    )
