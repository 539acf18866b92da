"""Zone and table priority: validated in the venue document, ranked after waste and
table count, a table's own priority over its zone's."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from seatwise.core.errors import InvalidVenue
from seatwise.core.model import DayLedger
from seatwise.core.planner import best_plan, plan_tables
from seatwise.core.venue_doc import normalise_document, parse_venue_document

START = datetime(2027, 3, 10, 19, 0, tzinfo=UTC)
END = START + timedelta(minutes=90)
NOW = START - timedelta(days=1)


def document(
    zones: list[dict[str, Any]], tables: list[dict[str, Any]], adjacency: list[list[str]] | None = None
) -> dict[str, Any]:
    return {
        "name": "Priorities",
        "slug": "priorities",
        "timezone": "UTC",
        "policy": {
            "max_overage": 4,
            "services": [
                {
                    "name": "dinner",
                    "days": ["wed"],
                    "start": "17:00",
                    "end": "23:00",
                    "turns": [{"max_party": 20, "minutes": 90}],
                }
            ],
        },
        "zones": copy.deepcopy(zones),
        "tables": copy.deepcopy(tables),
        "adjacency": adjacency or [],
    }


def labels(doc: dict[str, Any], party: int) -> list[str]:
    venue = parse_venue_document(doc)
    result = plan_tables(venue, party, START, END, DayLedger(), NOW)
    best = best_plan(venue, party, START, END, DayLedger(), NOW)
    assert best == result.best
    return ["+".join(p.labels) for p in result.plans]


BAR_AND_MAIN = [{"key": "bar", "name": "Bar"}, {"key": "main", "name": "Main room", "priority": 10}]


def test_the_higher_priority_zone_is_filled_first() -> None:
    doc = document(
        BAR_AND_MAIN, [{"label": "B1", "zone": "bar", "seats": 2}, {"label": "M1", "zone": "main", "seats": 2}]
    )
    assert labels(doc, 2) == ["M1", "B1"]
    venue = parse_venue_document(doc)
    best = best_plan(venue, 2, START, END, DayLedger(), NOW)
    assert best is not None
    assert "priority 10" in best.reason
    # Without priorities natural label order decides.
    for zone in doc["zones"]:
        zone.pop("priority", None)
    assert labels(doc, 2) == ["B1", "M1"]


def test_priority_ranks_after_wasted_seats_and_table_count() -> None:
    tables = [
        {"label": "B1", "zone": "bar", "seats": 4},  # exact fit for 4, low priority
        {"label": "M1", "zone": "main", "seats": 6},  # higher priority, 2 seats wasted
        {"label": "M2", "zone": "main", "seats": 2},
        {"label": "M3", "zone": "main", "seats": 2},
    ]
    doc = document(BAR_AND_MAIN, tables, [["M2", "M3"]])
    found = labels(doc, 4)
    # Least waste wins over priority (B1 and M2+M3 waste none), then fewer tables.
    assert found == ["B1", "M2+M3", "M1"]
    # Equal waste: one table before two, whatever the priority.
    doc2 = document(
        [{"key": "bar", "name": "Bar", "priority": 50}, {"key": "main", "name": "Main"}],
        [
            {"label": "B1", "zone": "bar", "seats": 2},
            {"label": "B2", "zone": "bar", "seats": 2},
            {"label": "M1", "zone": "main", "seats": 4},
        ],
        [["B1", "B2"]],
    )
    assert labels(doc2, 4) == ["M1", "B1+B2"]


def test_a_tables_own_priority_overrides_its_zones() -> None:
    tables = [
        {"label": "M1", "zone": "main", "seats": 2},
        {"label": "M2", "zone": "main", "seats": 2, "priority": 0},  # the quiet corner of the main room
        {"label": "B1", "zone": "bar", "seats": 2, "priority": 20},
    ]
    assert labels(document(BAR_AND_MAIN, tables), 2) == ["B1", "M1", "M2"]


def test_priority_splits_twin_classes_in_combinations() -> None:
    # Four identical adjacent two-tops; T3 and T4 preferred: a party of 4 takes them.
    tables = [{"label": f"T{i}", "zone": "main", "seats": 2} for i in range(1, 5)]
    tables[2]["priority"] = tables[3]["priority"] = 5
    edges = [["T1", "T2"], ["T2", "T3"], ["T3", "T4"], ["T1", "T3"], ["T2", "T4"], ["T1", "T4"]]
    assert labels(document([{"key": "main", "name": "Main"}], tables, edges), 4)[0] == "T3+T4"


@pytest.mark.parametrize(
    ("zones", "tables", "path"),
    [
        (
            [{"key": "main", "name": "Main", "priority": -1}],
            [{"label": "T1", "zone": "main", "seats": 2}],
            "zones[0].priority",
        ),
        (
            [{"key": "main", "name": "Main", "priority": 101}],
            [{"label": "T1", "zone": "main", "seats": 2}],
            "zones[0].priority",
        ),
        (
            [{"key": "main", "name": "Main", "priority": "high"}],
            [{"label": "T1", "zone": "main", "seats": 2}],
            "zones[0].priority",
        ),
        (
            [{"key": "main", "name": "Main", "priority": None}],
            [{"label": "T1", "zone": "main", "seats": 2}],
            "zones[0].priority",
        ),
        (
            [{"key": "main", "name": "Main"}],
            [{"label": "T1", "zone": "main", "seats": 2, "priority": 1.5}],
            "tables[0].priority",
        ),
        (
            [{"key": "main", "name": "Main"}],
            [{"label": "T1", "zone": "main", "seats": 2, "priority": True}],
            "tables[0].priority",
        ),
        (
            [{"key": "main", "name": "Main"}],
            [{"label": "T1", "zone": "main", "seats": 2, "priority": 1000}],
            "tables[0].priority",
        ),
    ],
)
def test_bad_priorities_are_refused_at_their_path(
    zones: list[dict[str, Any]], tables: list[dict[str, Any]], path: str
) -> None:
    with pytest.raises(InvalidVenue) as refused:
        parse_venue_document(document(zones, tables))
    assert path in {p["path"] for p in refused.value.fields["problems"]}


def test_priorities_round_trip_and_defaults_stay_implicit() -> None:
    doc = document(
        BAR_AND_MAIN,
        [{"label": "B1", "zone": "bar", "seats": 2}, {"label": "M1", "zone": "main", "seats": 2, "priority": 0}],
    )
    canonical = normalise_document(doc)
    assert canonical["zones"] == [{"key": "bar", "name": "Bar"}, {"key": "main", "name": "Main room", "priority": 10}]
    assert "priority" not in canonical["tables"][0]
    assert canonical["tables"][1]["priority"] == 0  # its own 0, not the zone's 10
    assert normalise_document(canonical) == canonical
    venue = parse_venue_document(canonical)
    assert venue.priority_of == {1: 0, 2: 0}
