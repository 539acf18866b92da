"""Staff operations over real HTTP: manual assignment with every check, moves in time,
staff blocks, venue replacement and API keys."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import DAY, client_for, small_venue

GUEST = {"name": "Ada Lovelace"}
CHECK_ORDER = ["capacity", "slack", "zone", "movable", "adjacency", "conflict", "hold"]


def floor() -> dict[str, Any]:
    """T1-T4 (4 seats) in main, chained T1-T2-T3; T4 fixed; P1 (2 seats) on the patio."""
    doc = small_venue(tables=4, adjacency=[["T1", "T2"], ["T2", "T3"]], pacing={"max_covers_per_slot": 8})
    doc["tables"][3]["movable"] = False
    doc["zones"].append({"key": "patio", "name": "Patio"})
    doc["tables"].append({"label": "P1", "zone": "patio", "seats": 2})
    return doc


@pytest.fixture
def room(create_restaurant: Callable[..., dict[str, Any]], base_url: str) -> Iterator[tuple[str, httpx.Client]]:
    r = create_restaurant(floor())
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        yield f"/v1/restaurants/{r['id']}", staff


def book(staff: httpx.Client, base: str, party: int, at: str, tables: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"party_size": party, "start": f"{DAY}T{at}", "guest": GUEST}
    if tables:
        body["table_labels"] = tables
    made = staff.post(f"{base}/bookings", json=body)
    assert made.status_code == 201, made.text
    out: dict[str, Any] = made.json()
    return out


def move(staff: httpx.Client, base: str, booking: dict[str, Any], tables: list[str], **extra: Any) -> httpx.Response:
    return staff.put(f"{base}/bookings/{booking['id']}/tables", json={"table_labels": tables, **extra})


def failed(response: httpx.Response) -> dict[str, bool]:
    problem = response.json()
    assert [c["check"] for c in problem["checks"]] == CHECK_ORDER
    return {c["check"]: c["ok"] for c in problem["checks"]}


# --- manual assignment ------------------------------------------------------------


def test_move_to_other_tables_is_atomic_and_recorded(room: tuple[str, httpx.Client], owner_url: str) -> None:
    base, staff = room
    b = book(staff, base, 4, "19:00", ["T1"])
    moved = move(staff, base, b, ["T1", "T2"])  # overlaps its own current table: ignored
    assert moved.status_code == 200, moved.text
    assert moved.json()["tables"] == ["T1", "T2"]
    again = move(staff, base, b, ["T3"])
    assert again.json()["tables"] == ["T3"]
    timeline = staff.get(f"{base}/timeline", params={"date": DAY}).json()
    held = {t["label"]: [a["id"] for a in t["allocations"]] for t in timeline["tables"]}
    assert held == {"T1": [], "T2": [], "T3": [b["id"]], "T4": [], "P1": []}
    with psycopg.connect(owner_url) as conn:
        events = conn.execute(
            "SELECT payload->'to' FROM outbox WHERE event = 'assignment.changed' AND payload->>'booking_id' = %s"
            " ORDER BY id",
            [b["id"]],
        ).fetchall()
    assert [e[0] for e in events] == [["T1", "T2"], ["T3"]]


@pytest.mark.parametrize(
    ("party", "tables", "status", "code", "failing"),
    [
        (4, ["P1"], 422, "VALIDATION_ERROR", {"capacity"}),
        (4, ["T1", "P1"], 422, "ZONE_MISMATCH", {"zone", "adjacency"}),
        (6, ["T3", "T4"], 422, "ADJACENCY_MISMATCH", {"movable", "adjacency"}),
        (6, ["T1", "T3"], 422, "ADJACENCY_MISMATCH", {"adjacency"}),
        (2, ["T1", "T2"], 422, "SLACK_EXCEEDED", {"slack"}),
        (4, ["T5"], 422, "VALIDATION_ERROR", None),
    ],
)
def test_sets_that_can_never_work_are_422_with_every_check(
    room: tuple[str, httpx.Client], party: int, tables: list[str], status: int, code: str, failing: set[str] | None
) -> None:
    base, staff = room
    b = book(staff, base, party, "19:00")
    got = move(staff, base, b, tables)
    assert (got.status_code, got.json()["code"]) == (status, code), got.text
    if failing is not None:
        assert {name for name, ok in failed(got).items() if not ok} == failing
    if code == "ADJACENCY_MISMATCH" and failing == {"adjacency"}:
        assert "T1" in got.json()["detail"] or "T3" in got.json()["detail"]  # names the tables


def test_slack_may_be_allowed_by_staff_and_is_recorded(room: tuple[str, httpx.Client]) -> None:
    base, staff = room
    b = book(staff, base, 2, "19:00")
    assert move(staff, base, b, ["T1", "T2"]).status_code == 422
    allowed = move(staff, base, b, ["T1", "T2"], allow_slack=True)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["allow_slack"] is True
    assert allowed.json()["tables"] == ["T1", "T2"]


def test_sets_blocked_by_others_are_409_naming_them(room: tuple[str, httpx.Client]) -> None:
    base, staff = room
    mine = book(staff, base, 4, "19:00", ["T1"])
    other = book(staff, base, 4, "19:30", ["T2"])
    taken = move(staff, base, mine, ["T2"])
    assert (taken.status_code, taken.json()["code"]) == (409, "TABLE_CONFLICT")
    assert {n for n, ok in failed(taken).items() if not ok} == {"conflict"}
    assert other["id"] in taken.json()["detail"]
    hold = staff.post(f"{base}/holds", json={"party_size": 4, "start": f"{DAY}T19:00", "table_labels": ["T3"]})
    assert hold.status_code == 201
    held = move(staff, base, mine, ["T3"])
    assert (held.status_code, held.json()["code"]) == (409, "HOLD_CONFLICT")
    assert hold.json()["id"] in held.json()["checks"][6]["message"]
    assert staff.get(f"{base}/bookings/{mine['id']}").json()["tables"] == ["T1"]  # refused: nothing moved


def test_only_live_bookings_move(room: tuple[str, httpx.Client]) -> None:
    base, staff = room
    b = book(staff, base, 2, "19:00")
    assert staff.post(f"{base}/bookings/{b['id']}/cancel").status_code == 200
    got = move(staff, base, b, ["T2"])
    assert (got.status_code, got.json()["code"]) == (409, "ILLEGAL_TRANSITION")
    missing = staff.put(f"{base}/bookings/00000000-0000-0000-0000-000000000000/tables", json={"table_labels": ["T1"]})
    assert missing.status_code == 404


# --- moves in time ----------------------------------------------------------------


def pacing(owner_url: str, base: str) -> dict[str, tuple[int, int]]:
    rid = base.rsplit("/", 1)[1]
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            "SELECT to_char(slot_start AT TIME ZONE 'Europe/London', 'HH24:MI'), covers, parties"
            " FROM pacing_usage WHERE restaurant_id = %s AND (covers > 0 OR parties > 0)",
            [rid],
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_reschedule_keeps_tables_and_moves_pacing(room: tuple[str, httpx.Client], owner_url: str) -> None:
    base, staff = room
    b = book(staff, base, 2, "19:00", ["T3"])
    later = staff.patch(f"{base}/bookings/{b['id']}", json={"start": f"{DAY}T20:00"})
    assert later.status_code == 200, later.text
    assert later.json()["tables"] == ["T3"]
    assert later.json()["start"] == f"{DAY}T20:00:00+00:00"
    assert later.json()["end"] == f"{DAY}T21:00:00+00:00"
    assert pacing(owner_url, base) == {"20:00": (2, 1)}
    bigger = staff.patch(f"{base}/bookings/{b['id']}", json={"party_size": 7})
    assert bigger.status_code == 200, bigger.text
    assert len(bigger.json()["tables"]) == 2  # T3 alone no longer fits: re-planned
    assert bigger.json()["end"] == f"{DAY}T21:30:00+00:00"
    assert pacing(owner_url, base) == {"20:00": (7, 1)}


def test_reschedule_is_all_or_nothing(room: tuple[str, httpx.Client], owner_url: str) -> None:
    base, staff = room
    for table in ("T1", "T2", "T3", "T4"):
        book(staff, base, 2, "21:00", [table])
    mine = book(staff, base, 2, "18:00", ["P1"])
    full = staff.patch(f"{base}/bookings/{mine['id']}", json={"start": f"{DAY}T21:00", "party_size": 4})
    assert (full.status_code, full.json()["code"]) == (409, "CAPACITY_EXCEEDED"), full.text
    assert full.json()["alternatives"]
    paced = staff.patch(f"{base}/bookings/{mine['id']}", json={"start": f"{DAY}T21:00"})  # P1 is free, pacing 8 full
    assert (paced.status_code, paced.json()["code"]) == (409, "CAPACITY_EXCEEDED")
    after = staff.get(f"{base}/bookings/{mine['id']}").json()
    assert (after["start"], after["tables"], after["party_size"]) == (mine["start"], ["P1"], 2)
    assert pacing(owner_url, base)["18:00"] == (2, 1)
    same_slot = staff.patch(f"{base}/bookings/{mine['id']}", json={"start": f"{DAY}T18:05"})
    assert same_slot.status_code == 200  # its own covers make room for themselves
    assert pacing(owner_url, base)["18:00"] == (2, 1)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "VALIDATION_ERROR"),
        ({"start": f"{DAY}T12:00"}, "OUTSIDE_SERVICE_HOURS"),
        ({"party_size": 21}, "VALIDATION_ERROR"),
    ],
)
def test_reschedule_refusals(room: tuple[str, httpx.Client], body: dict[str, Any], code: str) -> None:
    base, staff = room
    b = book(staff, base, 2, "19:00")
    got = staff.patch(f"{base}/bookings/{b['id']}", json=body)
    assert (got.status_code, got.json()["code"]) == (422, code)


# --- staff blocks -------------------------------------------------------------------


def test_block_takes_tables_out_and_lifts(room: tuple[str, httpx.Client]) -> None:
    base, staff = room
    made = staff.post(
        f"{base}/blocks",
        json={"table_labels": ["T1", "T2"], "start": f"{DAY}T18:00", "end": f"{DAY}T20:00", "reason": "x"},
    )
    assert made.status_code == 201, made.text
    block = made.json()
    assert block["tables"] == ["T1", "T2"]
    assert (block["start"], block["end"], block["reason"]) == (f"{DAY}T18:00:00+00:00", f"{DAY}T20:00:00+00:00", "x")
    timeline = staff.get(f"{base}/timeline", params={"date": DAY}).json()
    kinds = {t["label"]: [a["kind"] for a in t["allocations"]] for t in timeline["tables"]}
    assert kinds["T1"] == kinds["T2"] == ["block"]
    assert book(staff, base, 4, "19:00")["tables"] == ["T3"]
    refused = staff.post(
        f"{base}/bookings", json={"party_size": 4, "start": f"{DAY}T19:00", "guest": GUEST, "table_labels": ["T1"]}
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "TABLE_CONFLICT")
    assert staff.delete(f"{base}/blocks/{block['id']}").status_code == 204
    assert staff.delete(f"{base}/blocks/{block['id']}").status_code == 404
    assert book(staff, base, 4, "19:00", ["T1"])["tables"] == ["T1"]


def test_block_over_live_bookings_is_refused_listing_them(room: tuple[str, httpx.Client]) -> None:
    base, staff = room
    b = book(staff, base, 4, "19:00", ["T1"])
    h = staff.post(f"{base}/holds", json={"party_size": 4, "start": f"{DAY}T19:00", "table_labels": ["T2"]}).json()
    got = staff.post(
        f"{base}/blocks", json={"table_labels": ["T1", "T2", "T3"], "start": f"{DAY}T18:00", "end": f"{DAY}T23:00"}
    )
    assert (got.status_code, got.json()["code"]) == (409, "BLOCK_CONFLICT")
    listed = [(x["kind"], x["id"], x["table"]) for x in got.json()["bookings"]]
    assert listed == [("booking", b["id"], "T1"), ("hold", h["id"], "T2")]
    timeline = staff.get(f"{base}/timeline", params={"date": DAY}).json()
    assert all(a["kind"] != "block" for t in timeline["tables"] for a in t["allocations"])


def test_long_block_spans_days(room: tuple[str, httpx.Client]) -> None:
    base, staff = room
    made = staff.post(
        f"{base}/blocks", json={"table_labels": ["T1"], "start": "2027-03-09T00:00", "end": "2027-03-12T00:00"}
    )
    assert made.status_code == 201, made.text
    taken = staff.post(
        f"{base}/bookings", json={"party_size": 4, "start": f"{DAY}T19:00", "guest": GUEST, "table_labels": ["T1"]}
    )
    assert taken.json()["code"] == "TABLE_CONFLICT"  # the middle day sees a block that began two days before


@pytest.mark.parametrize(
    "body",
    [
        {"table_labels": ["T1"], "start": f"{DAY}T20:00", "end": f"{DAY}T19:00"},
        {"table_labels": ["T9"], "start": f"{DAY}T18:00", "end": f"{DAY}T19:00"},
        {"table_labels": ["T1", "T1"], "start": f"{DAY}T18:00", "end": f"{DAY}T19:00"},
        {"table_labels": ["T1"], "start": "2027-01-01T00:00", "end": "2027-03-01T00:00"},
        {"table_labels": ["T1"], "start": "soon", "end": f"{DAY}T19:00"},
    ],
)
def test_bad_blocks_are_422(room: tuple[str, httpx.Client], body: dict[str, Any]) -> None:
    base, staff = room
    got = staff.post(f"{base}/blocks", json=body)
    assert (got.status_code, got.json()["code"]) == (422, "VALIDATION_ERROR"), got.text


# --- venue changes ------------------------------------------------------------------


def test_venue_replace_bumps_versions_and_applies(room: tuple[str, httpx.Client]) -> None:
    base, staff = room
    before = staff.get(base).json()
    doc = staff.get(f"{base}/venue").json()
    doc["name"] = "Renamed"
    doc["tables"].append({"label": "T5", "zone": "main", "seats": 6})
    got = staff.put(f"{base}/venue", json=doc)
    assert got.status_code == 200, got.text
    after = got.json()
    assert (after["name"], after["tables"]) == ("Renamed", 6)
    assert after["venue_version"] == before["venue_version"] + 1
    assert after["policy_version"] == before["policy_version"]  # the policy did not change
    assert book(staff, base, 6, "19:00", ["T5"])["tables"] == ["T5"]  # no stale cached venue
    doc["policy"]["max_overage"] = 2
    repoliced = staff.put(f"{base}/venue", json=doc).json()
    assert repoliced["policy_version"] != after["policy_version"]
    assert staff.get(f"{base}/venue").json()["policy"]["max_overage"] == 2


def test_venue_change_that_strands_bookings_is_refused(room: tuple[str, httpx.Client]) -> None:
    base, staff = room
    single = book(staff, base, 4, "19:00", ["T1"])
    combo = book(staff, base, 7, "19:30", ["T2", "T3"])
    doc = staff.get(f"{base}/venue").json()

    def put(change: Callable[[dict[str, Any]], None]) -> httpx.Response:
        changed = copy.deepcopy(doc)
        change(changed)
        return staff.put(f"{base}/venue", json=changed)

    def table(d: dict[str, Any], label: str) -> dict[str, Any]:
        found: dict[str, Any] = next(t for t in d["tables"] if t["label"] == label)
        return found

    def remove_t1(d: dict[str, Any]) -> None:
        d["tables"] = [t for t in d["tables"] if t["label"] != "T1"]
        d["adjacency"] = [e for e in d["adjacency"] if "T1" not in e]

    def shrink_t1(d: dict[str, Any]) -> None:
        table(d, "T1").update(seats=2, max_party=2)

    def deactivate_t1(d: dict[str, Any]) -> None:
        table(d, "T1")["active"] = False

    def split_combo(d: dict[str, Any]) -> None:
        table(d, "T3")["zone"] = "patio"
        d["adjacency"] = [e for e in d["adjacency"] if "T3" not in e]

    def shrink_combo(d: dict[str, Any]) -> None:
        table(d, "T3").update(seats=2, max_party=2)

    for change, victim in [
        (remove_t1, single),
        (shrink_t1, single),
        (deactivate_t1, single),
        (split_combo, combo),
        (shrink_combo, combo),
    ]:
        got = put(change)
        assert (got.status_code, got.json()["code"]) == (409, "VENUE_IN_USE"), (change.__name__, got.text)
        assert [x["id"] for x in got.json()["bookings"]] == [victim["id"]], change.__name__
    assert staff.get(f"{base}/venue").json() == doc  # nothing written

    def harmless(d: dict[str, Any]) -> None:
        table(d, "T4").update(seats=6, max_party=6, zone="patio")  # unused table: may change freely
        table(d, "T1").update(seats=5, max_party=5)  # growing is fine

    assert put(harmless).status_code == 200
    assert staff.post(f"{base}/bookings/{single['id']}/cancel").status_code == 200
    assert put(remove_t1).status_code == 200  # no live booking left on T1


def test_removed_zone_and_slug_rules(
    room: tuple[str, httpx.Client], create_restaurant: Callable[..., dict[str, Any]]
) -> None:
    base, staff = room
    doc = staff.get(f"{base}/venue").json()
    doc["zones"] = [z for z in doc["zones"] if z["key"] != "patio"]
    doc["tables"] = [t for t in doc["tables"] if t["zone"] != "patio"]
    assert staff.put(f"{base}/venue", json=doc).status_code == 200
    assert [z["key"] for z in staff.get(f"{base}/venue").json()["zones"]] == ["main"]
    other = create_restaurant(small_venue())
    taken = staff.put(f"{base}/venue", json={**doc, "slug": other["slug"]})
    assert (taken.status_code, taken.json()["code"]) == (409, "SLUG_TAKEN")
    free = staff.put(f"{base}/venue", json={**doc, "slug": other["slug"] + "-2"})
    assert free.status_code == 200
    assert free.json()["slug"] == other["slug"] + "-2"
    bad = staff.put(f"{base}/venue", json={**doc, "timezone": "Mars/Olympus"})
    assert (bad.status_code, bad.json()["code"]) == (422, "INVALID_VENUE")


# --- API keys -------------------------------------------------------------------------


def test_keys_are_created_listed_and_revoked_at_once(room: tuple[str, httpx.Client], base_url: str) -> None:
    base, staff = room
    made = staff.post(f"{base}/api-keys", json={"role": "channel"})
    assert made.status_code == 201, made.text
    key = made.json()
    assert key["role"] == "channel"
    assert key["key"].startswith("sw_")
    listed = staff.get(f"{base}/api-keys").json()
    assert key["id"] in [k["id"] for k in listed]
    assert all("key" not in k for k in listed)
    with client_for(base_url, key["key"]) as channel:
        assert channel.get(base).status_code == 200
        assert staff.delete(f"{base}/api-keys/{key['id']}").status_code == 204
        revoked = channel.get(base)
        assert (revoked.status_code, revoked.json()["code"]) == (401, "UNAUTHENTICATED")
    assert staff.delete(f"{base}/api-keys/{key['id']}").status_code == 204  # revoking twice is fine
    assert next(k for k in staff.get(f"{base}/api-keys").json() if k["id"] == key["id"])["revoked_at"]
    assert staff.delete(f"{base}/api-keys/00000000-0000-0000-0000-000000000000").status_code == 404
    assert staff.post(f"{base}/api-keys", json={"role": "admin"}).status_code == 422


def test_hold_on_a_table_removed_from_the_venue_cannot_be_confirmed(room: tuple[str, httpx.Client]) -> None:
    base, staff = room
    hold = staff.post(f"{base}/holds", json={"party_size": 2, "start": f"{DAY}T19:00", "table_labels": ["T4"]}).json()
    doc = staff.get(f"{base}/venue").json()
    doc["tables"] = [t for t in doc["tables"] if t["label"] != "T4"]
    assert staff.put(f"{base}/venue", json=doc).status_code == 200  # live holds do not block venue edits
    confirm = staff.post(f"{base}/holds/{hold['id']}/confirm", json={"guest": GUEST})
    assert confirm.status_code == 422
    assert confirm.json()["code"] == "POLICY_DRIFT"
    assert [r["reason"] for r in confirm.json()["reasons"]] == ["table_removed"]
    assert staff.get(f"{base}/bookings", params={"date": DAY}).json() == []
