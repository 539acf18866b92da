"""Bitset view of a venue, built once per venue and memoised on it.

Bit ``i`` stands for ``tables[i]``, and tables are in natural label order, so
ascending bits are natural order (T9 before T10). Neighbour masks only keep edges
between tables of the same zone: combinations never cross zones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from math import lcm

from seatwise.core.model import Table, Venue, natural_key

_MEMO_KEY = "venue_index"


def label_key(label: str) -> tuple[tuple[tuple[int, int | str], ...], str]:
    """Total natural order on labels: natural_key, then the raw label for ties (T1/T01)."""
    return (natural_key(label), label)


def bits_of(mask: int) -> Iterator[int]:
    """Positions of the set bits of `mask`, ascending."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


@dataclass(frozen=True, slots=True)
class ZoneClasses:
    """The combinable tables of one zone, grouped into classes of identical tables.

    Class ``a`` holds the table bits ``masks[a]`` (classes ordered by their lowest
    bit), each of ``seats[a]`` seats, ``priority[a]`` priority and ``scarcity[a]``
    scarcity. Members of a class
    are twins: either pairwise adjacent (``clique[a]``, always True for one member)
    or pairwise not adjacent with the same neighbours. Adjacency between classes is
    all-or-nothing (a twin sees what its twin sees); ``nbr[a]`` is the mask of the
    classes adjacent to class ``a``.
    """

    zone: str
    masks: tuple[int, ...]
    seats: tuple[int, ...]
    priority: tuple[int, ...]
    scarcity: tuple[int, ...]
    clique: tuple[bool, ...]
    nbr: tuple[int, ...]


def zone_classes(
    zone: str,
    combinable: int,
    seats: tuple[int, ...],
    scarcity: tuple[int, ...],
    nbr: tuple[int, ...],
    priority: tuple[int, ...] | None = None,
) -> ZoneClasses:
    """Group the tables of mask `combinable` (one zone) into twin classes (twins have
    the same seats and priority; scarcity follows from seats)."""
    prio = priority if priority is not None else (0,) * len(seats)
    # True twins first (same closed neighbourhood), then the rest by open
    # neighbourhood. A table with a true twin has no false twin: if i~j share closed
    # neighbourhoods and j~k open ones, i is adjacent to k but k is not in N[j] = N[i].
    closed: dict[tuple[int, int, int], int] = {}
    for i in bits_of(combinable):
        key = (seats[i], prio[i], (nbr[i] & combinable) | (1 << i))
        closed[key] = closed.get(key, 0) | (1 << i)
    groups: list[tuple[int, bool]] = []
    opened: dict[tuple[int, int, int], int] = {}
    for mask in closed.values():
        if mask & (mask - 1):
            groups.append((mask, True))
        else:
            i = mask.bit_length() - 1
            key = (seats[i], prio[i], nbr[i] & combinable)
            opened[key] = opened.get(key, 0) | mask
    groups.extend((mask, not mask & (mask - 1)) for mask in opened.values())
    groups.sort(key=lambda g: g[0] & -g[0])
    lows = [(m & -m).bit_length() - 1 for m, _ in groups]
    class_nbr = []
    for a, low in enumerate(lows):
        out = 0
        for b, (other, _) in enumerate(groups):
            if b != a and nbr[low] & other:
                out |= 1 << b
        class_nbr.append(out)
    return ZoneClasses(
        zone=zone,
        masks=tuple(m for m, _ in groups),
        seats=tuple(seats[i] for i in lows),
        priority=tuple(prio[i] for i in lows),
        scarcity=tuple(scarcity[i] for i in lows),
        clique=tuple(c for _, c in groups),
        nbr=tuple(class_nbr),
    )


class VenueIndex:
    """Precomputed masks and scores for one venue (immutable after construction).

    * `active`: tables that may be used at all.
    * `combinable[zone]`: active movable tables of that zone.
    * `nbr[i]`: same-zone neighbours of table i.
    * `classes`: the :class:`ZoneClasses` of each zone with combinable tables.
    * `priority[i]`: the table's priority (its own, else its zone's; higher is
      filled first).
    * `scarcity[i]`: ``seats / n`` where n is the number of active tables of that
      seat size, scaled by the lcm of all such n so it is an exact integer; a plan's
      scarcity is the sum over its tables. Large tables and rare sizes score high,
      so among otherwise equal plans the one that leaves large or rare tables free
      wins.
    """

    __slots__ = (
        "_singles",
        "active",
        "bit_of",
        "classes",
        "combinable",
        "nbr",
        "priority",
        "scarcity",
        "seats",
        "tables",
    )

    def __init__(self, venue: Venue) -> None:
        tables = tuple(sorted(venue.tables, key=lambda t: label_key(t.label)))
        self.tables: tuple[Table, ...] = tables
        self.bit_of: Mapping[int, int] = {t.id: i for i, t in enumerate(tables)}
        self.seats: tuple[int, ...] = tuple(t.seats for t in tables)
        self.priority: tuple[int, ...] = tuple(venue.priority_of[t.id] for t in tables)
        zone_of = [t.zone for t in tables]
        nbr = [0] * len(tables)
        for edge in venue.adjacency:
            pair = tuple(edge)
            if len(pair) != 2 or pair[0] not in self.bit_of or pair[1] not in self.bit_of:
                continue
            a, b = self.bit_of[pair[0]], self.bit_of[pair[1]]
            if zone_of[a] == zone_of[b]:
                nbr[a] |= 1 << b
                nbr[b] |= 1 << a
        self.nbr: tuple[int, ...] = tuple(nbr)
        active = 0
        combinable: dict[str, int] = {}
        for i, t in enumerate(tables):
            if t.active:
                active |= 1 << i
                if t.movable:
                    combinable[t.zone] = combinable.get(t.zone, 0) | (1 << i)
        self.active = active
        self.combinable: Mapping[str, int] = dict(sorted(combinable.items()))
        size_count = Counter(t.seats for t in tables if t.active)
        scale = lcm(*size_count.values()) if size_count else 1
        self.scarcity: tuple[int, ...] = tuple(t.seats * scale // (size_count[t.seats] or scale) for t in tables)
        self._singles: dict[tuple[int, int], int] = {}
        self.classes: tuple[ZoneClasses, ...] = tuple(
            zone_classes(zone, mask, self.seats, self.scarcity, self.nbr, self.priority)
            for zone, mask in self.combinable.items()
        )

    def singles(self, party: int, max_overage: int) -> int:
        """Active tables that seat `party` alone within the slack budget."""
        key = (party, max_overage)
        mask = self._singles.get(key)
        if mask is None:
            mask = 0
            for i, t in enumerate(self.tables):
                fits = t.min_party <= party <= t.max_party and t.seats - party <= max_overage
                if t.active and fits:
                    mask |= 1 << i
            self._singles[key] = mask
        return mask

    def labels(self, mask: int) -> tuple[str, ...]:
        return tuple(self.tables[i].label for i in bits_of(mask))

    def ids(self, mask: int) -> tuple[int, ...]:
        return tuple(self.tables[i].id for i in bits_of(mask))

    def seats_of(self, mask: int) -> int:
        return sum(self.seats[i] for i in bits_of(mask))


def venue_index(venue: Venue) -> VenueIndex:
    """The venue's index, built on first use and kept in ``venue.memo``."""
    found = venue.memo.get(_MEMO_KEY)
    if isinstance(found, VenueIndex):
        return found
    index = VenueIndex(venue)
    venue.memo[_MEMO_KEY] = index
    return index
