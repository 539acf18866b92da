"""Complete enumeration of table combinations for one zone, by adjacency mode.

:func:`iter_combinations` yields every bitmask ``S`` of the candidate tables with
``2 <= |S| <= k``, ``party <= seats(S) <= party + max_overage`` and the adjacency
mode satisfied, each exactly once. Nothing is skipped for time: branches are cut
only by capacity bounds that no extension could overcome (seats only add up, so a
set already over budget stays over; a set that cannot reach the party even with
``k - |S|`` of the largest candidates never will).

* connected: ESU (Wernicke 2006) grows each connected set from its lowest bit,
  adding only exclusive neighbours, so each connected subgraph appears once.
* pairwise: cliques grown in ascending bit order through common neighbours.
* neighbors: stars, a hub plus neighbours of it; sets with several hubs are
  yielded once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from seatwise.core.model import AdjacencyMode
from seatwise.core.venue_index import bits_of


def iter_combinations(
    mode: AdjacencyMode,
    cand: int,
    nbr: Sequence[int],
    seats: Sequence[int],
    party: int,
    max_overage: int,
    k: int,
) -> Iterator[int]:
    """Every valid combination of the tables in `cand` (see module docstring)."""
    if k < 2 or cand.bit_count() < 2:
        return
    top = party + max_overage
    biggest = max(seats[i] for i in bits_of(cand))

    def short(total: int, size: int) -> bool:
        return total + (k - size) * biggest < party

    def esu(sub: int, ext: int, closed: int, total: int, size: int, above: int) -> Iterator[int]:
        if size >= 2 and total >= party:
            yield sub
        if size == k or short(total, size):
            return
        while ext:
            low = ext & -ext
            ext ^= low
            w = low.bit_length() - 1
            grown = total + seats[w]
            if grown > top:
                continue
            exclusive = nbr[w] & above & ~closed
            closed_w = closed | nbr[w] | low
            yield from esu(sub | low, ext | exclusive, closed_w, grown, size + 1, above)

    def ascending(sub: int, rest: int, total: int, size: int, clique: bool) -> Iterator[int]:
        if size >= 2 and total >= party:
            yield sub
        if size == k or short(total, size):
            return
        while rest:
            low = rest & -rest
            rest ^= low
            w = low.bit_length() - 1
            grown = total + seats[w]
            if grown > top:
                continue
            rest_w = rest & nbr[w] if clique else rest
            yield from ascending(sub | low, rest_w, grown, size + 1, clique)

    if mode is AdjacencyMode.NEIGHBORS:
        seen: set[int] = set()
        for hub in bits_of(cand):
            if seats[hub] > top:
                continue
            for combo in ascending(1 << hub, nbr[hub] & cand, seats[hub], 1, False):
                if combo not in seen:
                    seen.add(combo)
                    yield combo
        return
    for v in bits_of(cand):
        if seats[v] > top:
            continue
        above = cand & ~((2 << v) - 1)
        if mode is AdjacencyMode.PAIRWISE:
            yield from ascending(1 << v, nbr[v] & above, seats[v], 1, True)
        else:
            yield from esu(1 << v, nbr[v] & above, nbr[v] | (1 << v), seats[v], 1, above)
