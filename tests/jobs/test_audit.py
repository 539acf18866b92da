"""The ledger audit as a product feature: it reads zero on a ledger the engine wrote,
and it catches each kind of finding when the ledger is broken behind the engine's back
(the control: constraints dropped inside a rolled-back transaction). `seatwise audit`
exits 1 on any finding."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from seatwise.jobs import passes
from seatwise.runtime import Runtime
from seatwise.store import server
from tests.conftest import ADMIN_KEY, DAY, migrated_database, small_venue

AUDIT_OF = "SELECT kind, detail FROM seatwise_ledger_audit() WHERE restaurant_id = %s ORDER BY kind"


def _book(base_url: str, key: str, rid: str, start: str, party: int = 2) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
        made = c.post(
            f"/v1/restaurants/{rid}/bookings", json={"party_size": party, "start": start, "guest": {"name": "A"}}
        )
        assert made.status_code == 201, made.text
        booking: dict[str, Any] = made.json()
        return booking


def test_a_ledger_the_engine_wrote_audits_clean(
    jobs_runtime: Runtime, jobs_base_url: str, restaurant: dict[str, Any]
) -> None:
    rid, key = restaurant["id"], restaurant["api_keys"]["staff"]
    kept = _book(jobs_base_url, key, rid, f"{DAY}T19:00", 4)
    gone = _book(jobs_base_url, key, rid, f"{DAY}T19:00", 3)
    with httpx.Client(base_url=jobs_base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
        assert c.post(f"/v1/restaurants/{rid}/bookings/{gone['id']}/cancel").status_code == 200
        assert c.post(f"/v1/restaurants/{rid}/bookings/{kept['id']}/seat").status_code == 200
        hold = c.post(f"/v1/restaurants/{rid}/holds", json={"party_size": 2, "start": f"{DAY}T20:00"})
        assert hold.status_code == 201
        try:
            report = passes.ledger_audit(jobs_runtime)
        finally:  # no hold left to expire under the sweeper tests that share this database
            assert c.delete(f"/v1/restaurants/{rid}/holds/{hold.json()['id']}").status_code == 204
    assert [f for f in report.findings if f.restaurant_id == rid] == []
    assert set(report.counts) == {"overlap", "pacing", "tables", "orphan"}


def test_the_audit_catches_every_kind_of_broken_ledger(
    jobs_owner_url: str, jobs_base_url: str, restaurant: dict[str, Any]
) -> None:
    rid, key = restaurant["id"], restaurant["api_keys"]["staff"]
    first = _book(jobs_base_url, key, rid, f"{DAY}T19:00")
    second = _book(jobs_base_url, key, rid, f"{DAY}T21:00")
    with psycopg.connect(jobs_owner_url) as conn:  # the schema owner; everything below is rolled back
        assert conn.execute(AUDIT_OF, [rid]).fetchall() == []
        conn.execute("ALTER TABLE allocations DROP CONSTRAINT allocations_no_overlap")
        # overlap: a second allocation on the first booking's table, same window
        conn.execute(
            """INSERT INTO allocations (restaurant_id, table_id, during, booking_id)
               SELECT restaurant_id, table_id, during, %s FROM allocations
               WHERE restaurant_id = %s AND booking_id = %s""",
            [second["id"], rid, first["id"]],
        )
        # pacing: usage recorded that no booking explains
        conn.execute("UPDATE pacing_usage SET covers = covers + 3 WHERE restaurant_id = %s", [rid])
        # orphan: a booking marked cancelled behind the engine's back keeps its allocations
        conn.execute(
            "UPDATE bookings SET status = 'cancelled' WHERE restaurant_id = %s AND id = %s", [rid, first["id"]]
        )
        kinds = {row[0] for row in conn.execute(AUDIT_OF, [rid]).fetchall()}
        conn.rollback()
    assert kinds == {"overlap", "pacing", "tables", "orphan"}  # `tables`: the second booking's extra row


@pytest.fixture
def fresh_database(pg: server.Server) -> Iterator[str]:
    with migrated_database(pg, f"seatwise_audit_{uuid.uuid4().hex[:12]}") as name:
        yield name


def _cli_audit(database: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEATWISE_DATABASE": database, "SEATWISE_ADMIN_KEY": ADMIN_KEY}
    return subprocess.run(
        [sys.executable, "-m", "seatwise.cli", "audit"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_seatwise_audit_exits_1_on_a_finding(pg: server.Server, fresh_database: str) -> None:
    from seatwise.services import restaurants
    from seatwise.store.db import Database

    db = Database(pg.app_url(fresh_database), max_size=2)
    try:
        made = restaurants.create_restaurant(db, {**small_venue(tables=2), "slug": "audited"})
    finally:
        db.close()
    clean = _cli_audit(fresh_database)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert json.loads(clean.stdout.splitlines()[-1])["findings"] == {
        "overlap": 0,
        "pacing": 0,
        "tables": 0,
        "orphan": 0,
    }

    with psycopg.connect(pg.owner_url(fresh_database)) as conn:
        conn.execute(
            "INSERT INTO pacing_usage (restaurant_id, slot_start, covers, parties) VALUES (%s, now(), 2, 1)", [made.id]
        )
    broken = _cli_audit(fresh_database)
    assert broken.returncode == 1
    assert broken.stdout.startswith(f"pacing\t{made.id}\t")
    assert json.loads(broken.stdout.splitlines()[-1])["findings"]["pacing"] == 1
