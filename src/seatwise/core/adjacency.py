"""Adjacency modes as predicates over table bitmasks (see AdjacencyMode).

`nbr[i]` is the neighbour mask of table bit i. A single table satisfies every mode.
"""

from __future__ import annotations

from collections.abc import Sequence

from seatwise.core.model import AdjacencyMode
from seatwise.core.venue_index import bits_of


def component(mask: int, seed: int, nbr: Sequence[int]) -> int:
    """The connected component of bit `seed` inside `mask`."""
    seen = 1 << seed
    frontier = seen
    while frontier:
        grow = 0
        for i in bits_of(frontier):
            grow |= nbr[i]
        frontier = grow & mask & ~seen
        seen |= frontier
    return seen


def is_connected(mask: int, nbr: Sequence[int]) -> bool:
    if mask == 0:
        return True
    return component(mask, (mask & -mask).bit_length() - 1, nbr) == mask


def is_pairwise(mask: int, nbr: Sequence[int]) -> bool:
    return all((nbr[i] | (1 << i)) & mask == mask for i in bits_of(mask))


def hubs(mask: int, nbr: Sequence[int]) -> int:
    """Tables of `mask` adjacent to every other table of `mask`."""
    out = 0
    for i in bits_of(mask):
        if (nbr[i] | (1 << i)) & mask == mask:
            out |= 1 << i
    return out


def is_neighbors(mask: int, nbr: Sequence[int]) -> bool:
    return hubs(mask, nbr) != 0


def satisfies(mode: AdjacencyMode, mask: int, nbr: Sequence[int]) -> bool:
    """Whether the tables of `mask` satisfy the adjacency `mode`."""
    if mode is AdjacencyMode.PAIRWISE:
        return is_pairwise(mask, nbr)
    if mode is AdjacencyMode.NEIGHBORS:
        return is_neighbors(mask, nbr)
    return is_connected(mask, nbr)
