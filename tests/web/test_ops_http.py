"""The dashboard's session and CSRF guards over plain HTTP (no browser)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, DAY, client_for, small_venue

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(response: httpx.Response) -> str:
    match = CSRF.search(response.text)
    assert match, response.text[:500]
    return match.group(1)


@pytest.fixture
def browserless(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30, follow_redirects=False) as c:
        yield c


@pytest.fixture
def restaurant(create_restaurant: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return create_restaurant(small_venue(tables=3))


def sign_in(client: httpx.Client, key: str) -> httpx.Response:
    token = csrf_of(client.get("/ops"))
    return client.post("/ops/sign-in", data={"csrf": token, "api_key": key})


def test_the_session_cookie_is_signed_httponly_samesite_and_holds_no_key(
    browserless: httpx.Client, restaurant: dict[str, Any]
) -> None:
    key = restaurant["api_keys"]["staff"]
    response = sign_in(browserless, key)
    assert response.status_code == 303
    assert response.headers["location"] == f"/ops/{restaurant['id']}/timeline"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Path=/ops" in cookie
    assert key not in cookie
    assert key.split("_")[2] not in cookie
    page = browserless.get(f"/ops/{restaurant['id']}/timeline", params={"date": DAY})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert key not in page.text


def test_a_tampered_or_missing_cookie_is_signed_out(browserless: httpx.Client, restaurant: dict[str, Any]) -> None:
    rid = restaurant["id"]
    assert browserless.get(f"/ops/{rid}/timeline").headers["location"] == "/ops"
    sign_in(browserless, restaurant["api_keys"]["staff"])
    value = browserless.cookies["seatwise_ops"]
    browserless.cookies.clear()
    browserless.cookies.set("seatwise_ops", value[:-2] + ("AA" if not value.endswith("AA") else "BB"), path="/ops")
    response = browserless.get(f"/ops/{rid}/timeline")
    assert response.status_code == 303
    assert response.headers["location"] == "/ops"


def test_forms_without_the_csrf_token_are_refused_and_change_nothing(
    browserless: httpx.Client, restaurant: dict[str, Any], base_url: str
) -> None:
    rid = restaurant["id"]
    # Sign-in itself needs the token (no login CSRF).
    browserless.get("/ops")
    refused = browserless.post("/ops/sign-in", data={"api_key": restaurant["api_keys"]["staff"]})
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    assert browserless.get(f"/ops/{rid}/timeline").status_code == 303  # still signed out

    sign_in(browserless, restaurant["api_keys"]["staff"])
    with client_for(base_url, restaurant["api_keys"]["staff"]) as staff:
        booking = staff.post(
            f"/v1/restaurants/{rid}/bookings",
            json={"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "Ada"}},
        ).json()
        for data in ({"action": "cancel"}, {"action": "cancel", "csrf": "forged"}):
            response = browserless.post(f"/ops/{rid}/bookings/{booking['id']}/status", data=data)
            assert response.status_code == 403
        assert staff.get(f"/v1/restaurants/{rid}/bookings/{booking['id']}").json()["status"] == "confirmed"
        token = csrf_of(browserless.get(f"/ops/{rid}/timeline", params={"date": DAY}))
        done = browserless.post(f"/ops/{rid}/bookings/{booking['id']}/status", data={"action": "cancel", "csrf": token})
        assert done.status_code == 303
        assert staff.get(f"/v1/restaurants/{rid}/bookings/{booking['id']}").json()["status"] == "cancelled"


def test_sign_out_ends_the_session(browserless: httpx.Client, restaurant: dict[str, Any]) -> None:
    rid = restaurant["id"]
    sign_in(browserless, restaurant["api_keys"]["staff"])
    token = csrf_of(browserless.get(f"/ops/{rid}/timeline"))
    assert browserless.post("/ops/sign-out", data={"csrf": token}).status_code == 303
    assert browserless.get(f"/ops/{rid}/timeline").headers["location"] == "/ops"


def test_channel_and_unknown_keys_cannot_sign_in(browserless: httpx.Client, restaurant: dict[str, Any]) -> None:
    for key, status in ((restaurant["api_keys"]["channel"], 403), ("sw_nonsense", 401)):
        response = sign_in(browserless, key)
        assert response.status_code == status
        assert 'aria-invalid="true"' in response.text
        assert browserless.get(f"/ops/{restaurant['id']}/timeline").headers["location"] == "/ops"


def test_a_revoked_key_ends_its_sessions(
    browserless: httpx.Client, restaurant: dict[str, Any], admin: httpx.Client
) -> None:
    rid = restaurant["id"]
    created = admin.post(f"/v1/restaurants/{rid}/api-keys", json={"role": "staff"}).json()
    sign_in(browserless, created["key"])
    assert browserless.get(f"/ops/{rid}/timeline").status_code == 200
    assert admin.delete(f"/v1/restaurants/{rid}/api-keys/{created['id']}").status_code == 204
    assert browserless.get(f"/ops/{rid}/timeline").headers["location"] == "/ops"


def test_a_staff_session_sees_only_its_restaurant(
    browserless: httpx.Client, restaurant: dict[str, Any], create_restaurant: Callable[..., dict[str, Any]]
) -> None:
    other = create_restaurant(small_venue(tables=2))
    sign_in(browserless, restaurant["api_keys"]["staff"])
    for path in ("timeline", "floor", "summary", "venue", "keys"):
        response = browserless.get(f"/ops/{other['id']}/{path}")
        assert response.status_code == 404, path
        assert "NOT_FOUND" in response.text
    assert browserless.get("/ops/not-a-uuid/timeline").status_code == 404
    assert browserless.get(f"/ops/{restaurant['id']}/timeline", params={"date": "2027-02-30"}).status_code == 422


def test_the_admin_picks_a_restaurant(browserless: httpx.Client, restaurant: dict[str, Any]) -> None:
    assert sign_in(browserless, ADMIN_KEY).headers["location"] == "/ops"
    picker = browserless.get("/ops")
    assert "Restaurant id" in picker.text
    token = csrf_of(picker)
    bad = browserless.post("/ops/pick", data={"csrf": token, "restaurant_id": "nope"})
    assert bad.status_code == 404
    chosen = browserless.post("/ops/pick", data={"csrf": token, "restaurant_id": restaurant["id"]})
    assert chosen.headers["location"] == f"/ops/{restaurant['id']}/timeline"
    assert browserless.get(chosen.headers["location"]).status_code == 200


def test_a_venue_change_that_strands_bookings_lists_them_and_saves_nothing(
    browserless: httpx.Client, restaurant: dict[str, Any], base_url: str, admin: httpx.Client
) -> None:
    rid = restaurant["id"]
    with client_for(base_url, restaurant["api_keys"]["staff"]) as staff:
        staff.post(
            f"/v1/restaurants/{rid}/bookings",
            json={"party_size": 4, "start": f"{DAY}T19:00", "guest": {"name": "Ada"}, "table_labels": ["T3"]},
        ).raise_for_status()
    before = admin.get(f"/v1/restaurants/{rid}/venue").json()
    sign_in(browserless, restaurant["api_keys"]["staff"])
    token = csrf_of(browserless.get(f"/ops/{rid}/venue"))
    form = [("csrf", token), ("action", "save"), *flatten(before)]
    form.append((f"tables[{labels(before).index('T3')}].remove", "on"))  # T3 has a booking ahead
    data: dict[str, list[str]] = {}
    for k, v in form:
        data.setdefault(k, []).append(v)
    response = browserless.post(f"/ops/{rid}/venue", data=data)
    assert response.status_code == 409
    assert "Bookings this change would strand" in response.text
    assert "T3" in response.text
    assert admin.get(f"/v1/restaurants/{rid}/venue").json() == before


def labels(doc: dict[str, Any]) -> list[str]:
    return [t["label"] for t in doc["tables"]]


def flatten(value: Any, path: str = "") -> list[tuple[str, str]]:
    """A venue document as the editor's form fields (checkboxes: "on" when true)."""
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in flatten(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        if path.endswith(".days"):
            return [(path, d) for d in value]
        if path == "adjacency":
            return [(f"adjacency[{i}].{e}", x) for i, pair in enumerate(value) for e, x in zip("ab", pair, strict=True)]
        return [pair for i, v in enumerate(value) for pair in flatten(v, f"{path}[{i}]")]
    if value is None or value is False:
        return []
    return [(path, "on" if value is True else str(value))]


def test_a_walk_in_is_booked_from_now_and_seated(
    browserless: httpx.Client, create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> None:
    doc = small_venue(tables=2)
    doc["timezone"] = "UTC"
    morning = doc["policy"]["services"][0]
    del morning["last_seating"]
    evening = {**morning, "name": "evening", "start": "12:00", "end": "00:00"}
    morning.update(start="00:00", end="12:00")
    doc["policy"]["services"].append(evening)  # open around the clock: "now" is always in a service
    restaurant = create_restaurant(doc)
    rid = restaurant["id"]
    sign_in(browserless, restaurant["api_keys"]["staff"])
    token = csrf_of(browserless.get(f"/ops/{rid}/timeline"))
    response = browserless.post(f"/ops/{rid}/walk-ins", data={"csrf": token, "party_size": "3", "name": ""})
    assert response.status_code == 303, response.text
    booking_id = response.headers["location"].split("booking=")[1].split("&")[0]
    with client_for(base_url, restaurant["api_keys"]["staff"]) as staff:
        booking = staff.get(f"/v1/restaurants/{rid}/bookings/{booking_id}").json()
    assert (booking["status"], booking["party_size"], booking["guest"]["name"]) == ("seated", 3, "Walk-in")
    assert len(booking["tables"]) == 1
    refused = browserless.post(f"/ops/{rid}/walk-ins", data={"csrf": token, "party_size": "zero"})
    assert refused.status_code == 422
    assert "party size must be a whole number" in refused.text


def test_reschedule_and_a_refused_booking_from_the_forms(
    browserless: httpx.Client, restaurant: dict[str, Any], base_url: str
) -> None:
    rid = restaurant["id"]
    sign_in(browserless, restaurant["api_keys"]["staff"])
    token = csrf_of(browserless.get(f"/ops/{rid}/timeline", params={"date": DAY}))
    made = browserless.post(
        f"/ops/{rid}/bookings",
        data={"csrf": token, "date": DAY, "time": "19:00", "party_size": "2", "name": "Ada", "phone": ""},
    )
    assert made.status_code == 303
    booking_id = made.headers["location"].split("booking=")[1].split("&")[0]
    moved = browserless.post(
        f"/ops/{rid}/bookings/{booking_id}/reschedule",
        data={"csrf": token, "date": DAY, "new_date": DAY, "new_time": "20:15", "new_party_size": "3"},
    )
    assert moved.status_code == 303
    with client_for(base_url, restaurant["api_keys"]["staff"]) as staff:
        booking = staff.get(f"/v1/restaurants/{rid}/bookings/{booking_id}").json()
    assert (booking["start"][11:16], booking["party_size"]) == ("20:15", 3)

    # Three four-tops cannot seat 40: the refusal is shown with its reason, nothing booked.
    refused = browserless.post(
        f"/ops/{rid}/bookings",
        data={"csrf": token, "date": DAY, "time": "19:00", "party_size": "20", "name": "Big party"},
    )
    assert refused.status_code == 409
    assert "Refused" in refused.text
    assert "no table can take this party at that time" in refused.text
    nameless = browserless.post(
        f"/ops/{rid}/bookings", data={"csrf": token, "date": DAY, "time": "19:00", "party_size": "2", "name": ""}
    )
    assert nameless.status_code == 422
    assert "name is required" in nameless.text
    with client_for(base_url, restaurant["api_keys"]["staff"]) as staff:
        assert [
            b["guest"]["name"] for b in staff.get(f"/v1/restaurants/{rid}/bookings", params={"date": DAY}).json()
        ] == ["Ada"]
