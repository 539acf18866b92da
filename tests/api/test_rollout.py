"""DESIGN §12 over real HTTP: shadow enforcement, unassigned bookings and their
claims, and policy drift on confirm. Audited in SQL (tests/concurrency/audit.py)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from seatwise.services import snapshot
from tests.concurrency.audit import overlaps, pacing_problems, table_mismatches
from tests.conftest import DAY, StatementCounter, client_for, small_venue

GUEST = {"name": "Ada Lovelace"}

Room = tuple[str, httpx.Client]


def shadow_venue(tables: int = 1, **kwargs: Any) -> dict[str, Any]:
    doc = small_venue(tables=tables, **kwargs)
    doc["policy"]["enforcement"] = "shadow"
    return doc


@pytest.fixture
def room_of(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> Iterator[Callable[[dict[str, Any]], Room]]:
    clients: list[httpx.Client] = []

    def make(doc: dict[str, Any]) -> Room:
        r = create_restaurant(doc)
        staff = client_for(base_url, r["api_keys"]["staff"])
        clients.append(staff)
        return f"/v1/restaurants/{r['id']}", staff

    yield make
    for c in clients:
        c.close()


def book(staff: httpx.Client, base: str, at: str = "19:00", party: int = 2, **extra: Any) -> dict[str, Any]:
    made = staff.post(f"{base}/bookings", json={"party_size": party, "start": f"{DAY}T{at}", "guest": GUEST, **extra})
    assert made.status_code == 201, made.text
    booking: dict[str, Any] = made.json()
    return booking


def audit_clean(owner_url: str, base: str) -> None:
    rid = base.rsplit("/", 1)[1]
    assert overlaps(owner_url, rid) == []
    assert pacing_problems(owner_url, rid) == []
    assert table_mismatches(owner_url, rid) == []


def shadow_count(anonymous: httpx.Client, reason: str) -> float:
    text = anonymous.get("/metrics").text
    found = re.search(rf'^seatwise_shadow_refusals_total\{{reason="{reason}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def available(staff: httpx.Client, base: str, at: str = "19:00", party: int = 2) -> bool:
    answer = staff.get(f"{base}/availability", params={"date": DAY, "party_size": party, "time": at})
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["available"])


# --- shadow enforcement ------------------------------------------------------------------


def test_shadow_accepts_the_second_booking_for_the_only_table_unassigned_and_flagged(
    room_of: Callable[[dict[str, Any]], Room], anonymous: httpx.Client, owner_url: str
) -> None:
    base, staff = room_of(shadow_venue(tables=1))
    before = shadow_count(anonymous, "CAPACITY_EXCEEDED")
    first = book(staff, base)
    assert (first["tables"], first["overbooked"], first["would_refuse"]) == (["T1"], False, None)
    second = book(staff, base)
    assert (second["tables"], second["overbooked"], second["would_refuse"]) == ([], True, "CAPACITY_EXCEEDED")
    assert staff.get(f"{base}/bookings/{second['id']}").json() == second
    assert shadow_count(anonymous, "CAPACITY_EXCEEDED") == before + 1
    # Named tables that are taken: the refusal it would have got is TABLE_CONFLICT.
    named = book(staff, base, table_labels=["T1"])
    assert (named["tables"], named["would_refuse"]) == ([], "TABLE_CONFLICT")
    # The timeline shows the unassigned bookings in their own lane, oldest first.
    timeline = staff.get(f"{base}/timeline", params={"date": DAY}).json()
    assert [a["id"] for a in timeline["unassigned"]] == [second["id"], named["id"]]
    assert [a["id"] for a in timeline["tables"][0]["allocations"]] == [first["id"]]
    audit_clean(owner_url, base)
    # What can never be a booking is refused as under enforcement.
    closed = staff.post(f"{base}/bookings", json={"party_size": 2, "start": f"{DAY}T12:00", "guest": GUEST})
    assert (closed.status_code, closed.json()["code"]) == (422, "OUTSIDE_SERVICE_HOURS")
    unknown = staff.post(
        f"{base}/bookings", json={"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST, "table_labels": ["T9"]}
    )
    assert (unknown.status_code, unknown.json()["code"]) == (422, "VALIDATION_ERROR")


def test_shadow_never_bends_pacing(room_of: Callable[[dict[str, Any]], Room], owner_url: str) -> None:
    base, staff = room_of(shadow_venue(tables=5, pacing={"max_parties_per_slot": 1}))
    assert book(staff, base)["tables"] == ["T1"]
    over = book(staff, base)
    assert (over["tables"], over["would_refuse"]) == ([], "CAPACITY_EXCEEDED")
    audit_clean(owner_url, base)  # not counted in pacing: the CHECK still holds
    assert staff.post(f"{base}/bookings/{over['id']}/cancel").status_code == 200
    audit_clean(owner_url, base)  # and cancelling it gives nothing back


def test_switching_to_enforce_changes_nothing_already_booked(
    room_of: Callable[[dict[str, Any]], Room], owner_url: str
) -> None:
    base, staff = room_of(shadow_venue(tables=1))
    book(staff, base)
    book(staff, base)
    listed = staff.get(f"{base}/bookings", params={"date": DAY}).json()
    doc = staff.get(f"{base}/venue").json()
    assert doc["policy"]["enforcement"] == "shadow"
    doc["policy"]["enforcement"] = "enforce"
    assert staff.put(f"{base}/venue", json=doc).status_code == 200
    assert staff.get(f"{base}/bookings", params={"date": DAY}).json() == listed
    refused = staff.post(f"{base}/bookings", json={"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST})
    assert (refused.status_code, refused.json()["code"]) == (409, "CAPACITY_EXCEEDED")
    audit_clean(owner_url, base)


def test_enforcement_must_be_enforce_or_shadow(admin: httpx.Client) -> None:
    doc = small_venue()
    doc["policy"]["enforcement"] = "lenient"
    refused = admin.post("/v1/restaurants", json=doc)
    assert (refused.status_code, refused.json()["code"]) == (422, "INVALID_VENUE")
    assert refused.json()["problems"][0]["path"] == "policy.enforcement"


# --- unassigned bookings and their claims ------------------------------------------------


def test_cancelling_the_booking_on_a_table_gives_it_to_the_oldest_unassigned_booking(
    room_of: Callable[[dict[str, Any]], Room], owner_url: str
) -> None:
    base, staff = room_of(shadow_venue(tables=1))
    seated_first = book(staff, base)
    older = book(staff, base)
    newer = book(staff, base, at="19:30")
    assert older["tables"] == newer["tables"] == []
    assert staff.post(f"{base}/bookings/{seated_first['id']}/cancel").status_code == 200
    assert staff.get(f"{base}/bookings/{older['id']}").json()["tables"] == ["T1"]  # placed first, oldest first
    assert staff.get(f"{base}/bookings/{newer['id']}").json()["tables"] == []
    assert not available(staff, base)  # availability does not offer the freed table to a new party
    late = book(staff, base)
    assert (late["tables"], late["overbooked"]) == ([], True)
    timeline = staff.get(f"{base}/timeline", params={"date": DAY}).json()
    assert [a["id"] for a in timeline["unassigned"]] == [newer["id"], late["id"]]
    audit_clean(owner_url, base)


def test_a_claim_keeps_tables_that_free_up_by_themselves_from_new_parties(
    room_of: Callable[[dict[str, Any]], Room], owner_url: str
) -> None:
    """A hold expiring frees its table without any writer: availability and the planner
    still put the unassigned booking's claim first."""
    doc = shadow_venue(tables=1, hold_ttl_seconds=1)
    base, staff = room_of(doc)
    hold = staff.post(f"{base}/holds", json={"party_size": 2, "start": f"{DAY}T19:00"})
    assert hold.status_code == 201, hold.text
    waiting = book(staff, base)
    assert waiting["tables"] == []
    time.sleep(1.2)
    assert not available(staff, base)
    assert available(staff, base, at="21:00")
    refused = staff.post(f"{base}/holds", json={"party_size": 2, "start": f"{DAY}T19:00"})
    assert (refused.status_code, refused.json()["code"]) == (409, "CAPACITY_EXCEEDED")
    # Staff assign it by hand.
    placed = staff.put(f"{base}/bookings/{waiting['id']}/tables", json={"table_labels": ["T1"]})
    assert placed.status_code == 200, placed.text
    assert placed.json()["tables"] == ["T1"]
    assert staff.get(f"{base}/timeline", params={"date": DAY}).json()["unassigned"] == []
    audit_clean(owner_url, base)


def test_a_lifted_block_and_a_move_give_tables_to_claims(
    room_of: Callable[[dict[str, Any]], Room], owner_url: str
) -> None:
    base, staff = room_of(shadow_venue(tables=2))
    block = staff.post(
        f"{base}/blocks", json={"table_labels": ["T2"], "start": f"{DAY}T17:00", "end": f"{DAY}T23:00"}
    ).json()
    on_t1 = book(staff, base)
    waiting = book(staff, base)
    assert waiting["tables"] == []
    assert staff.delete(f"{base}/blocks/{block['id']}").status_code == 204
    assert staff.get(f"{base}/bookings/{waiting['id']}").json()["tables"] == ["T2"]
    later = book(staff, base, at="19:30")
    assert later["tables"] == []
    # Moving the 19:00 booking to 21:00 frees T1 at 19:30: the waiting booking takes it.
    moved = staff.patch(f"{base}/bookings/{on_t1['id']}", json={"start": f"{DAY}T21:00"})
    assert moved.status_code == 200, moved.text
    assert staff.get(f"{base}/bookings/{later['id']}").json()["tables"] == ["T1"]
    audit_clean(owner_url, base)


# --- policy drift ---------------------------------------------------------------------------

CHAIN = [["T1", "T2"], ["T2", "T3"], ["T3", "T4"]]


def drift_venue() -> dict[str, Any]:
    return small_venue(tables=4, seats=4, hold_ttl_seconds=600, adjacency=CHAIN)


def _hold(staff: httpx.Client, base: str, party: int, labels: list[str], at: str = "19:00") -> dict[str, Any]:
    made = staff.post(f"{base}/holds", json={"party_size": party, "start": f"{DAY}T{at}", "table_labels": labels})
    assert made.status_code == 201, made.text
    hold: dict[str, Any] = made.json()
    return hold


def _change(staff: httpx.Client, base: str, edit: Callable[[dict[str, Any]], None]) -> None:
    doc = staff.get(f"{base}/venue").json()
    edit(doc)
    changed = staff.put(f"{base}/venue", json=doc)
    assert changed.status_code == 200, changed.text


def _table(doc: dict[str, Any], label: str) -> dict[str, Any]:
    table: dict[str, Any] = next(t for t in doc["tables"] if t["label"] == label)
    return table


def _service(doc: dict[str, Any]) -> dict[str, Any]:
    service: dict[str, Any] = doc["policy"]["services"][0]
    return service


def _remove_t1(doc: dict[str, Any]) -> None:
    doc["tables"] = [t for t in doc["tables"] if t["label"] != "T1"]
    doc["adjacency"] = [e for e in doc["adjacency"] if "T1" not in e]


DRIFTS: dict[str, tuple[int, list[str], Callable[[dict[str, Any]], None]]] = {
    "table_removed": (2, ["T1"], _remove_t1),
    "table_inactive": (2, ["T1"], lambda d: _table(d, "T1").update(active=False)),
    "adjacency": (10, ["T1", "T2", "T3"], lambda d: d["policy"].update(adjacency_mode="pairwise")),
    "party_size": (2, ["T1"], lambda d: _table(d, "T1").update(min_party=3)),
    "slack": (2, ["T1"], lambda d: d["policy"].update(max_overage=1)),
    "closure": (2, ["T1"], lambda d: d["policy"].update(closures=[DAY])),
    "service": (2, ["T1"], lambda d: _service(d).update(last_seating="18:30")),
}


@pytest.mark.parametrize("reason", sorted(DRIFTS))
def test_confirm_after_a_drift_is_policy_drift(
    reason: str, room_of: Callable[[dict[str, Any]], Room], owner_url: str
) -> None:
    party, labels, edit = DRIFTS[reason]
    base, staff = room_of(drift_venue())
    hold = _hold(staff, base, party, labels)
    _change(staff, base, edit)
    confirm = staff.post(f"{base}/holds/{hold['id']}/confirm", json={"guest": GUEST})
    assert confirm.status_code == 422, confirm.text
    problem = confirm.json()
    assert problem["code"] == "POLICY_DRIFT"
    assert [r["reason"] for r in problem["reasons"]] == [reason]
    assert all(r["message"] for r in problem["reasons"])
    assert staff.get(f"{base}/bookings", params={"date": DAY}).json() == []
    audit_clean(owner_url, base)


def test_a_longer_turn_that_now_overlaps_another_booking_is_policy_drift(
    room_of: Callable[[dict[str, Any]], Room], owner_url: str
) -> None:
    base, staff = room_of(drift_venue())
    hold = _hold(staff, base, 2, ["T1"])  # 19:00-20:00 (60 minutes for two)
    book(staff, base, at="20:00", table_labels=["T1"])
    _change(staff, base, lambda d: _service(d)["turns"][0].update(minutes=90))
    confirm = staff.post(f"{base}/holds/{hold['id']}/confirm", json={"guest": GUEST})
    assert (confirm.status_code, confirm.json()["code"]) == (422, "POLICY_DRIFT")
    assert [r["reason"] for r in confirm.json()["reasons"]] == ["turn_overlap"]
    audit_clean(owner_url, base)


def test_a_harmless_change_confirms_as_usual_on_the_redrawn_window(
    room_of: Callable[[dict[str, Any]], Room], owner_url: str
) -> None:
    base, staff = room_of(drift_venue())
    hold = _hold(staff, base, 2, ["T1"])
    _change(staff, base, lambda d: d["tables"].append({"label": "T5", "zone": "main", "seats": 2}))
    kept = staff.post(f"{base}/holds/{hold['id']}/confirm", json={"guest": GUEST})
    assert kept.status_code == 201, kept.text
    assert (kept.json()["tables"], kept.json()["end"]) == (["T1"], hold["end"])
    # A longer turn with nothing in the way: confirmed, on the longer window.
    longer = _hold(staff, base, 2, ["T2"])
    _change(staff, base, lambda d: _service(d)["turns"][0].update(minutes=90))
    confirmed = staff.post(f"{base}/holds/{longer['id']}/confirm", json={"guest": GUEST})
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["tables"] == ["T2"]
    assert confirmed.json()["end"] == f"{DAY}T20:30:00+00:00"
    timeline = staff.get(f"{base}/timeline", params={"date": DAY}).json()
    t2 = next(t for t in timeline["tables"] if t["label"] == "T2")
    assert [(a["id"], a["end"]) for a in t2["allocations"]] == [(confirmed.json()["id"], f"{DAY}T20:30:00+00:00")]
    audit_clean(owner_url, base)


def test_an_unchanged_venue_costs_no_extra_query(
    room_of: Callable[[dict[str, Any]], Room],
    statements: StatementCounter,
) -> None:
    base, staff = room_of(drift_venue())

    def confirm_count(hold: dict[str, Any]) -> int:
        staff.get(f"{base}/availability", params={"date": DAY, "party_size": 2})  # the snapshot is cached
        before = statements.count
        confirmed = staff.post(f"{base}/holds/{hold['id']}/confirm", json={"guest": GUEST})
        assert confirmed.status_code == 201, confirmed.text
        return statements.count - before

    snapshot.clear_cache()
    unchanged = confirm_count(_hold(staff, base, 2, ["T1"]))
    again = confirm_count(_hold(staff, base, 2, ["T2"]))
    held = _hold(staff, base, 2, ["T3"])
    _change(staff, base, lambda d: d["zones"][0].update(name="Main room"))
    changed = confirm_count(held)
    assert unchanged == again
    assert changed == unchanged + 2  # re-validation reads the ledger: allocations and pacing
