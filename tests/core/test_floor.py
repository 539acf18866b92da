"""The floor plan: document positions kept, a tidy automatic grid otherwise, and the
state of each table at an instant."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from seatwise.core.errors import InvalidVenue
from seatwise.core.floor import COLUMNS, adjacency_lines, floor_layout, states_at, zone_headings
from seatwise.core.model import Busy, DayLedger, Shape
from seatwise.core.venue_doc import normalise_document, parse_venue_document, venue_to_document
from tests.conftest import small_venue


def venue_doc() -> dict[str, Any]:
    doc = small_venue(tables=8, seats=4, adjacency=[["T1", "T2"]])
    doc["zones"].append({"key": "bar", "name": "Bar"})
    doc["tables"] += [
        {"label": "B1", "zone": "bar", "seats": 2, "x": 500, "y": 40, "width": 50, "height": 50, "shape": "round"},
        {"label": "B2", "zone": "bar", "seats": 2},
    ]
    return doc


def overlaps(a: Any, b: Any) -> bool:
    return a.x < b.x + b.width and b.x < a.x + a.width and a.y < b.y + b.height and b.y < a.y + a.height


def test_positions_are_kept_and_the_others_are_laid_out_per_zone_without_overlap() -> None:
    venue = parse_venue_document(venue_doc())
    plan = {p.label: p for p in floor_layout(venue)}
    assert set(plan) == {t.label for t in venue.tables}
    b1 = plan["B1"]
    assert (b1.position.x, b1.position.y, b1.position.shape, b1.automatic) == (500, 40, Shape.ROUND, False)
    autos = [p for p in plan.values() if p.automatic]
    assert len(autos) == 9
    for i, a in enumerate(autos):
        assert not overlaps(a.position, b1.position)
        for b in autos[i + 1 :]:
            assert not overlaps(a.position, b.position), (a.label, b.label)
    # Zones one below another, below every placed table: the main room above the bar.
    assert min(p.position.y for p in autos) > b1.position.y + b1.position.height
    main_bottom = max(p.position.y + p.position.height for p in autos if p.zone == "main")
    assert plan["B2"].position.y > main_bottom
    # Rows of COLUMNS tables in natural label order: T7 wraps to the second row.
    assert plan["T1"].position.y == plan[f"T{COLUMNS}"].position.y < plan["T7"].position.y
    assert plan["T1"].position.x < plan["T2"].position.x
    headings = {h.zone: h for h in zone_headings(venue)}
    assert headings["main"].y < plan["T1"].position.y
    assert main_bottom < headings["bar"].y < plan["B2"].position.y


def test_the_layout_does_not_depend_on_document_order() -> None:
    doc = venue_doc()
    shuffled = copy.deepcopy(doc)
    shuffled["tables"].reverse()
    assert floor_layout(parse_venue_document(doc)) == floor_layout(parse_venue_document(shuffled))


def test_states_at_an_instant() -> None:
    venue = parse_venue_document(venue_doc())
    ids = {t.label: t.id for t in venue.tables}
    at = datetime(2027, 3, 10, 19, 30, tzinfo=UTC)
    now = at - timedelta(hours=3)
    hour = timedelta(hours=1)
    ledger = DayLedger(
        busy={
            ids["T1"]: (Busy(at - hour, at + hour, "booking", "b1"),),
            ids["T2"]: (Busy(at - hour, at + hour, "booking", "b2"),),
            ids["T3"]: (Busy(at - hour, at + hour, "hold", "h1", now + timedelta(minutes=3)),),
            ids["T4"]: (Busy(at - hour, at + hour, "hold", "h2", now - timedelta(seconds=1)),),  # expired
            ids["T5"]: (Busy(at - hour, at, "booking", "b3"),),  # ends as `at` begins: half-open
            ids["T6"]: (Busy(at - hour, at + hour, "block", "k1"),),
        }
    )
    states = states_at(venue, ledger, {"b1": "seated", "b2": "confirmed", "b3": "confirmed"}, at, now)
    assert {k: v.state for k, v in states.items() if v.state != "free"} == {
        "T1": "seated",
        "T2": "booked",
        "T3": "held",
        "T6": "blocked",
    }
    assert states["T1"].ref == "b1"
    assert adjacency_lines(venue) == (("T1", "T2"),)


def test_positions_round_trip_and_are_validated() -> None:
    doc = venue_doc()
    canonical = normalise_document(doc)
    b1 = next(t for t in canonical["tables"] if t["label"] == "B1")
    assert {k: b1[k] for k in ("x", "y", "width", "height", "shape")} == {
        "x": 500,
        "y": 40,
        "width": 50,
        "height": 50,
        "shape": "round",
    }
    assert "x" not in next(t for t in canonical["tables"] if t["label"] == "B2")
    assert normalise_document(canonical) == canonical
    only_xy = copy.deepcopy(doc)
    only_xy["tables"][0].update(x=10, y=20)
    t1 = next(t for t in venue_to_document(parse_venue_document(only_xy))["tables"] if t["label"] == "T1")
    assert (t1["width"], t1["height"], t1["shape"]) == (60, 60, "rect")

    bad = copy.deepcopy(doc)
    bad["tables"][0].update(x=10)
    bad["tables"][1].update(x=1, y=2, shape="hexagon")
    bad["tables"][2].update(x=-5, y=2, width=5)
    with pytest.raises(InvalidVenue) as caught:
        parse_venue_document(bad)
    problems = {p["path"]: p["message"] for p in caught.value.fields["problems"]}
    assert set(problems) == {"tables[0].y", "tables[1].shape", "tables[2].x", "tables[2].width"}
    assert "rect or round" in problems["tables[1].shape"]
