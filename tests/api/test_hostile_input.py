"""Hostile input (issue 9): a clear 4xx with a stable code, never a 500, nothing written."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import DAY, client_for, small_venue

GUEST = {"name": "Ada Lovelace", "phone": "+44 20 7946 0000", "email": "ada@example.com"}


@pytest.fixture
def venue(create_restaurant: Callable[..., dict[str, Any]], base_url: str) -> Iterator[tuple[str, httpx.Client]]:
    r = create_restaurant(small_venue(tables=3))
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        yield f"/v1/restaurants/{r['id']}", staff


def _rows(owner_url: str, rid_path: str) -> tuple[int, int, int]:
    rid = rid_path.rsplit("/", 1)[-1]
    with psycopg.connect(owner_url) as conn:
        row = conn.execute(
            """SELECT (SELECT count(*) FROM bookings WHERE restaurant_id = %(r)s),
                      (SELECT count(*) FROM blocks WHERE restaurant_id = %(r)s),
                      (SELECT count(*) FROM allocations WHERE restaurant_id = %(r)s)""",
            {"r": rid},
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def _refused(response: httpx.Response, path: str | None = None) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    if path is not None:
        assert path in [e["path"] for e in body.get("errors", [])], body


BAD_GUEST_TEXT = [
    ({"name": "Ada\x00"}, "guest.name"),
    ({"name": "   "}, "guest.name"),
    ({"name": "\t"}, "guest.name"),
    ({"name": "Ada\x07Lovelace"}, "guest.name"),
    ({"name": "Ada\nLovelace"}, "guest.name"),
    ({"name": "Ada\u2028Lovelace"}, "guest.name"),
    ({"phone": "+44\x00"}, "guest.phone"),
    ({"phone": "+44\x1b[31m"}, "guest.phone"),
]


@pytest.mark.parametrize(("change", "path"), BAD_GUEST_TEXT)
def test_bad_guest_text_is_refused_on_a_booking(
    venue: tuple[str, httpx.Client], owner_url: str, change: dict[str, str], path: str
) -> None:
    base, staff = venue
    body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": {**GUEST, **change}}
    _refused(staff.post(f"{base}/bookings", json=body), path)
    assert _rows(owner_url, base) == (0, 0, 0)


@pytest.mark.parametrize(
    "notes", ["a\x00b", "\x00", "bell\x07", "escape\x1b", "form\x0cfeed", "del\x7f", "cr\rlf"], ids=repr
)
def test_control_characters_in_notes_are_refused(venue: tuple[str, httpx.Client], owner_url: str, notes: str) -> None:
    base, staff = venue
    body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST, "notes": notes}
    _refused(staff.post(f"{base}/bookings", json=body), "notes")
    assert _rows(owner_url, base) == (0, 0, 0)


def test_newline_and_tab_are_fine_in_notes(venue: tuple[str, httpx.Client]) -> None:
    base, staff = venue
    body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST, "notes": "window seat\n\tbirthday"}
    r = staff.post(f"{base}/bookings", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["notes"] == "window seat\n\tbirthday"


def test_a_nul_byte_in_an_email_is_refused(venue: tuple[str, httpx.Client], owner_url: str) -> None:
    base, staff = venue
    body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": {**GUEST, "email": "ada\x00@example.com"}}
    _refused(staff.post(f"{base}/bookings", json=body))
    assert _rows(owner_url, base) == (0, 0, 0)


@pytest.mark.parametrize(("change", "path"), [*BAD_GUEST_TEXT[:3], ({"notes": "x\x00"}, "notes")])
def test_bad_text_is_refused_on_a_confirm_and_the_hold_stays(
    venue: tuple[str, httpx.Client], owner_url: str, change: dict[str, str], path: str
) -> None:
    base, staff = venue
    hold = staff.post(f"{base}/holds", json={"party_size": 2, "start": f"{DAY}T19:00"})
    assert hold.status_code == 201
    notes = change.pop("notes", None)
    body: dict[str, Any] = {"guest": {**GUEST, **change}}
    if notes is not None:
        body["notes"] = notes
    _refused(staff.post(f"{base}/holds/{hold.json()['id']}/confirm", json=body), path)
    assert _rows(owner_url, base)[0] == 0
    ok = staff.post(f"{base}/holds/{hold.json()['id']}/confirm", json={"guest": GUEST})
    assert ok.status_code == 201  # the refusal changed nothing


@pytest.mark.parametrize("reason", ["wobbly\x00leg", "bell\x07"], ids=repr)
def test_bad_text_in_a_block_reason_is_refused(venue: tuple[str, httpx.Client], owner_url: str, reason: str) -> None:
    base, staff = venue
    body = {"table_labels": ["T1"], "start": f"{DAY}T17:00", "end": f"{DAY}T18:00", "reason": reason}
    _refused(staff.post(f"{base}/blocks", json=body), "reason")
    assert _rows(owner_url, base) == (0, 0, 0)


def test_a_nul_byte_in_a_venue_document_is_refused(admin: httpx.Client) -> None:
    doc = {**small_venue(tables=1), "slug": "nul-venue", "name": "Nul\x00Room"}
    r = admin.post("/v1/restaurants", json=doc)
    assert r.status_code == 422
    assert r.json()["code"] == "INVALID_VENUE"


@pytest.mark.parametrize("party_size", ["2", "1_0", True, 2.5, 2.0, None, "ten"], ids=repr)
def test_party_size_is_a_json_integer(venue: tuple[str, httpx.Client], owner_url: str, party_size: object) -> None:
    base, staff = venue
    booking = {"party_size": party_size, "start": f"{DAY}T19:00", "guest": GUEST}
    _refused(staff.post(f"{base}/bookings", json=booking), "party_size")
    _refused(staff.post(f"{base}/holds", json={"party_size": party_size, "start": f"{DAY}T19:00"}), "party_size")
    assert _rows(owner_url, base) == (0, 0, 0)


@pytest.mark.parametrize("party_size", ["1_0", " 2", "+2", "2.0", "٢", "0x2"], ids=repr)
def test_party_size_in_a_query_is_plain_digits(venue: tuple[str, httpx.Client], party_size: str) -> None:
    base, staff = venue
    r = staff.get(f"{base}/availability", params={"date": DAY, "party_size": party_size})
    _refused(r, "party_size")


def test_plain_digits_still_work(venue: tuple[str, httpx.Client]) -> None:
    base, staff = venue
    assert staff.get(f"{base}/availability", params={"date": DAY, "party_size": "2"}).status_code == 200
    r = staff.post(f"{base}/bookings", json={"party_size": 4, "start": f"{DAY}T19:00", "guest": GUEST})
    assert r.status_code == 201
    assert r.json()["party_size"] == 4
