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

from collections.abc import Callable, Iterator, Sequence

from seatwise.core.model import AdjacencyMode
from seatwise.core.venue_index import ZoneClasses, bits_of


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


# --- the search over classes of identical tables --------------------------------------

# (overage, number of tables, -priority, look-ahead cost, scarcity, mask): the
# planner's ranking key of a table set, its natural-order part (the sorted bits)
# kept as the mask; see `ranks_before`.
Best = tuple[int, int, int, int, int, int]


def ranks_before(a: Best, b: Best) -> bool:
    """Whether `a` ranks strictly before `b` (the planner's ranking key, DESIGN §4).

    With every other part equal both sets have as many tables, and the one with the
    lower sorted bits (natural label order) holds the lowest bit of the two masks'
    difference: every smaller bit is in both or in neither.
    """
    if a[:5] != b[:5]:
        return a[:5] < b[:5]
    diff = a[5] ^ b[5]
    return bool(diff & -diff & a[5])


class WorkExceeded(Exception):
    """Raised by :func:`count_nodes` when a zone's search space passes the limit."""


class _Found(Exception):
    """A combination exists (the existence search stops at the first)."""


Leaf = Callable[[list[tuple[int, int]], int, int, int], None]


def _walk(
    zc: ZoneClasses,
    counts: Sequence[int],
    cand: int,
    mode: AdjacencyMode,
    party: int,
    bound: list[int],
    leaf: Leaf,
    tick: Callable[[], None] | None = None,
) -> None:
    """Every combination of classes (how many free tables of each) valid in `mode`.

    A node is a choice ``[(class, count), ...]`` of at least one table; `leaf` gets
    the nodes of 2 tables or more seating at least `party`, with their seats,
    number of tables and scarcity. ``bound = [top, most, top_more, width]``: a node
    of n tables may seat at most `top` when ``n <= most``, else `top_more` (no more
    than `top`), and has at most `width` tables (k, or fewer); `leaf` may tighten
    the bound in place. A node over its bound is cut with everything grown from it
    (seats only add up, and the bound does not grow with the number of tables), as
    is a node that cannot reach `party` even with `width` tables of the largest
    class. Class sets are grown the way :func:`iter_combinations` grows table sets
    (ESU, ascending cliques, stars), so each node is visited once (stars once per
    hub), and as a node's members are interchangeable twins its validity depends
    only on the counts:

    * connected: the classes are connected, and one class alone is a clique;
    * pairwise: the classes are pairwise adjacent, and a class used twice or more
      is a clique;
    * neighbors: a hub class adjacent to every other chosen class, used once or a
      clique.
    """
    seats, scarcity, clique, qn = zc.seats, zc.scarcity, zc.clique, zc.nbr
    biggest = max((seats[a] for a in bits_of(cand)), default=0)
    chosen: list[tuple[int, int]] = []

    def esu(ext: int, closed: int, above: int, total: int, size: int, scar: int) -> None:
        width = bound[3]
        if size >= width or total + (width - size) * biggest < party:
            return
        while ext:
            low = ext & -ext
            ext ^= low
            w = low.bit_length() - 1
            sw, cw = seats[w], scarcity[w]
            seats_t, size_t, scar_t = total, size, scar
            grown = closed_w = -1
            for _ in range(min(counts[w], bound[3] - size)):
                seats_t += sw
                size_t += 1
                scar_t += cw
                if seats_t > (bound[0] if size_t <= bound[1] else bound[2]):
                    break
                if grown < 0:
                    grown = ext | (qn[w] & above & ~closed)
                    closed_w = closed | qn[w] | low
                if tick is not None:
                    tick()
                chosen.append((w, size_t - size))
                if seats_t >= party:  # two classes at least: always 2+ tables
                    leaf(chosen, seats_t, size_t, scar_t)
                esu(grown, closed_w, above, seats_t, size_t, scar_t)
                chosen.pop()

    def ascending(rest: int, total: int, size: int, scar: int, pairwise: bool) -> None:
        width = bound[3]
        if size >= width or total + (width - size) * biggest < party:
            return
        while rest:
            low = rest & -rest
            rest ^= low
            w = low.bit_length() - 1
            sw, cw = seats[w], scarcity[w]
            seats_t, size_t, scar_t = total, size, scar
            nxt = rest & qn[w] if pairwise else rest
            for _ in range(min(counts[w], bound[3] - size) if clique[w] or not pairwise else 1):
                seats_t += sw
                size_t += 1
                scar_t += cw
                if seats_t > (bound[0] if size_t <= bound[1] else bound[2]):
                    break
                if tick is not None:
                    tick()
                chosen.append((w, size_t - size))
                if size_t >= 2 and seats_t >= party:
                    leaf(chosen, seats_t, size_t, scar_t)
                ascending(nxt, seats_t, size_t, scar_t, pairwise)
                chosen.pop()

    if mode is AdjacencyMode.PAIRWISE:
        ascending(cand, 0, 0, 0, True)
        return
    hub = mode is AdjacencyMode.NEIGHBORS
    for v in bits_of(cand):
        if bound[3] * biggest < party:
            return
        # A hub used twice or more must be a clique; in a connected set, twins that
        # are not adjacent to each other can still join through another class.
        seats_t = scar_t = 0
        for t in range(1, (min(counts[v], bound[3]) if clique[v] or not hub else 1) + 1):
            seats_t += seats[v]
            scar_t += scarcity[v]
            if seats_t > (bound[0] if t <= bound[1] else bound[2]):
                break
            if tick is not None:
                tick()
            chosen.append((v, t))
            if t >= 2 and clique[v] and seats_t >= party:
                leaf(chosen, seats_t, t, scar_t)
            if hub:
                ascending(qn[v] & cand, seats_t, t, scar_t, False)
            else:
                above = cand & ~((2 << v) - 1)
                esu(qn[v] & above, qn[v] | (1 << v), above, seats_t, t, scar_t)
            chosen.pop()


def _free_counts(zc: ZoneClasses, free: int) -> tuple[list[int], int]:
    counts = [(m & free).bit_count() for m in zc.masks]
    cand = 0
    for a, n in enumerate(counts):
        if n:
            cand |= 1 << a
    return counts, cand


def _members(zc: ZoneClasses, free: int, chosen: list[tuple[int, int]]) -> int:
    """The lowest free tables of each chosen class: the natural-order best when no
    look-ahead cost tells twins apart."""
    mask = 0
    for a, t in chosen:
        rest = zc.masks[a] & free
        for _ in range(t):
            low = rest & -rest
            mask |= low
            rest ^= low
    return mask


def _class_orders(zc: ZoneClasses, free: int, cost: Sequence[int] | None) -> tuple[list[list[int]], list[list[int]]]:
    """Each class's free members, cheapest first (look-ahead cost, then natural
    order), and the prefix sums of their costs (``sums[a][t]``: the t cheapest).

    Twins are interchangeable for seats, priority and adjacency, so the best set
    that takes t members of a class takes its t first: any other choice costs more,
    or as much with a later label."""
    orders, sums = [], []
    for m in zc.masks:
        members = list(bits_of(m & free))
        if cost is not None:
            members.sort(key=lambda i: (cost[i], i))
        running = [0]
        for i in members:
            running.append(running[-1] + (cost[i] if cost is not None else 0))
        orders.append(members)
        sums.append(running)
    return orders, sums


def _bound(best: Best, party: int, k: int) -> list[int]:
    """Seats and tables a node may have and still grow into a plan ranked before
    `best`: as many wasted seats with no more tables, or fewer wasted seats (so no
    more tables than `best` when it wastes none)."""
    overage, size = best[0], best[1]
    return [party + overage, size, party + overage - 1, k if overage else min(size, k)]


def best_combination(
    zc: ZoneClasses,
    free: int,
    mode: AdjacencyMode,
    k: int,
    party: int,
    max_overage: int,
    best: Best | None,
    *,
    cost: Sequence[int] | None = None,
    tick: Callable[[], None] | None = None,
) -> Best | None:
    """The better of `best` and the best-ranked combination of `zc`'s free tables.

    Branch and bound over classes: a node is cut as soon as nothing grown from it
    can rank before the best found so far (it wastes more seats, or as many with
    more tables), so the search stops once the best is proven. Priority, the
    look-ahead `cost` (per table bit; None: all 0) and scarcity only order the
    leaves, so they never cut. `tick` (tests) is called once per node visited, as
    by :func:`count_nodes`.
    """
    if k < 2 or max_overage < 0 or (best is not None and best[1] <= 1 and best[0] == 0):
        return best
    counts, cand = _free_counts(zc, free)
    if not cand:
        return best
    state = [best]
    bound = [party + max_overage, k, party + max_overage, k] if best is None else _bound(best, party, k)
    # Without costs twins differ only by label: no per-class order to build.
    orders, sums = _class_orders(zc, free, cost) if cost is not None else ([], [])
    priority = zc.priority
    prioritised = any(priority)

    def leaf(chosen: list[tuple[int, int]], seats: int, size: int, scar: int) -> None:
        b = state[0]
        prio = spent = 0
        if prioritised:
            for a, t in chosen:
                prio -= t * priority[a]
        if cost is not None:
            for a, t in chosen:
                spent += sums[a][t]
        key = (seats - party, size, prio, spent, scar)
        if b is not None and key > b[:5]:
            return
        if cost is None:
            mask = _members(zc, free, chosen)
        else:
            mask = 0
            for a, t in chosen:
                for i in orders[a][:t]:
                    mask |= 1 << i
        found = (*key, mask)
        if b is None or ranks_before(found, b):
            state[0] = found
            bound[:] = _bound(found, party, k)

    _walk(zc, counts, cand, mode, party, bound, leaf, tick)
    return state[0]


def any_combination(
    zc: ZoneClasses,
    free: int,
    mode: AdjacencyMode,
    k: int,
    party: int,
    max_overage: int,
    *,
    tick: Callable[[], None] | None = None,
) -> bool:
    """Whether some combination of `zc`'s free tables seats `party` within budget.

    `tick` (tests) is called once per node visited, as by :func:`count_nodes`.
    """
    if k < 2 or max_overage < 0:
        return False
    counts, cand = _free_counts(zc, free)
    if not cand:
        return False

    def leaf(_chosen: list[tuple[int, int]], _seats: int, _size: int, _scar: int) -> None:
        raise _Found

    try:
        _walk(zc, counts, cand, mode, party, [party + max_overage, k, party + max_overage, k], leaf, tick)
    except _Found:
        return True
    return False


def count_nodes(zc: ZoneClasses, mode: AdjacencyMode, k: int, limit: int) -> int:
    """Nodes of the search over `zc` with every table free and nothing cut.

    Any search of this zone (any party, any busy tables, any bound, k or less)
    visits a subset of these nodes: fewer free tables only remove classes or lower
    counts, and cuts only remove branches. Raises :class:`WorkExceeded` past `limit`.
    """
    counts = [m.bit_count() for m in zc.masks]
    cand = (1 << len(counts)) - 1
    seen = [0]

    def tick() -> None:
        seen[0] += 1
        if seen[0] > limit:
            raise WorkExceeded

    def leaf(_chosen: list[tuple[int, int]], _seats: int, _size: int, _scar: int) -> None:
        return

    unbounded = 1 << 62
    _walk(zc, counts, cand, mode, 0, [unbounded, k, unbounded, k], leaf, tick)
    return seen[0]
