"""The narrow path across tenants, and record retention."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg import errors

from seatwise.runtime import Runtime
from seatwise.services import jobs
from seatwise.services.common import utcnow
from tests.conftest import DAY, client_for

JOB_CALLS = (
    "SELECT seatwise_tenants_with_due_holds(now(), interval '1 minute')",
    "SELECT seatwise_archive_allocations(now(), 1)",
    "SELECT seatwise_prune_confirmations(now(), 1)",
    "SELECT seatwise_prune_idempotency_keys(now(), 1)",
    "SELECT seatwise_prune_outbox(now(), 1)",
    "SELECT seatwise_fanout_outbox(1)",
    "SELECT * FROM seatwise_claim_deliveries(1, interval '1 minute', 8)",
)


def test_the_roles_are_neither_superuser_nor_bypassrls(jobs_owner_url: str) -> None:
    with psycopg.connect(jobs_owner_url) as conn:
        rows = conn.execute(
            "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname IN ('seatwise_app', 'seatwise_jobs')"
        ).fetchall()
    assert sorted(rows) == [("seatwise_app", False, False), ("seatwise_jobs", False, False)]


@pytest.mark.parametrize("call", JOB_CALLS)
def test_the_api_role_may_not_run_cross_tenant_jobs(jobs_runtime: Runtime, call: str) -> None:
    with psycopg.connect(jobs_runtime.db.url) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute(call)


@pytest.mark.parametrize("table", ["bookings", "holds", "allocations", "outbox", "webhooks", "api_keys"])
def test_the_jobs_role_reads_no_tenant_table(jobs_runtime: Runtime, table: str) -> None:
    with psycopg.connect(jobs_runtime.jobs_url) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute(f"SELECT * FROM {table} LIMIT 1")


def test_retention_deletes_only_what_is_past_it(
    jobs_runtime: Runtime, jobs_base_url: str, jobs_owner_url: str, restaurant: dict[str, Any]
) -> None:
    rid = restaurant["id"]
    with client_for(jobs_base_url, restaurant["api_keys"]["staff"]) as staff:
        made = []
        for hour in (17, 18, 19, 20):
            hold = staff.post(f"/v1/restaurants/{rid}/holds", json={"party_size": 2, "start": f"{DAY}T{hour}:00"})
            booking = staff.post(
                f"/v1/restaurants/{rid}/holds/{hold.json()['id']}/confirm",
                json={"guest": {"name": "Ada"}},
                headers={"Idempotency-Key": f"confirm-{uuid.uuid4()}"},
            )
            assert booking.status_code == 201, booking.text
            direct = staff.post(
                f"/v1/restaurants/{rid}/bookings",
                json={"party_size": 2, "start": f"{DAY}T{hour}:30", "guest": {"name": "Bo"}},
                headers={"Idempotency-Key": f"direct-{uuid.uuid4()}"},
            )
            assert direct.status_code == 201, direct.text
            made.append((booking.json()["id"], direct.json()["id"]))
    old_confirmed = [b for b, _ in made[:2]]
    old_direct = [d for _, d in made[:3]]
    with psycopg.connect(jobs_owner_url) as conn:
        conn.execute(
            "UPDATE booking_confirmation_results SET confirmed_at = now() - interval '31 days' "
            "WHERE restaurant_id = %s AND booking_id = ANY(%s::uuid[])",
            [rid, old_confirmed],
        )
        conn.execute(
            "UPDATE bookings SET created_at = now() - interval '25 hours' "
            "WHERE restaurant_id = %s AND id = ANY(%s::uuid[])",
            [rid, old_direct],
        )
        conn.execute("UPDATE outbox SET relayed_at = now() - interval '31 days' WHERE restaurant_id = %s", [rid])
        outbox_before = conn.execute("SELECT count(*) FROM outbox WHERE restaurant_id = %s", [rid]).fetchone()
        kept_event = conn.execute(
            "INSERT INTO outbox (restaurant_id, event, payload) VALUES (%s, 'booking.created', '{}') RETURNING id",
            [rid],
        ).fetchone()
    assert outbox_before is not None
    assert kept_event is not None

    done = jobs.prune_records(jobs_runtime.jobs_db, utcnow(), batch_size=2)
    assert done.confirmations >= 2
    assert done.idempotency_keys >= 3
    assert done.outbox_events >= outbox_before[0]
    with psycopg.connect(jobs_owner_url) as conn:
        confirmations = {
            r[0]
            for r in conn.execute(
                "SELECT booking_id::text FROM booking_confirmation_results WHERE restaurant_id = %s", [rid]
            )
        }
        keyed = {
            r[0]
            for r in conn.execute(
                "SELECT id::text FROM bookings WHERE restaurant_id = %s AND idempotency_key IS NOT NULL", [rid]
            )
        }
        events = [r[0] for r in conn.execute("SELECT id FROM outbox WHERE restaurant_id = %s", [rid])]
    assert confirmations == {b for b, _ in made[2:]}
    assert keyed == {made[3][1]}
    assert events == [kept_event[0]]  # never one not relayed yet
    assert jobs.prune_records(jobs_runtime.jobs_db, utcnow()).rows == 0  # a rerun finds nothing
