"""The whole role matrix over real HTTP: every endpoint x every kind of caller.

Columns: the platform admin key; restaurant A's staff key; A's channel key; the
staff key of another restaurant (B) used on A; no key at all; a staff key of A
that was revoked. Every cell is an exact status; every refusal is problem+json
with the matching code. Each cell gets its own fresh resources (a booking, hold,
block or key made by A's staff, or by the caller when the row says "own").
"""

from __future__ import annotations

import copy
import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, DAY, client_for, small_venue

MATRIX = """
row                         | admin | staff | channel | other | none | revoked
create restaurant           |  201  |  403  |   403   |  403  | 401  |   401
get restaurant              |  200  |  200  |   200   |  404  | 401  |   401
get venue                   |  200  |  200  |   403   |  404  | 401  |   401
replace venue               |  200  |  200  |   403   |  404  | 401  |   401
availability                |  200  |  200  |   200   |  404  | 401  |   401
create hold                 |  201  |  201  |   201   |  404  | 401  |   401
release hold                |  204  |  204  |   204   |  404  | 401  |   401
confirm hold                |  201  |  201  |   201   |  404  | 401  |   401
create booking              |  201  |  201  |   201   |  404  | 401  |   401
list bookings               |  200  |  200  |   403   |  404  | 401  |   401
get booking                 |  200  |  200  |   403   |  404  | 401  |   401
reschedule booking          |  200  |  200  |   403   |  404  | 401  |   401
assign tables               |  200  |  200  |   403   |  404  | 401  |   401
cancel own booking          |  200  |  200  |   200   |  404  | 401  |   401
cancel staff's booking      |  200  |  200  |   404   |  404  | 401  |   401
seat booking                |  200  |  200  |   403   |  404  | 401  |   401
complete booking            |  200  |  200  |   403   |  404  | 401  |   401
no-show booking             |  200  |  200  |   403   |  404  | 401  |   401
timeline                    |  200  |  200  |   403   |  404  | 401  |   401
create block                |  201  |  201  |   403   |  404  | 401  |   401
delete block                |  204  |  204  |   403   |  404  | 401  |   401
create api key              |  201  |  201  |   403   |  404  | 401  |   401
list api keys               |  200  |  200  |   403   |  404  | 401  |   401
revoke api key              |  204  |  204  |   403   |  404  | 401  |   401
create webhook              |  201  |  201  |   403   |  404  | 401  |   401
list webhooks               |  200  |  200  |   403   |  404  | 401  |   401
delete webhook              |  204  |  204  |   403   |  404  | 401  |   401
webhook deliveries          |  200  |  200  |   403   |  404  | 401  |   401
import bookings             |  200  |  200  |   403   |  404  | 401  |   401
optimize service            |  200  |  200  |   403   |  404  | 401  |   401
"""

CODES = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND"}
GUEST = {"name": "Grace Hopper"}


def parse_matrix() -> list[tuple[str, str, int]]:
    lines = MATRIX.strip().splitlines()
    header = [c.strip() for c in lines[0].split("|")][1:]
    cells = []
    for line in lines[1:]:
        name, *statuses = (c.strip() for c in line.split("|"))
        cells += [(name, column, int(status)) for column, status in zip(header, statuses, strict=True)]
    return cells


@dataclass
class World:
    rid: str
    staff: httpx.Client
    document: dict[str, Any]
    days: Iterator[int]

    @property
    def base(self) -> str:
        return f"/v1/restaurants/{self.rid}"

    def fresh_start(self) -> str:
        """A start no other cell uses: one date per cell, so nothing ever competes."""
        return f"{date.fromisoformat(DAY) + timedelta(days=next(self.days))}T19:00"

    def booking(self, client: httpx.Client | None = None) -> dict[str, Any]:
        made = (client or self.staff).post(
            f"{self.base}/bookings", json={"party_size": 2, "start": self.fresh_start(), "guest": GUEST}
        )
        if made.status_code != 201:  # the caller may not create bookings: staff makes it
            return self.booking()
        body: dict[str, Any] = made.json()
        return body

    def hold(self) -> dict[str, Any]:
        made = self.staff.post(f"{self.base}/holds", json={"party_size": 2, "start": self.fresh_start()})
        assert made.status_code == 201, made.text
        body: dict[str, Any] = made.json()
        return body


Call = Callable[[World, httpx.Client], httpx.Response]


def _seated(w: World) -> str:
    b = w.booking()
    assert w.staff.post(f"{w.base}/bookings/{b['id']}/seat").status_code == 200
    return str(b["id"])


CALLS: dict[str, Call] = {
    "create restaurant": lambda w, c: c.post(
        "/v1/restaurants", json={**w.document, "slug": f"m-{next(w.days)}-{w.rid[:8]}"}
    ),
    "get restaurant": lambda w, c: c.get(w.base),
    "get venue": lambda w, c: c.get(f"{w.base}/venue"),
    "replace venue": lambda w, c: c.put(f"{w.base}/venue", json=w.staff.get(f"{w.base}/venue").json()),
    "availability": lambda w, c: c.get(f"{w.base}/availability", params={"date": DAY, "party_size": 2}),
    "create hold": lambda w, c: c.post(f"{w.base}/holds", json={"party_size": 2, "start": w.fresh_start()}),
    "release hold": lambda w, c: c.delete(f"{w.base}/holds/{w.hold()['id']}"),
    "confirm hold": lambda w, c: c.post(f"{w.base}/holds/{w.hold()['id']}/confirm", json={"guest": GUEST}),
    "create booking": lambda w, c: c.post(
        f"{w.base}/bookings", json={"party_size": 2, "start": w.fresh_start(), "guest": GUEST}
    ),
    "import bookings": lambda w, c: c.post(
        f"{w.base}/bookings/import", json=[{"start": w.fresh_start(), "party_size": 2, "name": "Imported"}]
    ),
    "optimize service": lambda w, c: c.post(f"{w.base}/optimize", params={"date": DAY}),
    "list bookings": lambda w, c: c.get(f"{w.base}/bookings", params={"date": DAY}),
    "get booking": lambda w, c: c.get(f"{w.base}/bookings/{w.booking()['id']}"),
    "reschedule booking": lambda w, c: c.patch(f"{w.base}/bookings/{w.booking()['id']}", json={"party_size": 3}),
    "assign tables": lambda w, c: c.put(f"{w.base}/bookings/{w.booking()['id']}/tables", json={"table_labels": ["T5"]}),
    "cancel own booking": lambda w, c: c.post(f"{w.base}/bookings/{w.booking(c)['id']}/cancel"),
    "cancel staff's booking": lambda w, c: c.post(f"{w.base}/bookings/{w.booking()['id']}/cancel"),
    "seat booking": lambda w, c: c.post(f"{w.base}/bookings/{w.booking()['id']}/seat"),
    "complete booking": lambda w, c: c.post(f"{w.base}/bookings/{_seated(w)}/complete"),
    "no-show booking": lambda w, c: c.post(f"{w.base}/bookings/{w.booking()['id']}/no-show"),
    "timeline": lambda w, c: c.get(f"{w.base}/timeline", params={"date": DAY}),
    "create block": lambda w, c: c.post(
        f"{w.base}/blocks", json={"table_labels": ["T9"], "start": w.fresh_start(), "end": w.fresh_start()}
    ),
    "delete block": lambda w, c: c.delete(f"{w.base}/blocks/{_block(w)}"),
    "create api key": lambda w, c: c.post(f"{w.base}/api-keys", json={"role": "channel"}),
    "list api keys": lambda w, c: c.get(f"{w.base}/api-keys"),
    "revoke api key": lambda w, c: c.delete(f"{w.base}/api-keys/{_key(w)}"),
    "create webhook": lambda w, c: c.post(f"{w.base}/webhooks", json=HOOK),
    "list webhooks": lambda w, c: c.get(f"{w.base}/webhooks"),
    "delete webhook": lambda w, c: c.delete(f"{w.base}/webhooks/{_webhook(w)}"),
    "webhook deliveries": lambda w, c: c.get(f"{w.base}/webhooks/{_webhook(w)}/deliveries"),
}
HOOK = {"url": "https://hooks.example.com/seatwise", "events": ["*"]}


def _webhook(w: World) -> str:
    made = w.staff.post(f"{w.base}/webhooks", json=HOOK)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _block(w: World) -> str:
    start = w.fresh_start()
    made = w.staff.post(f"{w.base}/blocks", json={"table_labels": ["T10"], "start": start, "end": start[:11] + "21:00"})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _key(w: World) -> str:
    made = w.staff.post(f"{w.base}/api-keys", json={"role": "channel"})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


@pytest.fixture(scope="module")
def callers(base_url: str) -> Iterator[tuple[World, dict[str, httpx.Client]]]:
    doc = small_venue(tables=10)
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60) as admin:
        made = []
        for n in range(2):
            slug = f"matrix-{n}-{uuid.uuid4().hex[:12]}"
            created = admin.post("/v1/restaurants", json={**copy.deepcopy(doc), "slug": slug})
            assert created.status_code == 201, created.text
            made.append(created.json())
        a, b = made
        staff = client_for(base_url, a["api_keys"]["staff"])
        revoked = staff.post(f"/v1/restaurants/{a['id']}/api-keys", json={"role": "staff"}).json()
        assert staff.delete(f"/v1/restaurants/{a['id']}/api-keys/{revoked['id']}").status_code == 204
        clients = {
            "admin": admin,
            "staff": staff,
            "channel": client_for(base_url, a["api_keys"]["channel"]),
            "other": client_for(base_url, b["api_keys"]["staff"]),
            "none": httpx.Client(base_url=base_url, timeout=60),
            "revoked": client_for(base_url, revoked["key"]),
        }
        world = World(a["id"], staff, doc, itertools.count(1))
        yield world, clients
        for name, client in clients.items():
            if name != "admin":
                client.close()


def test_matrix_lists_every_route(base_url: str) -> None:
    """A new route must get a row: the matrix covers every operation of the API."""
    spec = httpx.get(f"{base_url}/openapi.json").json()
    operations = sum(len(methods) for path, methods in spec["paths"].items() if path.startswith("/v1/"))
    rows = {name for name, _, _ in parse_matrix()}
    assert rows == set(CALLS)
    # Two rows (cancel own / cancel staff's) exercise the same operation.
    assert len(rows) - 1 == operations


@pytest.mark.parametrize(("row", "column", "status"), parse_matrix())
def test_role_matrix(callers: tuple[World, dict[str, httpx.Client]], row: str, column: str, status: int) -> None:
    world, clients = callers
    got = CALLS[row](world, clients[column])
    assert got.status_code == status, (row, column, got.text)
    if status >= 400:
        assert got.headers["content-type"].startswith("application/problem+json")
        problem = got.json()
        assert problem["code"] == CODES[status]
        assert {"type", "title", "status", "detail", "code"} <= set(problem)
