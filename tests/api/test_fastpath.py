"""The fast path (api.fastpath) answers exactly as the routes do: the same status,
body and headers, for answers and refusals alike, for availability and for direct
bookings; what it cannot answer goes to the route; its requests are counted under
the route's template."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from seatwise.api import fastpath
from seatwise.api.metrics import REQUESTS
from tests.conftest import ADMIN_KEY, DAY, small_venue

TEMPLATE = "/v1/restaurants/{rid}/availability"
VARYING = {"date", "x-request-id"}
VARYING_FIELDS = {"id", "created_at", "updated_at", "request_id", "expires_at"}


def _seen(response: httpx.Response) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in response.headers.items() if k not in VARYING}
    body = response.json()
    if isinstance(body, dict):
        body.pop("request_id", None)  # a problem names its request
    return response.status_code, headers, body


def _count(status: str) -> float:
    return float(REQUESTS.labels(TEMPLATE, "GET", status)._value.get())


@pytest.fixture
def route_only(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call to send every availability request the normal way (no fast path)."""

    def switch_off() -> None:
        async def none(_self: Any, _scope: Any, _rid: str) -> None:
            return None

        monkeypatch.setattr(fastpath.FastPath, "_availability", none)

    return switch_off


@pytest.fixture
def room(create_restaurant: Callable[..., dict[str, Any]], base_url: str) -> tuple[dict[str, Any], str]:
    r = create_restaurant(small_venue(tables=2))
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {r['api_keys']['channel']}"}) as c:
        booked = c.post(
            f"/v1/restaurants/{r['id']}/bookings",
            json={"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "Ada"}},
        )
        assert booked.status_code == 201, booked.text
    return r, base_url


def _cases(r: dict[str, Any], other: dict[str, Any]) -> list[tuple[str, dict[str, str], str | None]]:
    """(path, query, key): answers, refusals, and what only the route answers."""
    avail = f"/v1/restaurants/{r['id']}/availability"
    channel = r["api_keys"]["channel"]
    return [
        (avail, {"date": DAY, "party_size": "2"}, channel),
        (avail, {"date": DAY, "party_size": "2", "time": "19:00"}, channel),
        (avail, {"date": DAY, "party_size": "2", "time": "19:07"}, channel),  # off the grid
        (avail, {"date": DAY, "party_size": "2", "unknown": "x"}, ADMIN_KEY),  # unknown parameters ignored
        (avail, {"date": "2027-02-30", "party_size": "2"}, channel),  # no such date: a refusal
        (avail, {"date": DAY, "party_size": "2", "time": "03:00"}, channel),  # outside service hours: not available
        (avail, {"date": DAY, "party_size": "2"}, "sw_not_a_key"),  # 401
        (avail, {"date": DAY, "party_size": "2"}, None),  # 401, no header
        (avail, {"date": DAY, "party_size": "2"}, other["api_keys"]["channel"]),  # another restaurant's key
        ("/v1/restaurants/not-an-id/availability", {"date": DAY, "party_size": "2"}, channel),
        (avail, {"date": DAY, "party_size": "+2"}, channel),  # 422 from the route
        (avail, {"date": DAY}, channel),  # 422: party_size missing
    ]


def test_the_fast_path_answers_exactly_as_the_route(
    room: tuple[dict[str, Any], str], create_restaurant: Callable[..., dict[str, Any]], route_only: Callable[[], None]
) -> None:
    r, base_url = room
    other = create_restaurant(small_venue(tables=1))
    cases = _cases(r, other)

    def ask() -> list[tuple[int, dict[str, str], Any]]:
        answers = []
        with httpx.Client(base_url=base_url) as c:
            for path, query, key in cases:
                headers = {"Authorization": f"Bearer {key}"} if key else {}
                answers.append(_seen(c.get(path, params=query, headers=headers)))
        return answers

    answered: list[object] = []
    real = fastpath.FastPath._availability

    async def counted(self: Any, scope: Any, rid: str) -> Any:
        response = await real(self, scope, rid)
        answered.append(response)
        return response

    ok_before = _count("200")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fastpath.FastPath, "_availability", counted)
        fast = ask()
    # All but the two queries the route refuses field by field were answered here.
    assert [a is not None for a in answered] == [True] * 10 + [False] * 2
    assert _count("200") == ok_before + 5  # counted under the route's template
    route_only()
    assert ask() == fast
    statuses = [status for status, _, _ in fast]
    assert statuses == [200, 200, 200, 200, 422, 200, 401, 401, 404, 404, 422, 422]
    assert fast[0][1]["content-type"] == "application/json"
    assert fast[0][1]["x-content-type-options"] == "nosniff"
    assert fast[6][1]["www-authenticate"] == "Bearer"


def test_a_booking_is_in_the_next_answer_of_the_fast_path(room: tuple[dict[str, Any], str]) -> None:
    r, base_url = room
    url = f"/v1/restaurants/{r['id']}/availability"
    query = {"date": DAY, "party_size": "2", "time": "19:00"}
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {r['api_keys']['channel']}"}) as c:
        before = c.get(url, params=query).json()
        assert before["available"] is True
        again = c.get(url, params=query).json()  # from the cache
        assert again == before
        booked = c.post(url.replace("availability", "bookings"), json={**_body(), "start": f"{DAY}T19:00"})
        assert booked.status_code == 201, booked.text
        after = c.get(url, params=query).json()
        assert after["available"] is False  # the second of two tables: none left at 19:00


def _body() -> dict[str, Any]:
    return {"party_size": 2, "guest": {"name": "Grace"}}


def _normalised(value: Any, ids: set[str]) -> Any:
    """`value` with what differs between two equal histories taken out: ids,
    restaurants' ids and times of creation."""
    if isinstance(value, dict):
        return {k: _normalised(v, ids) for k, v in value.items() if k not in VARYING_FIELDS}
    if isinstance(value, list):
        return [_normalised(v, ids) for v in value]
    if isinstance(value, str):
        for rid in ids:
            value = value.replace(rid, "<restaurant>")
    return value


Step = tuple[str, str | None, dict[str, str], Any]  # path, key (None: no header), headers, body


def _both_ways(
    create_restaurant: Callable[..., dict[str, Any]],
    base_url: str,
    monkeypatch: pytest.MonkeyPatch,
    steps: Callable[[dict[str, Any], dict[str, Any]], list[Step]],
) -> tuple[list[tuple[int, dict[str, str], Any]], list[bool]]:
    """`steps` POSTed to one restaurant through the fast path and to another in the
    same state the normal way; the answers (ids and times taken out), checked equal,
    and which ones the fast path answered itself."""

    def history(r: dict[str, Any], other: dict[str, Any]) -> list[tuple[int, dict[str, str], Any]]:
        seen = []
        with httpx.Client(base_url=base_url) as c:
            for path, key, headers, body in steps(r, other):
                sent = {"Content-Type": "application/json", **headers}
                if key:
                    sent["Authorization"] = f"Bearer {key}"
                content = body if isinstance(body, bytes) else json.dumps(body).encode()
                status, kept, answer = _seen(c.post(path, content=content, headers=sent))
                seen.append((status, kept, _normalised(answer, {r["id"], other["id"]})))
        return seen

    doc = small_venue(tables=2)
    fast_room, route_room, other = create_restaurant(doc), create_restaurant(doc), create_restaurant(doc)
    real, parsed = fastpath._write_body, []

    def counted(*args: Any, **kwargs: Any) -> Any:
        parsed.append(real(*args, **kwargs))
        return parsed[-1]

    monkeypatch.setattr(fastpath, "_write_body", counted)
    fast = history(fast_room, other)
    monkeypatch.setattr(fastpath, "_write_body", lambda *_a, **_k: None)  # every write the normal way
    assert history(route_room, other) == fast
    return fast, [p is not None for p in parsed]


def test_a_booking_by_the_fast_path_is_answered_as_by_the_route(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    guest = {"name": "Ada"}

    def steps(r: dict[str, Any], other: dict[str, Any]) -> list[Step]:
        url = f"/v1/restaurants/{r['id']}/bookings"
        channel, staff = r["api_keys"]["channel"], r["api_keys"]["staff"]
        at = {"start": f"{DAY}T21:00", "guest": guest}
        return [
            (url, channel, {}, {"party_size": 2, "start": f"{DAY}T19:00", "guest": guest}),
            (url, channel, {"Idempotency-Key": "k1"}, {"party_size": 2, "start": f"{DAY}T19:00", "guest": guest}),
            (url, channel, {"Idempotency-Key": "k1"}, {"party_size": 2, "start": f"{DAY}T19:00", "guest": guest}),
            (url, channel, {"Idempotency-Key": "k1"}, {"party_size": 3, "start": f"{DAY}T19:00", "guest": guest}),
            (url, channel, {}, {"party_size": 2, "start": f"{DAY}T19:00", "guest": guest}),  # the room is full
            (url, channel, {}, {"party_size": 40, "start": f"{DAY}T20:00", "guest": guest}),
            (url, channel, {}, {"party_size": 2, "start": "2020-01-01T19:00", "guest": guest}),
            (url, channel, {}, {"party_size": 2, "start": f"{DAY}T03:00", "guest": guest}),
            (url, staff, {}, {"party_size": 2, "start": f"{DAY}T20:00", "guest": guest, "table_labels": ["T1"]}),
            (url, channel, {}, {"party_size": 2, **at, "allow_slack": True}),
            (url, "sw_not_a_key", {}, {"party_size": 2, **at}),
            (url, None, {}, {"party_size": 2, **at}),
            (url, other["api_keys"]["channel"], {}, {"party_size": 2, **at}),
            ("/v1/restaurants/x/bookings", channel, {}, {"party_size": 2, **at}),
            # What only the route judges: the body, the key's bounds, the content type.
            (url, channel, {}, {"party_size": "2", **at}),
            (url, channel, {}, {"party_size": 2, **at, "extra": 1}),
            (url, None, {}, {"party_size": "2", **at}),
            (url, channel, {"Idempotency-Key": ""}, {"party_size": 2, **at}),
            (url, channel, {"Idempotency-Key": "k" * 201}, {"party_size": 2, **at}),
            (url, channel, {}, b"{not json"),
            (url, channel, {"Content-Type": "text/plain"}, b'{"party_size": 2}'),
        ]

    fast, answered_here = _both_ways(create_restaurant, base_url, monkeypatch, steps)
    assert answered_here == [True] * 14 + [False] * 7
    assert [status for status, _, _ in fast] == [
        201, 201, 200, 409, 409, 422, 422, 422, 201, 403, 401, 401, 404, 404, 422, 422, 401, 422, 422, 422, 422
    ]  # fmt: skip


def test_a_hold_by_the_fast_path_is_answered_as_by_the_route(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def steps(r: dict[str, Any], other: dict[str, Any]) -> list[Step]:
        url = f"/v1/restaurants/{r['id']}/holds"
        channel, staff = r["api_keys"]["channel"], r["api_keys"]["staff"]
        return [
            (url, channel, {}, {"party_size": 2, "start": f"{DAY}T19:00"}),
            (url, channel, {"Idempotency-Key": ""}, {"party_size": 2, "start": f"{DAY}T19:00"}),  # not a hold's header
            (url, channel, {}, {"party_size": 2, "start": f"{DAY}T19:00"}),  # the room is full
            (url, channel, {}, {"party_size": 40, "start": f"{DAY}T20:00"}),
            (url, channel, {}, {"party_size": 2, "start": "2020-01-01T19:00"}),
            (url, channel, {}, {"party_size": 2, "start": f"{DAY}T03:00"}),
            (url, staff, {}, {"party_size": 2, "start": f"{DAY}T20:00", "table_labels": ["T1"]}),
            (url, "sw_not_a_key", {}, {"party_size": 2, "start": f"{DAY}T21:00"}),
            (url, other["api_keys"]["channel"], {}, {"party_size": 2, "start": f"{DAY}T21:00"}),
            ("/v1/restaurants/x/holds", channel, {}, {"party_size": 2, "start": f"{DAY}T21:00"}),
            (url, channel, {}, {"party_size": 2, "start": f"{DAY}T21:00", "guest": {"name": "Ada"}}),  # route: extra
            (url, channel, {}, b"[]"),
        ]

    fast, answered_here = _both_ways(create_restaurant, base_url, monkeypatch, steps)
    assert answered_here == [True] * 10 + [False] * 2
    assert [status for status, _, _ in fast] == [201, 201, 409, 422, 422, 422, 201, 401, 404, 404, 422, 422]
