"""Venue documents: strict validation with every problem at its path, canonical export,
round trips, and the policy version hash."""

from __future__ import annotations

import copy
import json
import re
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seatwise.core.errors import ErrorCode, InvalidVenue
from seatwise.core.model import WEEKDAYS, AdjacencyMode, Pacing
from seatwise.core.venue_doc import (
    load_document_text,
    normalise_document,
    parse_venue_document,
    policy_version,
    venue_to_document,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


# --- helpers


def base_document() -> dict[str, Any]:
    """A small valid venue; each invalid case below breaks exactly one thing in it."""
    return {
        "name": "Test Venue",
        "slug": "test-venue",
        "timezone": "Europe/London",
        "policy": {
            "services": [
                {
                    "name": "lunch",
                    "days": ["mon", "tue"],
                    "start": "12:00",
                    "end": "15:00",
                    "last_seating": "14:00",
                    "turns": [
                        {"max_party": 2, "minutes": 60},
                        {"max_party": 8, "minutes": 90},
                    ],
                    "pacing": {"max_covers_per_slot": 20, "max_parties_per_slot": 5},
                },
                {
                    "name": "dinner",
                    "days": ["mon", "tue"],
                    "start": "18:00",
                    "end": "23:00",
                    "turns": [{"max_party": 20, "minutes": 90}],
                },
            ],
            "closures": ["2026-12-25"],
        },
        "zones": [{"key": "main", "name": "Main"}, {"key": "bar"}],
        "tables": [
            {"label": "T1", "zone": "main", "seats": 2},
            {"label": "T2", "zone": "main", "seats": 4},
            {"label": "T3", "zone": "main", "seats": 4},
            {"label": "B1", "zone": "bar", "seats": 2},
        ],
        "adjacency": [["T1", "T2"], ["T2", "T3"]],
    }


DELETE = object()
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def changed(doc: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """A deep copy of `doc` with the value at `path` (a problem-style path) replaced."""
    out = copy.deepcopy(doc)
    steps: list[str | int] = [key if key else int(index) for key, index in _TOKEN.findall(path)]
    node: Any = out
    for step in steps[:-1]:
        node = node[step]
    if value is DELETE:
        del node[steps[-1]]
    else:
        node[steps[-1]] = value
    return out


def problems_of(doc: object) -> list[dict[str, str]]:
    with pytest.raises(InvalidVenue) as caught:
        parse_venue_document(doc)
    assert caught.value.code is ErrorCode.INVALID_VENUE
    problems: list[dict[str, str]] = caught.value.fields["problems"]
    return problems


def example(name: str) -> object:
    return load_document_text((EXAMPLES / name).read_text(encoding="utf-8"))


# --- examples


@pytest.mark.parametrize("name", ["demo-bistro.yaml", "grand-hall.yaml"])
def test_example_round_trips(name: str) -> None:
    doc = example(name)
    canonical = normalise_document(doc)
    assert normalise_document(canonical) == canonical
    assert normalise_document(yaml.safe_load(yaml.safe_dump(canonical))) == canonical
    assert normalise_document(json.loads(json.dumps(canonical))) == canonical
    assert venue_to_document(parse_venue_document(doc)) == canonical


def test_demo_bistro_matches_its_description() -> None:
    venue = parse_venue_document(example("demo-bistro.yaml"))
    assert (venue.name, venue.slug, venue.timezone) == (
        "Demo Bistro",
        "demo-bistro",
        "Europe/London",
    )
    assert [z.key for z in venue.zones] == ["main", "terrace", "bar"]
    assert len(venue.tables) == 30
    assert {t.seats for t in venue.tables} >= {2, 4, 6, 8}
    lunch, dinner = venue.policy.services
    assert (lunch.start, lunch.end, lunch.last_seating) == (
        time(12),
        time(15),
        time(14),
    )
    assert (dinner.start, dinner.end, dinner.last_seating) == (
        time(17),
        time(22, 30),
        time(21, 30),
    )
    assert lunch.pacing is not None
    assert dinner.pacing is not None
    assert venue.policy.closures == frozenset({date(2026, 12, 25)})
    # Parties of 6..12 can combine: M7-M8 / M9-M10 block and the terrace chain.
    by_label = venue.table_by_label
    assert frozenset({by_label["M11"].id, by_label["M12"].id}) in venue.adjacency
    assert frozenset({by_label["T7"].id, by_label["T8"].id}) in venue.adjacency


def test_grand_hall_is_big_enough_for_benchmarks() -> None:
    venue = parse_venue_document(example("grand-hall.yaml"))
    assert venue.slug == "grand-hall"
    assert len(venue.tables) == 120
    assert len(venue.zones) == 6
    assert venue.policy.max_tables_per_combination == 4
    assert len(venue.adjacency) > 150
    assert [s.name for s in venue.policy.services] == ["lunch", "dinner"]
    per_day = 0
    for service in venue.policy.services:
        assert service.pacing is not None
        assert service.pacing.max_parties_per_slot is not None
        first = service.start.hour * 60 + service.start.minute
        last = service.last_seating or service.end
        slots = (last.hour * 60 + last.minute - first) // venue.slot_minutes + 1
        per_day += slots * service.pacing.max_parties_per_slot
    assert per_day >= 400


# --- parsing


def test_parse_builds_the_venue() -> None:
    doc = base_document()
    doc["tables"].insert(0, {"label": "T10", "zone": "main", "seats": 6, "min_party": 3})
    venue = parse_venue_document(doc)
    assert [(t.id, t.label) for t in venue.tables] == [
        (1, "T10"),
        (2, "T1"),
        (3, "T2"),
        (4, "T3"),
        (5, "B1"),
    ]
    t10 = venue.tables[0]
    assert (t10.min_party, t10.max_party, t10.movable, t10.active) == (3, 6, True, True)
    assert venue.adjacency == frozenset({frozenset({2, 3}), frozenset({3, 4})})
    assert venue.neighbours[3] == frozenset({2, 4})
    assert venue.slot_minutes == 15
    policy = venue.policy
    assert policy.adjacency_mode is AdjacencyMode.CONNECTED
    assert (policy.max_tables_per_combination, policy.max_overage) == (3, 4)
    assert (policy.hold_ttl_seconds, policy.max_party_size) == (180, 20)
    lunch, dinner = policy.services
    assert lunch.days == frozenset({0, 1})
    assert lunch.pacing == Pacing(max_covers_per_slot=20, max_parties_per_slot=5)
    assert dinner.last_seating is None
    assert dinner.pacing is None
    assert (
        dinner.allow_overrun,
        dinner.buffer_before_minutes,
        dinner.buffer_after_minutes,
    ) == (
        False,
        0,
        0,
    )
    assert venue.zones[1].name == "bar"  # a zone's name defaults to its key


def test_export_is_canonical() -> None:
    doc = base_document()
    doc["tables"] += [
        {"label": "T10", "zone": "main", "seats": 4},
        {"label": "T9", "zone": "main", "seats": 4},
    ]
    doc["adjacency"] = [["T10", "T9"], ["T3", "T2"], ["T1", "T2"]]
    doc["policy"]["services"][0]["days"] = ["tue", "mon"]
    doc["policy"]["closures"] = ["2027-01-01", date(2026, 12, 25)]
    doc["policy"]["services"][1]["pacing"] = {}
    out = normalise_document(doc)
    assert [t["label"] for t in out["tables"]] == ["B1", "T1", "T2", "T3", "T9", "T10"]
    assert out["adjacency"] == [["T1", "T2"], ["T2", "T3"], ["T9", "T10"]]
    assert out["policy"]["services"][0]["days"] == ["mon", "tue"]
    assert out["policy"]["closures"] == ["2026-12-25", "2027-01-01"]
    dinner = out["policy"]["services"][1]
    assert dinner["last_seating"] == "23:00"  # absent means the service end
    assert dinner["pacing"] is None  # no limit at all is no pacing
    assert out["tables"][1] == {
        "label": "T1",
        "zone": "main",
        "seats": 2,
        "min_party": 1,
        "max_party": 2,
        "movable": True,
        "active": True,
    }
    assert out["policy"]["adjacency_mode"] == "connected"
    assert out["slot_minutes"] == 15
    assert out["zones"] == [
        {"key": "main", "name": "Main"},
        {"key": "bar", "name": "bar"},
    ]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("slug", "a" * 63),
        ("slug", "7-a"),
        ("name", "x" * 200),
        ("name", "Café\u00a0Rouge"),
        ("timezone", "UTC"),
        ("slot_minutes", 5),
        ("slot_minutes", 120),
        ("tables[0].max_party", 2),  # as many as it seats (issue 9: never more)
        ("tables[3].label", "x" * 40),
        ("policy.max_tables_per_combination", 5),
        ("policy.max_overage", 0),
        ("policy.hold_ttl_seconds", 3600),
        ("policy.services[0].last_seating", "15:00"),
        ("policy.services[0].last_seating", "12:00"),
        ("policy.services[0].last_seating", None),
        ("policy.services[0].pacing", None),
        ("policy.services[0].pacing.max_covers_per_slot", None),
        ("policy.services[1].end", "02:00"),  # crosses midnight
        ("policy.services[1].start", "15:00"),  # touches lunch: half-open windows
        ("policy.closures", [date(2026, 12, 25)]),  # YAML reads unquoted dates as dates
        ("adjacency", []),
    ],
)
def test_edge_values_are_accepted(path: str, value: object) -> None:
    parse_venue_document(changed(base_document(), path, value))


def test_service_crossing_midnight() -> None:
    doc = base_document()
    dinner = doc["policy"]["services"][1]
    dinner.update(days=["sun"], start="20:00", end="01:30", last_seating="00:45")
    venue = parse_venue_document(doc)  # runs into Monday, but lunch starts at noon
    assert venue.policy.services[1].crosses_midnight
    assert venue.policy.services[1].last_seating == time(0, 45)
    assert problems_of(changed(doc, "policy.services[0].start", "01:00")) == [
        {"path": "policy.services[1]", "message": "overlaps service 'lunch' on mon"}
    ]


# --- refusals

D = DELETE
S0 = "policy.services[0]"
S1 = "policy.services[1]"

INVALID_CASES: list[tuple[str, object, str, str]] = [
    # (path to change, new value, expected problem path, fragment of its message)
    ("name", D, "name", "is required"),
    ("name", "", "name", "must not be empty"),
    ("name", "   ", "name", "must not be empty"),
    ("name", "x" * 201, "name", "at most 200 characters"),
    ("name", 42, "name", "must be a string"),
    ("name", "Bad\nname", "name", "control characters"),
    ("slug", D, "slug", "is required"),
    ("slug", "", "slug", "lowercase letters"),
    ("slug", "Test-Venue", "slug", "lowercase letters"),
    ("slug", "test_venue", "slug", "lowercase letters"),
    ("slug", "-test", "slug", "lowercase letters"),
    ("slug", "a" * 64, "slug", "1..63"),
    ("slug", 7, "slug", "lowercase letters"),
    ("timezone", D, "timezone", "is required"),
    ("timezone", "Mars/Olympus", "timezone", "unknown IANA time zone 'Mars/Olympus'"),
    ("timezone", "europe/london", "timezone", "unknown IANA time zone"),
    ("timezone", "", "timezone", "unknown IANA time zone"),
    ("timezone", 1, "timezone", "must be an IANA time zone name"),
    # issue 9: host-dependent names of the zoneinfo folder are not time zones
    ("timezone", "localtime", "timezone", "unknown IANA time zone 'localtime'"),
    ("timezone", "Factory", "timezone", "unknown IANA time zone 'Factory'"),
    ("timezone", "posixrules", "timezone", "unknown IANA time zone 'posixrules'"),
    ("timezone", "posix/Europe/London", "timezone", "unknown IANA time zone"),
    ("timezone", "right/UTC", "timezone", "unknown IANA time zone"),
    ("slot_minutes", 4, "slot_minutes", "between 5 and 120"),
    ("slot_minutes", 121, "slot_minutes", "between 5 and 120"),
    ("slot_minutes", 7, "slot_minutes", "must divide a day"),
    ("slot_minutes", "15", "slot_minutes", "must be an integer"),
    ("slot_minutes", 15.0, "slot_minutes", "must be an integer"),
    ("slot_minutes", True, "slot_minutes", "must be an integer"),
    ("tabels", [], "tabels", "unknown field 'tabels' (did you mean 'tables'?)"),
    # zones
    ("zones", D, "zones", "is required"),
    ("zones", [], "zones", "at least one zone"),
    ("zones", "main", "zones", "must be a list"),
    (
        "zones",
        [{"key": "main"}, {"key": "bar"}, {"key": "main"}],
        "zones[2].key",
        "duplicate zone key 'main' (first at zones[0])",
    ),
    (
        "zones",
        [{"key": "main"}, {"key": "bar"}, {"key": "Patio"}],
        "zones[2].key",
        "lowercase letters",
    ),
    ("zones[1].key", D, "zones[1].key", "is required"),
    ("zones[1].name", "", "zones[1].name", "must not be empty"),
    ("zones[1].colour", "red", "zones[1].colour", "unknown field 'colour'"),
    ("zones[1]", "bar", "zones[1]", "must be a mapping"),
    # tables
    ("tables", D, "tables", "is required"),
    ("tables", [], "tables", "at least one table"),
    ("tables", {"T1": 2}, "tables", "must be a list"),
    ("tables[3]", "B1", "tables[3]", "must be a mapping"),
    ("tables[3].zone", "patio", "tables[3].zone", "unknown zone 'patio'"),
    ("tables[3].zone", D, "tables[3].zone", "is required"),
    ("tables[3].label", "T1", "tables[3].label", "duplicate table label 'T1'"),
    ("tables[3].label", "t1", "tables[3].label", "ignoring case"),
    ("tables[1].label", "", "tables[1].label", "must not be empty"),
    ("tables[1].label", "x" * 41, "tables[1].label", "at most 40 characters"),
    ("tables[1].label", " T2", "tables[1].label", "must not start or end with spaces"),
    ("tables[1].label", 2, "tables[1].label", "must be a string"),
    ("tables[1].seats", 0, "tables[1].seats", "between 1 and 50"),
    ("tables[1].seats", 51, "tables[1].seats", "between 1 and 50"),
    ("tables[1].seats", "4", "tables[1].seats", "must be an integer"),
    ("tables[1].seats", True, "tables[1].seats", "must be an integer"),
    ("tables[1].seats", D, "tables[1].seats", "is required"),
    ("tables[1].min_party", 0, "tables[1].min_party", "between 1 and 200"),
    (
        "tables[1].min_party",
        5,
        "tables[1].min_party",
        "min_party (5) must not exceed max_party (4)",
    ),
    (
        "tables[1]",
        {"label": "T2", "zone": "main", "seats": 4, "min_party": 3, "max_party": 2},
        "tables[1].max_party",
        "min_party (3) must not exceed max_party (2)",
    ),
    ("tables[1].max_party", 0, "tables[1].max_party", "between 1 and 200"),
    # issue 9: a 4-top takes at most 4 (it took 10 before)
    ("tables[1].max_party", 10, "tables[1].max_party", "max_party (10) must not exceed seats (4)"),
    ("tables[1].max_party", 5, "tables[1].max_party", "max_party (5) must not exceed seats (4)"),
    ("tables[1].movable", "yes", "tables[1].movable", "must be true or false"),
    ("tables[1].active", 1, "tables[1].active", "must be true or false"),
    (
        "tables[1].sets",
        4,
        "tables[1].sets",
        "unknown field 'sets' (did you mean 'seats'?)",
    ),
    # adjacency
    ("adjacency", "T1-T2", "adjacency", "must be a list"),
    ("adjacency[0]", ["T1"], "adjacency[0]", "must be a pair of table labels"),
    (
        "adjacency[0]",
        ["T1", "T2", "T3"],
        "adjacency[0]",
        "must be a pair of table labels",
    ),
    ("adjacency[0]", "T1", "adjacency[0]", "must be a pair of table labels"),
    ("adjacency[0]", ["T1", "T9"], "adjacency[0][1]", "unknown table 'T9'"),
    ("adjacency[0]", ["T1", 2], "adjacency[0][1]", "must be a table label"),
    ("adjacency[0]", ["T1", "T1"], "adjacency[0]", "cannot be adjacent to itself"),
    ("adjacency[0]", ["T1", "B1"], "adjacency[0]", "different zones"),
    (
        "adjacency[1]",
        ["T2", "T1"],
        "adjacency[1]",
        "duplicate edge T2-T1 (first at adjacency[0])",
    ),
    # policy
    ("policy", D, "policy", "is required"),
    ("policy", [], "policy", "must be a mapping"),
    (
        "policy.adjacency_mode",
        "ring",
        "policy.adjacency_mode",
        "connected | pairwise | neighbors",
    ),
    (
        "policy.adjacency_mode",
        None,
        "policy.adjacency_mode",
        "connected | pairwise | neighbors",
    ),
    (
        "policy.max_tables_per_combination",
        0,
        "policy.max_tables_per_combination",
        "between 1 and 5",
    ),
    (
        "policy.max_tables_per_combination",
        6,
        "policy.max_tables_per_combination",
        "between 1 and 5",
    ),
    ("policy.max_overage", -1, "policy.max_overage", "between 0 and 20"),
    ("policy.max_overage", 21, "policy.max_overage", "between 0 and 20"),
    ("policy.max_overage", False, "policy.max_overage", "must be an integer"),
    ("policy.hold_ttl_seconds", 0, "policy.hold_ttl_seconds", "between 1 and 3600"),
    ("policy.hold_ttl_seconds", 3601, "policy.hold_ttl_seconds", "between 1 and 3600"),
    ("policy.max_party_size", 0, "policy.max_party_size", "between 1 and 200"),
    ("policy.max_party_size", 201, "policy.max_party_size", "between 1 and 200"),
    ("policy.max_party", 8, "policy.max_party", "did you mean 'max_party_size'?"),
    # services
    ("policy.services", D, "policy.services", "is required"),
    ("policy.services", [], "policy.services", "at least one service"),
    ("policy.services", {"lunch": {}}, "policy.services", "must be a list"),
    (S1, "dinner", S1, "must be a mapping"),
    (f"{S1}.name", "lunch", f"{S1}.name", "duplicate service name 'lunch'"),
    (f"{S1}.name", D, f"{S1}.name", "is required"),
    (f"{S1}.name", "", f"{S1}.name", "must not be empty"),
    (f"{S0}.days", D, f"{S0}.days", "is required"),
    (f"{S0}.days", [], f"{S0}.days", "at least one weekday"),
    (f"{S0}.days", "mon", f"{S0}.days", "must be a list"),
    (f"{S0}.days", ["mon", "mon"], f"{S0}.days[1]", "duplicate weekday 'mon'"),
    (f"{S0}.days", ["mon", "funday"], f"{S0}.days[1]", "must be one of mon, tue"),
    (f"{S0}.days", ["Mon"], f"{S0}.days[0]", "must be one of"),
    (f"{S0}.start", D, f"{S0}.start", "is required"),
    (f"{S0}.start", "25:00", f"{S0}.start", '"HH:MM"'),
    (f"{S0}.start", "12:60", f"{S0}.start", '"HH:MM"'),
    (f"{S0}.start", "9:00", f"{S0}.start", '"HH:MM"'),
    (f"{S0}.start", 720, f"{S0}.start", "YAML reads unquoted 12:00 as a number"),
    (f"{S0}.end", None, f"{S0}.end", '"HH:MM"'),
    (f"{S0}.end", "12:00", f"{S0}.end", "must differ from start (12:00)"),
    (
        f"{S0}.last_seating",
        "16:00",
        f"{S0}.last_seating",
        "outside the service window 12:00-15:00",
    ),
    (f"{S0}.last_seating", "11:59", f"{S0}.last_seating", "outside the service window"),
    (f"{S0}.allow_overrun", "no", f"{S0}.allow_overrun", "must be true or false"),
    (
        f"{S0}.buffer_before_minutes",
        -1,
        f"{S0}.buffer_before_minutes",
        "between 0 and 240",
    ),
    (
        f"{S0}.buffer_after_minutes",
        241,
        f"{S0}.buffer_after_minutes",
        "between 0 and 240",
    ),
    (f"{S0}.turns", D, f"{S0}.turns", "is required"),
    (f"{S0}.turns", [], f"{S0}.turns", "at least one turn band"),
    (f"{S0}.turns[0].minutes", 0, f"{S0}.turns[0].minutes", "between 1 and 720"),
    (f"{S0}.turns[0].minutes", 721, f"{S0}.turns[0].minutes", "between 1 and 720"),
    (f"{S0}.turns[0].minutes", D, f"{S0}.turns[0].minutes", "is required"),
    (f"{S0}.turns[0].max_party", 0, f"{S0}.turns[0].max_party", "between 1 and 200"),
    (
        f"{S0}.turns[1].max_party",
        2,
        f"{S0}.turns[1]",
        "greater than the previous band's 2",
    ),
    (
        f"{S0}.turns[1].max_party",
        1,
        f"{S0}.turns[1]",
        "greater than the previous band's 2",
    ),
    (f"{S0}.turns[1].mins", 90, f"{S0}.turns[1].mins", "unknown field 'mins'"),
    (f"{S0}.pacing", 20, f"{S0}.pacing", "must be a mapping"),
    (
        f"{S0}.pacing.max_covers_per_slot",
        0,
        f"{S0}.pacing.max_covers_per_slot",
        "between 1 and 10000",
    ),
    (
        f"{S0}.pacing.max_parties_per_slot",
        "5",
        f"{S0}.pacing.max_parties_per_slot",
        "must be an integer",
    ),
    (f"{S0}.pacing.covers", 5, f"{S0}.pacing.covers", "unknown field 'covers'"),
    (f"{S1}.start", "14:00", S1, "overlaps service 'lunch' on mon, tue"),
    # closures
    ("policy.closures", "2026-12-25", "policy.closures", "must be a list"),
    (
        "policy.closures",
        ["2026-02-30"],
        "policy.closures[0]",
        "must be a date YYYY-MM-DD",
    ),
    (
        "policy.closures",
        ["25/12/2026"],
        "policy.closures[0]",
        "must be a date YYYY-MM-DD",
    ),
    ("policy.closures", [20261225], "policy.closures[0]", "must be a date YYYY-MM-DD"),
    (
        "policy.closures",
        ["2026-12-25", "2026-12-26", "2026-12-25"],
        "policy.closures[2]",
        "duplicate closure 2026-12-25 (first at policy.closures[0])",
    ),
]


@pytest.mark.parametrize(
    ("change_at", "value", "path", "fragment"),
    INVALID_CASES,
    ids=[f"{c[0]}={c[1]!r:.20}" for c in INVALID_CASES],
)
def test_invalid_document_is_refused_at_its_path(change_at: str, value: object, path: str, fragment: str) -> None:
    problems = problems_of(changed(base_document(), change_at, value))
    assert len(problems) == 1, problems
    assert problems[0]["path"] == path
    assert fragment in problems[0]["message"]


def test_overlap_across_midnight_is_reported_on_the_day_it_happens() -> None:
    doc = base_document()
    doc["policy"]["services"][1].update(days=["sun"], start="22:00", end="12:30")
    doc["policy"]["services"][1]["last_seating"] = "23:00"
    assert problems_of(doc) == [{"path": "policy.services[1]", "message": "overlaps service 'lunch' on mon"}]


def test_last_seating_of_a_service_crossing_midnight() -> None:
    doc = base_document()
    doc["policy"]["services"][1].update(end="02:00", last_seating="01:00")
    parse_venue_document(doc)
    doc["policy"]["services"][1]["last_seating"] = "03:00"
    assert problems_of(doc) == [
        {
            "path": "policy.services[1].last_seating",
            "message": "03:00 lies outside the service window 18:00-02:00",
        }
    ]


@pytest.mark.parametrize("doc", [None, [], "venue", 3, ["name"]])
def test_a_document_must_be_a_mapping(doc: object) -> None:
    (problem,) = problems_of(doc)
    assert problem["path"] == "$"
    assert "must be a mapping" in problem["message"]


def test_field_names_must_be_strings() -> None:
    doc = base_document()
    doc["tables"][0][True] = 1  # YAML reads an unquoted `on:` key as true
    assert problems_of(doc) == [{"path": "tables[0]", "message": "field names must be strings, got True"}]


def test_every_problem_is_listed_at_once() -> None:
    doc = changed(base_document(), "name", "")
    doc = changed(doc, "tables[3].zone", "patio")
    doc = changed(doc, "policy.services[0].turns[0].minutes", 0)
    problems = problems_of(doc)
    assert problems == [
        {"path": "name", "message": "must not be empty"},
        {
            "path": "policy.services[0].turns[0].minutes",
            "message": "must be between 1 and 720, got 0",
        },
        {"path": "tables[3].zone", "message": "unknown zone 'patio'"},
    ]


def test_an_invalid_table_does_not_make_its_edges_unknown() -> None:
    doc = changed(base_document(), "tables[1].seats", 0)
    assert [p["path"] for p in problems_of(doc)] == ["tables[1].seats"]


def test_invalid_venue_renders_as_a_problem_document() -> None:
    with pytest.raises(InvalidVenue) as caught:
        parse_venue_document(changed(base_document(), "slot_minutes", 7))
    problem = caught.value.problem()
    assert problem["status"] == 422
    assert problem["code"] == "INVALID_VENUE"
    assert problem["problems"] == [
        {
            "path": "slot_minutes",
            "message": "must divide a day (1440 minutes) evenly, got 7",
        }
    ]
    assert problem["detail"].startswith("slot_minutes: must divide")


# --- text


def test_load_reads_yaml_and_json() -> None:
    doc = base_document()
    assert load_document_text(json.dumps(doc)) == doc
    assert load_document_text(yaml.safe_dump(doc)) == doc
    assert load_document_text("") is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: [unclosed\n", "malformed YAML/JSON"),
        ("a: 1\n  b: 2\n", "malformed YAML/JSON"),
        ("x: !!python/object:os.system {}\n", "malformed YAML/JSON"),
        ("[" * 20_000, "nested too deeply"),
        ("name: a\nname: b\n", "duplicate key 'name' at line 2"),
        ('{"name": "a", "name": "b"}', "duplicate key 'name'"),
    ],
)
def test_malformed_text_is_refused(text: str, fragment: str) -> None:
    with pytest.raises(InvalidVenue) as caught:
        load_document_text(text)
    (problem,) = caught.value.fields["problems"]
    assert problem["path"] == "$"
    assert fragment in problem["message"]


def test_unquoted_yaml_times_are_explained() -> None:
    text = yaml.safe_dump(base_document()).replace("'12:00'", "12:00")
    problems = problems_of(load_document_text(text))
    assert {p["path"] for p in problems} == {"policy.services[0].start"}
    assert "quoted" in problems[0]["message"]


# --- policy version


def version_of(doc: dict[str, Any]) -> str:
    return policy_version(parse_venue_document(doc).policy)


POLICY_CHANGES: list[tuple[str, object]] = [
    (f"{S0}.turns[0].minutes", 61),
    (f"{S0}.turns[0].max_party", 3),
    (f"{S0}.turns", [{"max_party": 2, "minutes": 60}]),
    (f"{S0}.start", "11:45"),
    (f"{S0}.end", "15:15"),
    (f"{S0}.last_seating", "14:15"),
    (f"{S0}.days", ["mon"]),
    (f"{S0}.name", "brunch"),
    (f"{S0}.allow_overrun", True),
    (f"{S0}.buffer_before_minutes", 5),
    (f"{S0}.buffer_after_minutes", 5),
    (f"{S0}.pacing.max_covers_per_slot", 21),
    (f"{S0}.pacing.max_parties_per_slot", 6),
    (f"{S0}.pacing", None),
    ("policy.adjacency_mode", "pairwise"),
    ("policy.max_tables_per_combination", 2),
    ("policy.max_overage", 3),
    ("policy.hold_ttl_seconds", 120),
    ("policy.max_party_size", 19),
    ("policy.closures", []),
    ("policy.closures", ["2026-12-26"]),
]


def test_policy_version_changes_with_every_band_window_and_limit() -> None:
    base = version_of(base_document())
    assert re.fullmatch(r"[0-9a-f]{16}", base)
    versions = {base}
    for path, value in POLICY_CHANGES:
        version = version_of(changed(base_document(), path, value))
        assert version not in versions, (path, value)
        versions.add(version)


def test_policy_version_is_stable_for_equivalent_documents() -> None:
    base = version_of(base_document())
    assert version_of(base_document()) == base
    doc = base_document()
    doc["policy"]["services"][0]["days"] = ["tue", "mon"]
    doc["policy"]["services"][1]["last_seating"] = "23:00"  # = the default
    doc["policy"]["services"][1]["pacing"] = {}
    doc["policy"]["adjacency_mode"] = "connected"
    doc["policy"]["max_overage"] = 4
    doc["tables"].append({"label": "T4", "zone": "main", "seats": 8})  # not policy
    assert version_of(doc) == base
    assert version_of(normalise_document(base_document())) == base


# --- round trips


def _window(start: int, end: int) -> tuple[str, str]:
    return (f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}")


@st.composite
def venue_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Valid venue documents, with optional fields present or not at random."""

    def maybe(target: dict[str, Any], key: str, strategy: st.SearchStrategy[Any]) -> None:
        if draw(st.booleans()):
            target[key] = draw(strategy)

    zone_keys = draw(
        st.lists(
            st.sampled_from(["main", "bar", "terrace", "room-2", "private_1"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    zones: list[dict[str, Any]] = []
    for key in zone_keys:
        zone: dict[str, Any] = {"key": key}
        maybe(
            zone,
            "name",
            st.text(
                st.characters(codec="utf-8", categories=["L", "N"]),
                min_size=1,
                max_size=20,
            ),
        )
        zones.append(zone)
    labels = draw(
        st.lists(
            st.builds(
                "{}{}".format,
                st.sampled_from(["T", "t", "B", "Bar "]),
                st.integers(0, 120),
            ),
            min_size=1,
            max_size=10,
            unique_by=str.casefold,
        )
    )
    tables: list[dict[str, Any]] = []
    for label in labels:
        seats = draw(st.integers(1, 50))
        table: dict[str, Any] = {
            "label": label,
            "zone": draw(st.sampled_from(zone_keys)),
            "seats": seats,
        }
        min_party = draw(st.integers(1, seats))
        if min_party > 1 or draw(st.booleans()):
            table["min_party"] = min_party
        maybe(table, "max_party", st.integers(min_party, seats))
        maybe(table, "movable", st.booleans())
        maybe(table, "active", st.booleans())
        tables.append(table)
    candidates = [
        (a["label"], b["label"]) for i, a in enumerate(tables) for b in tables[i + 1 :] if a["zone"] == b["zone"]
    ]
    edges = draw(st.lists(st.sampled_from(candidates), unique=True)) if candidates else []
    adjacency = [list(edge) if draw(st.booleans()) else [edge[1], edge[0]] for edge in edges]

    count = draw(st.integers(1, 3))
    points = sorted(draw(st.lists(st.integers(0, 287), min_size=2 * count, max_size=2 * count, unique=True)))
    points = [p * 5 for p in points]
    if draw(st.booleans()):  # rotate: the last window runs past midnight
        points = points[1:] + points[:1]
    services: list[dict[str, Any]] = []
    for n in range(count):
        start, end = points[2 * n], points[2 * n + 1]
        service: dict[str, Any] = {
            "name": f"service {n}",
            "days": draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True)),
            "start": _window(start, end)[0],
            "end": _window(start, end)[1],
        }
        length = (end - start) % 1440
        offset = draw(st.integers(0, length))
        maybe(service, "last_seating", st.just(_window((start + offset) % 1440, 0)[0]))
        maybe(service, "allow_overrun", st.booleans())
        maybe(service, "buffer_before_minutes", st.integers(0, 240))
        maybe(service, "buffer_after_minutes", st.integers(0, 240))
        bands = sorted(draw(st.lists(st.integers(1, 200), min_size=1, max_size=5, unique=True)))
        service["turns"] = [{"max_party": p, "minutes": draw(st.integers(1, 720))} for p in bands]
        limit = st.none() | st.integers(1, 10_000)
        maybe(
            service,
            "pacing",
            st.none()
            | st.fixed_dictionaries(
                {},
                optional={"max_covers_per_slot": limit, "max_parties_per_slot": limit},
            ),
        )
        services.append(service)

    policy: dict[str, Any] = {"services": services}
    maybe(
        policy,
        "adjacency_mode",
        st.sampled_from(["connected", "pairwise", "neighbors"]),
    )
    maybe(policy, "max_tables_per_combination", st.integers(1, 5))
    maybe(policy, "max_overage", st.integers(0, 20))
    maybe(policy, "hold_ttl_seconds", st.integers(1, 3600))
    maybe(policy, "max_party_size", st.integers(1, 200))
    maybe(
        policy,
        "closures",
        st.lists(st.dates(date(2020, 1, 1), date(2035, 12, 31)), unique=True, max_size=4).map(
            lambda days: [d if i % 2 else d.isoformat() for i, d in enumerate(days)]
        ),
    )
    doc: dict[str, Any] = {
        "name": draw(st.text(min_size=1, max_size=30).filter(lambda s: s.strip() and s.isprintable())),
        "slug": draw(st.sampled_from(["a", "demo-bistro", "7-seas", "x" * 63])),
        "timezone": draw(st.sampled_from(["Europe/London", "America/New_York", "Asia/Kolkata", "UTC"])),
        "policy": policy,
        "zones": zones,
        "tables": tables,
    }
    maybe(doc, "slot_minutes", st.sampled_from([5, 10, 15, 20, 30, 60, 120]))
    if adjacency or draw(st.booleans()):
        doc["adjacency"] = adjacency
    return doc


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(venue_documents())
def test_valid_documents_round_trip(doc: dict[str, Any]) -> None:
    venue = parse_venue_document(doc)
    assert [t.id for t in venue.tables] == list(range(1, len(doc["tables"]) + 1))
    canonical = venue_to_document(venue)
    assert normalise_document(canonical) == canonical
    assert normalise_document(load_document_text(yaml.safe_dump(canonical))) == canonical
    assert normalise_document(load_document_text(json.dumps(canonical))) == canonical
    assert policy_version(parse_venue_document(canonical).policy) == policy_version(venue.policy)
    again = parse_venue_document(canonical)
    assert {t.label: t for t in again.tables}.keys() == {t.label for t in venue.tables}
    for table in venue.tables:
        other = again.table_by_label[table.label]
        assert (table.zone, table.seats, table.min_party, table.max_party) == (
            other.zone,
            other.seats,
            other.min_party,
            other.max_party,
        )
