"""The read probe batches concurrent probes (store.probe) and each asker still gets
its own row: its key's role, revocation and versions, never a neighbour's; and a
batch reads the versions after every probe in it was asked for."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import httpx
import pytest

from seatwise.runtime import Runtime
from seatwise.store.probe import PROBE_SQL, PROBE_WAIT, AsyncReads
from tests.conftest import DAY, client_for, on_own_loop


def _statements(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the probe's statements (rows asked for in each)."""
    sent: list[int] = []
    fetch = asyncpg.Connection.fetch

    async def counted(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(len(args[0]))
        return await fetch(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "fetch", counted)
    return sent


def test_concurrent_probes_share_statements_and_keep_their_own_rows(
    runtime: Runtime,
    create_restaurant: Callable[..., dict[str, Any]],
    admin: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = create_restaurant(), create_restaurant()
    revoked = admin.post(f"/v1/restaurants/{b['id']}/api-keys", json={"role": "staff"}).json()
    assert admin.delete(f"/v1/restaurants/{b['id']}/api-keys/{revoked['id']}").status_code == 204
    with client_for(str(admin.base_url), b["api_keys"]["staff"]) as staff:  # a write: b's ledger version moves
        booked = staff.post(
            f"/v1/restaurants/{b['id']}/bookings",
            json={"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "Ada"}},
        )
        assert booked.status_code == 201, booked.text
    unknown_key = f"sw_{uuid.UUID(a['id']).hex}_not-a-secret"
    asks = [
        (a["id"], a["api_keys"]["channel"], ("channel", True, None)),
        (a["id"], a["api_keys"]["staff"], ("staff", True, None)),
        (b["id"], b["api_keys"]["channel"], ("channel", True, None)),
        (b["id"], revoked["key"], ("staff", True, "revoked")),
        (a["id"], unknown_key, (None, False, None)),
        (b["id"], None, (None, False, None)),
        (str(uuid.uuid4()), None, (None, False, None)),  # no such restaurant
    ]
    sent = _statements(monkeypatch)
    reads = AsyncReads(runtime.db.url, max_size=4, max_in_flight=1)

    async def main() -> list[Any]:
        try:
            return await asyncio.gather(*(reads.probe(rid, key) for _ in range(10) for rid, key, _ in asks))
        finally:
            await reads.close()

    answers = on_own_loop(main)
    assert len(answers) == 10 * len(asks)
    assert len(sent) < len(answers) / 4, sent  # batched: far fewer statements than probes
    for i, probe in enumerate(answers):
        rid, _, (role, found, revoked_state) = asks[i % len(asks)]
        assert probe.role == role, (i, probe)
        assert probe.key_found is found, (i, probe)
        assert (probe.revoked_at is not None) is (revoked_state == "revoked"), (i, probe)
        if rid in (a["id"], b["id"]):
            assert probe.venue_version is not None
        else:
            assert probe.venue_version is None
        if rid == b["id"]:
            assert probe.ledger_version > 1  # the booking's commit is seen
    by_restaurant = {asks[i % len(asks)][0]: p.ledger_version for i, p in enumerate(answers)}
    assert by_restaurant[a["id"]] != by_restaurant[b["id"]]


def test_a_probe_asked_after_a_commit_sees_it_while_a_batch_is_out(
    runtime: Runtime, create_restaurant: Callable[..., dict[str, Any]], admin: httpx.Client
) -> None:
    """A probe asked while another statement is out waits for the next one: the
    version it reads is never older than a write committed before it was asked."""
    r = create_restaurant()
    staff = client_for(str(admin.base_url), r["api_keys"]["staff"])
    reads = AsyncReads(runtime.db.url, max_size=2, max_in_flight=1)

    async def main() -> None:
        try:
            before = await reads.probe(r["id"], None)
            for n in range(5):
                slow = asyncio.gather(*(reads.probe(r["id"], None) for _ in range(20)))
                await asyncio.sleep(0)  # the first batch is out
                booked = await asyncio.to_thread(
                    staff.post,
                    f"/v1/restaurants/{r['id']}/bookings",
                    json={"party_size": 2, "start": f"{DAY}T{17 + n}:00", "guest": {"name": "Ada"}},
                )
                assert booked.status_code == 201, booked.text
                after = await reads.probe(r["id"], None)
                assert after.ledger_version > before.ledger_version
                before = after
                await slow
        finally:
            await reads.close()
            staff.close()

    on_own_loop(main)


def test_a_slow_but_reachable_database_is_waited_for_not_called_unavailable(
    runtime: Runtime, create_restaurant: Callable[..., dict[str, Any]], owner_url: str
) -> None:
    """A probe whose statement takes longer than PROBE_WAIT on a live connection (here
    it waits for a lock; in CI, a 200-client burst on a saturated machine) is a slow
    answer, not an outage: it is waited for (up to BUSY_WAIT) and answered. Before,
    every asker got 503 DATABASE_UNAVAILABLE after 1.5 s."""
    r = create_restaurant()
    reads = AsyncReads(runtime.db.url, max_size=2, max_in_flight=2)
    held = PROBE_WAIT + 1.0

    async def main() -> tuple[list[Any], float]:
        try:
            await reads.probe(r["id"], None)  # connected: the database is reachable
            locker = await asyncpg.connect(owner_url)
            try:
                tx = locker.transaction()
                await tx.start()
                await locker.execute("LOCK TABLE ledger_versions IN ACCESS EXCLUSIVE MODE")
                started = time.monotonic()
                probes = asyncio.gather(*(reads.probe(r["id"], r["api_keys"]["staff"]) for _ in range(12)))
                await asyncio.sleep(held)
                await tx.rollback()
                answers = await probes
                return answers, time.monotonic() - started
            finally:
                await locker.close()
        finally:
            await reads.close()

    answers, took = on_own_loop(main)
    assert len(answers) == 12
    assert all(p.role == "staff" and p.venue_version is not None for p in answers), answers
    assert took >= held  # they really waited past PROBE_WAIT for the lock


def test_the_probe_is_planned_once_per_connection(
    runtime: Runtime, create_restaurant: Callable[..., dict[str, Any]]
) -> None:
    """Each probe's arrays differ, and PostgreSQL would plan the statement again for
    each (a custom plan: about a third of the probe's cost on the server); the pool
    asks for the one generic plan instead."""
    r = create_restaurant()
    reads = AsyncReads(runtime.db.url, max_size=1, max_in_flight=1)

    async def main() -> list[Any]:
        try:
            for _ in range(12):  # past the 5 custom plans PostgreSQL tries by default
                await reads.probe(r["id"], r["api_keys"]["channel"])
            pool = await reads._open()
            async with pool.acquire() as conn:
                return list(
                    await conn.fetch(
                        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
                        PROBE_SQL,
                    )
                )
        finally:
            await reads.close()

    (plans,) = on_own_loop(main)
    assert plans["custom_plans"] == 0, dict(plans)
    assert plans["generic_plans"] == 12, dict(plans)
