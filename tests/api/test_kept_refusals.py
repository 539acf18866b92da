"""Kept refusals (services.refusals): a "no room" refusal is answered again from the
ledger version it was decided for, without a transaction, and never once the
ledger or time has changed it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from seatwise import telemetry
from seatwise.services import gates
from seatwise.services.refusals import Refusal, RefusalCache, RefusalKey
from tests.conftest import DAY, StatementCounter, client_for, on_own_loop, small_venue

GUEST = {"name": "Grace Hopper"}


def _hits() -> float:
    return float(telemetry.REFUSALS_KEPT.labels("hit")._value.get())


@pytest.fixture
def full_room(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> Iterator[tuple[dict[str, Any], httpx.Client, str]]:
    """One table, booked at 19:00: a party of 2 at 19:00 finds no room."""
    r = create_restaurant(small_venue(tables=1, hold_ttl_seconds=2))
    with client_for(base_url, r["api_keys"]["channel"]) as channel:
        url = f"/v1/restaurants/{r['id']}/bookings"
        first = channel.post(url, json={"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST})
        assert first.status_code == 201, first.text
        yield r, channel, first.json()["id"]


def test_a_refusal_is_answered_again_without_a_transaction(
    full_room: tuple[dict[str, Any], httpx.Client, str], statements: StatementCounter
) -> None:
    r, channel, _ = full_room
    url = f"/v1/restaurants/{r['id']}/bookings"
    body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST}
    decided = channel.post(url, json=body)
    assert decided.status_code == 409
    assert decided.json()["code"] == "CAPACITY_EXCEEDED"
    before, hits = statements.sync, _hits()
    again = channel.post(url, json={**body, "guest": {"name": "Someone Else"}})  # the guest does not matter
    assert again.status_code == 409
    same = {k: v for k, v in decided.json().items() if k != "request_id"}
    assert {k: v for k, v in again.json().items() if k != "request_id"} == same  # alternatives included
    assert statements.sync == before  # only the read probe (asyncpg), no transaction
    assert _hits() == hits + 1
    hold = channel.post(f"/v1/restaurants/{r['id']}/holds", json={"party_size": 2, "start": f"{DAY}T19:00"})
    assert hold.status_code == 409  # a hold of the same shape is refused by the same kept refusal
    assert statements.sync == before
    assert _hits() == hits + 2


def test_a_cancellation_is_seen_by_the_very_next_request(full_room: tuple[dict[str, Any], httpx.Client, str]) -> None:
    r, channel, booking_id = full_room
    url = f"/v1/restaurants/{r['id']}/bookings"
    body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST}
    for _ in range(2):
        assert channel.post(url, json=body).status_code == 409  # decided, then kept
    assert channel.post(f"{url}/{booking_id}/cancel").status_code == 200
    booked = channel.post(url, json=body)  # the cancel bumped the ledger version
    assert booked.status_code == 201, booked.text
    assert booked.json()["tables"] == ["T1"]


def test_control_a_cache_blind_to_the_ledger_version_answers_a_stale_refusal(
    full_room: tuple[dict[str, Any], httpx.Client, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The protection off (kept refusals looked up whatever ledger version was read):
    the cancellation test above then sees the stale refusal, so it would catch one."""
    original = RefusalCache.get

    def blind(self: RefusalCache, key: RefusalKey, now: datetime) -> Refusal | None:
        for kept in self._entries.keys():
            if kept[:4] == key[:4]:
                return original(self, kept, now)
        return None

    monkeypatch.setattr(RefusalCache, "get", blind)
    r, channel, booking_id = full_room
    url = f"/v1/restaurants/{r['id']}/bookings"
    body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST}
    for _ in range(2):
        assert channel.post(url, json=body).status_code == 409
    assert channel.post(f"{url}/{booking_id}/cancel").status_code == 200
    stale = channel.post(url, json=body)
    assert stale.status_code == 409  # wrong: the table is free
    assert stale.json()["code"] == "CAPACITY_EXCEEDED"


def test_a_kept_refusal_ends_when_a_hold_in_its_way_expires(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> None:
    r = create_restaurant(small_venue(tables=1, hold_ttl_seconds=2))
    with client_for(base_url, r["api_keys"]["channel"]) as channel:
        base = f"/v1/restaurants/{r['id']}"
        assert channel.post(f"{base}/holds", json={"party_size": 2, "start": f"{DAY}T19:00"}).status_code == 201
        body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST}
        hits = _hits()
        assert channel.post(f"{base}/bookings", json=body).status_code == 409
        assert channel.post(f"{base}/bookings", json=body).status_code == 409
        assert _hits() == hits + 1  # kept while the hold lives
        time.sleep(2.2)  # the hold expires; no write bumps the version
        booked = channel.post(f"{base}/bookings", json=body)
        assert booked.status_code == 201, booked.text


def test_named_tables_and_shadow_mode_are_never_answered_from_kept_refusals(
    full_room: tuple[dict[str, Any], httpx.Client, str],
    create_restaurant: Callable[..., dict[str, Any]],
    base_url: str,
    statements: StatementCounter,
) -> None:
    r, channel, _ = full_room
    url = f"/v1/restaurants/{r['id']}/bookings"
    body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST}
    assert channel.post(url, json=body).status_code == 409  # kept
    before, hits = statements.sync, _hits()
    named = channel.post(url, json={**body, "table_labels": ["T1"]})
    assert named.status_code == 409
    assert named.json()["code"] == "TABLE_CONFLICT"
    assert statements.sync > before
    assert _hits() == hits

    document = small_venue(tables=1)
    document["policy"]["enforcement"] = "shadow"
    shadow = create_restaurant(document)
    with client_for(base_url, shadow["api_keys"]["channel"]) as c:
        surl = f"/v1/restaurants/{shadow['id']}/bookings"
        answers = [c.post(surl, json=body) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert [a.json()["overbooked"] for a in answers] == [False, True, True]
    assert _hits() == hits


def test_a_key_is_looked_up_before_a_kept_refusal_answers_it(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, statements: StatementCounter
) -> None:
    """A keyed request is answered from a kept refusal only inside its transaction,
    after its key was looked up: a used key is still a replay, a fresh one refused."""
    r = create_restaurant(small_venue(tables=1))
    with client_for(base_url, r["api_keys"]["channel"]) as channel:
        url = f"/v1/restaurants/{r['id']}/bookings"
        body = {"party_size": 2, "start": f"{DAY}T19:00", "guest": GUEST}
        first = channel.post(url, json=body, headers={"Idempotency-Key": "the-one"})
        assert first.status_code == 201, first.text  # it took the only table
        assert channel.post(url, json=body).status_code == 409  # decided and kept
        hits = _hits()
        replay = channel.post(url, json=body, headers={"Idempotency-Key": "the-one"})
        assert replay.status_code == 200, replay.text  # not the kept refusal
        assert replay.json() == first.json()
        assert _hits() == hits
        before = statements.sync
        fresh = channel.post(url, json=body, headers={"Idempotency-Key": "another"})
        assert fresh.status_code == 409
        assert fresh.json()["code"] == "CAPACITY_EXCEEDED"
        assert statements.sync > before  # in its transaction: the key was looked up first
        assert _hits() == hits + 1  # then the kept refusal answered, without planning


def test_one_request_per_slot_passes_its_gate_and_waiters_look_when_a_refusal_is_kept() -> None:
    async def scenario() -> None:
        at = gates.gates()
        order: list[str] = []
        looks: list[str] = []

        async def writer(name: str, holding: float, raises: bool = False) -> None:
            async def look() -> None:
                looks.append(name)
                if raises:
                    raise LookupError(name)  # as a kept refusal is raised: the request is answered

            async with at.passage("slot", look):
                order.append(f"in {name}")
                await asyncio.sleep(holding)
                order.append(f"out {name}")

        first = asyncio.create_task(writer("a", 0.3))
        await asyncio.sleep(0.02)
        second = asyncio.create_task(writer("b", 0))
        answered = asyncio.create_task(writer("c", 0, raises=True))
        async with at.passage("other slot", None):  # another slot's gate is free
            order.append("other")
        await asyncio.sleep(0.02)
        gates.refusal_kept("other slot")  # wakes nobody waiting at "slot"
        await asyncio.sleep(0.02)
        assert looks == []
        gates.refusal_kept("slot")  # every waiter of the slot looks
        await asyncio.sleep(0.02)
        assert sorted(looks) == ["b", "c"]
        with pytest.raises(LookupError):
            await answered
        await asyncio.gather(first, second)
        assert order == ["in a", "other", "out a", "in b", "out b"]
        assert at._gates == {}  # nothing left behind

        async def patient() -> None:
            async with at.passage("slot", None, patience=0.05):
                order.append("patient in")

        async with at.passage("slot", None):
            started = time.monotonic()
            await patient()  # the gate stays busy: it goes on without it
            assert time.monotonic() - started >= 0.04
        assert order[-1] == "patient in"

    on_own_loop(scenario, timeout=30)


def test_waiters_pass_a_gate_in_the_order_they_came() -> None:
    async def scenario() -> None:
        at = gates.gates()
        order: list[str] = []

        async def writer(name: str) -> None:
            async with at.passage("slot", None):
                order.append(name)
                await asyncio.sleep(0.01)

        tasks = []
        for name in "abcdefgh":
            tasks.append(asyncio.create_task(writer(name)))
            await asyncio.sleep(0.002)
        await asyncio.gather(*tasks)
        assert order == list("abcdefgh")

    on_own_loop(scenario, timeout=30)
