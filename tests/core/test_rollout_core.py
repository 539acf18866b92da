"""Pure rules of the rollout (DESIGN §12): claims placed oldest first, drift reasons,
and seating imported rows. Invariants are property-tested."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from seatwise.core.claims import CLAIM, with_claims
from seatwise.core.drift import missing_tables, redrawn_window, table_drift
from seatwise.core.importing import ImportRow, seat_rows
from seatwise.core.model import Busy, Claim, DayLedger, Venue
from seatwise.core.timerules import booking_window
from seatwise.core.venue_doc import parse_venue_document
from tests.conftest import small_venue

DAY = date(2027, 3, 10)


def venue(tables: int = 3, **policy: object) -> Venue:
    doc = small_venue(tables=tables, seats=4, adjacency=[["T1", "T2"]] if tables > 1 else [])
    doc["policy"].update(policy)
    return parse_venue_document(doc)


def local(hh_mm: str) -> datetime:
    return datetime.fromisoformat(f"{DAY.isoformat()}T{hh_mm}:00+00:00")  # London is UTC in March


NOW = local("10:00")


def overlapping(rows: list[tuple[int, Busy]]) -> list[tuple[int, Busy, Busy]]:
    out = []
    for i, (t, a) in enumerate(rows):
        for u, b in rows[i + 1 :]:
            if t == u and a.start < b.end and b.start < a.end:
                out.append((t, a, b))
    return out


def test_claims_are_placed_oldest_first_on_what_the_ledger_leaves() -> None:
    v = venue(tables=1)
    older = Claim("b-older", 2, local("19:00"), local("20:00"), local("09:00"))
    newer = Claim("a-newer", 2, local("19:30"), local("20:30"), local("09:30"))
    ledger = DayLedger(claims=(newer, older))
    placed_ledger, placed = with_claims(v, ledger, NOW)
    assert [p.claim.booking_id for p in placed] == ["b-older"]
    assert [(b.kind, b.ref) for b in placed_ledger.busy[1]] == [(CLAIM, "b-older")]
    # Skipping a claim (a booking staff are assigning by hand) lets the next one in.
    _, placed = with_claims(v, ledger, NOW, skip={"b-older"})
    assert [p.claim.booking_id for p in placed] == ["a-newer"]
    taken = DayLedger(busy={1: (Busy(local("18:00"), local("22:00"), "booking", "x"),)}, claims=(older,))
    assert with_claims(v, taken, NOW)[1] == ()


claim_strategy = st.builds(
    lambda i, start, length, party, age: Claim(
        f"c{i}",
        party,
        local("17:00") + timedelta(minutes=15 * start),
        local("17:00") + timedelta(minutes=15 * (start + length)),
        NOW - timedelta(minutes=age),
    ),
    st.integers(0, 10_000),
    st.integers(0, 16),
    st.integers(1, 8),
    st.integers(1, 10),
    st.integers(0, 5),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(claim_strategy, max_size=10, unique_by=lambda c: c.booking_id), st.randoms())
def test_placed_claims_never_overlap_and_do_not_depend_on_read_order(claims: list[Claim], rng: random.Random) -> None:
    v = venue(tables=4)
    existing = DayLedger(busy={2: (Busy(local("19:00"), local("20:30"), "booking", "fixed"),)}, claims=tuple(claims))
    shuffled = list(claims)
    rng.shuffle(shuffled)
    a, placed_a = with_claims(v, existing, NOW)
    _, placed_b = with_claims(v, DayLedger(busy=existing.busy, claims=tuple(shuffled)), NOW)
    assert placed_a == placed_b
    rows = [(t, b) for t, bs in a.busy.items() for b in bs]
    assert overlapping(rows) == []


def test_drift_reasons_name_each_change() -> None:
    before = venue()
    window = booking_window(before, 2, local("19:00"))
    assert redrawn_window(venue(closures=[DAY.isoformat()]), 2, local("19:00"), DAY)[1][0].reason == "closure"
    assert redrawn_window(venue(max_party_size=1), 2, local("19:00"), DAY)[1][0].reason == "party_size"
    assert redrawn_window(before, 2, local("12:00"), DAY)[1][0].reason == "service"
    gone = venue(tables=2)
    assert [d.reason for d in missing_tables(gone, [1, 3])] == ["table_removed"]
    inactive = replace(before, tables=(replace(before.tables[0], active=False), *before.tables[1:]))
    assert [d.reason for d in missing_tables(inactive, [1])] == ["table_inactive"]
    busy = DayLedger(busy={1: (Busy(local("19:30"), local("21:00"), "booking", "other"),)})
    assert [d.reason for d in table_drift(before, 2, [1], window, busy, NOW, hold_id="h")] == ["turn_overlap"]
    own = DayLedger(busy={1: (Busy(window.block_start, window.block_end, "hold", "h"),)})
    assert table_drift(before, 2, [1], window, own, NOW, hold_id="h") == []
    assert [d.reason for d in table_drift(venue(max_overage=1), 2, [1], window, own, NOW, hold_id="h")] == ["slack"]
    combo = booking_window(before, 7, local("19:00"))
    assert [
        d.reason for d in table_drift(venue(adjacency_mode="pairwise"), 7, [1, 2], combo, DayLedger(), NOW, hold_id="h")
    ] == []
    assert [d.reason for d in table_drift(before, 7, [1, 3], combo, DayLedger(), NOW, hold_id="h")] == ["adjacency"]


def test_seating_imported_rows_names_first_then_largest_parties() -> None:
    v = venue(tables=3)
    lo, hi = local("19:00"), local("20:30")

    def row(key: int, party: int, labels: tuple[str, ...] = ()) -> ImportRow:
        return ImportRow(key, party, labels, lo, hi, DAY)

    seated = seat_rows(v, DayLedger(), [row(1, 2), row(2, 4), row(3, 2, ("T3",)), row(4, 2, ("T3",)), row(5, 3)], NOW)
    assert seated[3].outcome == "placed"
    assert seated[4].outcome == "unassigned"
    assert seated[4].reason is not None
    assert "T3" in seated[4].reason
    assert (seated[2].outcome, seated[5].outcome) == ("planned", "planned")  # 4 then 3: the largest first
    assert seated[1].outcome == "unassigned"
    assert {t for s in seated.values() for t in s.table_ids} == {1, 2, 3}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 8), st.integers(0, 12), st.booleans()), max_size=25))
def test_seated_rows_never_overlap_each_other_or_the_ledger(specs: list[tuple[int, int, bool]]) -> None:
    v = venue(tables=4)
    fixed = Busy(local("19:00"), local("20:00"), "booking", "fixed")
    ledger = DayLedger(busy={4: (fixed,)})
    rows = []
    for key, (party, start, named) in enumerate(specs):
        lo = local("17:00") + timedelta(minutes=15 * start)
        labels = (f"T{1 + key % 4}",) if named else ()
        rows.append(ImportRow(key, party, labels, lo, lo + timedelta(minutes=90), DAY))
    seated = seat_rows(v, ledger, rows, NOW)
    assert set(seated) == {r.key for r in rows}
    marks = [(4, fixed)] + [
        (t, Busy(r.block_start, r.block_end, "booking", str(r.key))) for r in rows for t in seated[r.key].table_ids
    ]
    assert overlapping(marks) == []
