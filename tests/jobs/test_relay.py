"""The outbox relay against a real HTTP receiver on loopback: signatures that verify,
a stable webhook-id across retries, no attempt made twice by parallel relays, dead
after 8 attempts, and addresses checked again at delivery."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import httpx
import psycopg
from standardwebhooks.webhooks import Webhook as Verifier

from seatwise.runtime import Runtime
from seatwise.services.webhooks import Relay, RelayConfig
from seatwise.store.db import Database
from tests.conftest import DAY, client_for, free_port
from tests.jobs.conftest import Receiver

GUEST = {"name": "Ada"}


def _register(base_url: str, restaurant: dict[str, Any], url: str, events: list[str] | None = None) -> dict[str, Any]:
    with client_for(base_url, restaurant["api_keys"]["staff"]) as staff:
        made = staff.post(f"/v1/restaurants/{restaurant['id']}/webhooks", json={"url": url, "events": events or ["*"]})
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    body: dict[str, Any] = made.json()
    return body


def _book(base_url: str, restaurant: dict[str, Any], n: int) -> list[dict[str, Any]]:
    made = []
    with client_for(base_url, restaurant["api_keys"]["staff"]) as staff:
        for i in range(n):
            start = f"{date.fromisoformat(DAY) + timedelta(days=i // 10)}T18:00"
            r = staff.post(
                f"/v1/restaurants/{restaurant['id']}/bookings", json={"party_size": 2, "start": start, "guest": GUEST}
            )
            assert r.status_code == 201, r.text
            made.append(r.json())
    return made


def _outbox_ids(owner_url: str, rid: str, event: str | None = None) -> set[str]:
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            "SELECT id FROM outbox WHERE restaurant_id = %s AND (%s::text IS NULL OR event = %s)", [rid, event, event]
        ).fetchall()
    return {f"evt_{r[0]}" for r in rows}


def _relay_until(relay: Relay, done: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "relay did not finish"
        if relay.run_once().idle:
            time.sleep(0.02)


def _delivery_states(owner_url: str, webhook_id: str) -> dict[str, int]:
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM webhook_deliveries WHERE webhook_id = %s GROUP BY status", [webhook_id]
        ).fetchall()
    return dict(rows)


def test_retries_keep_the_webhook_id_and_every_signature_verifies(
    jobs_runtime: Runtime, jobs_base_url: str, jobs_owner_url: str, restaurant: dict[str, Any], receiver: Receiver
) -> None:
    receiver.fail_first = 2
    hook = _register(jobs_base_url, restaurant, receiver.url, ["booking.created"])
    assert hook["secret"].startswith("whsec_")
    bookings = _book(jobs_base_url, restaurant, 12)
    expected = _outbox_ids(jobs_owner_url, restaurant["id"], "booking.created")
    assert len(expected) == 12

    with Relay(jobs_runtime.jobs_db, jobs_runtime.db, jobs_runtime.secret_box, jobs_runtime.relay_config) as relay:
        _relay_until(relay, lambda: _delivery_states(jobs_owner_url, hook["id"]) == {"delivered": 12})

    assert receiver.by_id() == dict.fromkeys(expected, 3)  # two failures, then delivered; same id each time
    verifier = Verifier(hook["secret"])
    booking_ids = set()
    for got in receiver.received:
        body = verifier.verify(got.body, got.headers)
        assert body["id"] == got.webhook_id
        assert body["type"] == "booking.created"
        assert body["restaurant_id"] == restaurant["id"]
        assert set(body) == {"id", "type", "created_at", "restaurant_id", "data"}
        booking_ids.add(body["data"]["id"])
    assert booking_ids == {b["id"] for b in bookings}
    first = next(r for r in receiver.received if r.json()["data"]["id"] == bookings[0]["id"])
    assert first.json()["data"] == bookings[0]  # the booking as the API renders it

    with client_for(jobs_base_url, restaurant["api_keys"]["staff"]) as staff:
        log = staff.get(f"/v1/restaurants/{restaurant['id']}/webhooks/{hook['id']}/deliveries").json()
    assert len(log) == 36
    one = sorted((e for e in log if e["event_id"] == first.webhook_id), key=lambda e: e["attempt"])
    assert [(e["attempt"], e["status"], e["response_status"]) for e in one] == [
        (1, "retrying", 500),
        (2, "retrying", 500),
        (3, "delivered", 200),
    ]
    assert set(one[0]) == {"event_id", "type", "attempt", "status", "response_status", "error", "at"}


def test_two_relays_in_parallel_never_make_one_attempt_twice(
    jobs_runtime: Runtime,
    jobs_base_url: str,
    jobs_owner_url: str,
    restaurant: dict[str, Any],
    receiver: Receiver,
) -> None:
    receiver.delay = 0.002
    hook = _register(jobs_base_url, restaurant, receiver.url)
    with psycopg.connect(jobs_owner_url) as conn:
        conn.execute(
            """INSERT INTO outbox (restaurant_id, event, payload)
               SELECT %s, 'booking.created', jsonb_build_object('n', n) FROM generate_series(1, 400) n""",
            [restaurant["id"]],
        )
    expected = _outbox_ids(jobs_owner_url, restaurant["id"])
    config = replace(jobs_runtime.relay_config, batch_size=25, concurrency=4)
    pools = [(Database(jobs_runtime.jobs_url, max_size=2), Database(jobs_runtime.db.url, max_size=4)) for _ in "ab"]
    relays = [Relay(jobs, db, jobs_runtime.secret_box, config) for jobs, db in pools]
    attempted = [0, 0]
    start = threading.Barrier(2)

    def work(i: int) -> None:
        start.wait()
        idle_since = None
        while idle_since is None or time.monotonic() - idle_since < 0.3:
            done = relays[i].run_once()
            attempted[i] += done.attempted
            idle_since = (idle_since or time.monotonic()) if done.idle else None

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for relay in relays:
        relay.close()
    for jobs, db in pools:
        jobs.close()
        db.close()

    assert receiver.by_id() == dict.fromkeys(expected, 1)  # every event once: no attempt made twice
    assert sum(attempted) == len(expected) == 400
    assert min(attempted) > 0  # both relays really worked
    with psycopg.connect(jobs_owner_url) as conn:
        log = conn.execute(
            "SELECT attempt, status, count(*) FROM webhook_attempts WHERE webhook_id = %s GROUP BY 1, 2", [hook["id"]]
        ).fetchall()
    assert log == [(1, "delivered", 400)]


def test_an_unreachable_url_ends_dead_after_eight_attempts(
    jobs_runtime: Runtime, jobs_base_url: str, jobs_owner_url: str, restaurant: dict[str, Any]
) -> None:
    closed = free_port()  # nothing listens there
    hook = _register(jobs_base_url, restaurant, f"http://127.0.0.1:{closed}/hook", ["booking.created"])
    _book(jobs_base_url, restaurant, 1)
    with Relay(jobs_runtime.jobs_db, jobs_runtime.db, jobs_runtime.secret_box, jobs_runtime.relay_config) as relay:
        _relay_until(relay, lambda: _delivery_states(jobs_owner_url, hook["id"]) == {"dead": 1})
        for _ in range(5):  # nothing more is ever tried
            assert relay.run_once().attempted == 0
    with client_for(jobs_base_url, restaurant["api_keys"]["staff"]) as staff:
        log = staff.get(f"/v1/restaurants/{restaurant['id']}/webhooks/{hook['id']}/deliveries").json()
    assert [(e["attempt"], e["status"]) for e in reversed(log)] == [(n, "retrying") for n in range(1, 8)] + [
        (8, "dead")
    ]
    assert all(e["response_status"] is None and e["error"] for e in log)


def test_the_address_is_checked_again_at_delivery(
    jobs_runtime: Runtime, jobs_base_url: str, jobs_owner_url: str, restaurant: dict[str, Any], receiver: Receiver
) -> None:
    """Registered while private addresses were allowed, delivered after they no longer
    are: refused. And a public name that resolves to loopback at delivery time (DNS
    rebinding) is refused too; nothing reaches the receiver."""
    hook = _register(jobs_base_url, restaurant, receiver.url, ["booking.created"])
    _book(jobs_base_url, restaurant, 1)
    strict = RelayConfig(allow_private=False, backoff=(0.01,) * 7)
    with Relay(jobs_runtime.jobs_db, jobs_runtime.db, jobs_runtime.secret_box, strict) as relay:
        _relay_until(relay, lambda: _delivery_states(jobs_owner_url, hook["id"]) == {"dead": 1})
    with psycopg.connect(jobs_owner_url) as conn:
        errors = {r[0] for r in conn.execute("SELECT error FROM webhook_attempts WHERE webhook_id = %s", [hook["id"]])}
    assert errors == {"refused: the URL must use https"}

    with psycopg.connect(jobs_owner_url) as conn:  # as if registered as a public https name
        conn.execute("UPDATE webhooks SET url = 'https://hooks.example.com/hook' WHERE id = %s", [hook["id"]])
        conn.execute("DELETE FROM webhook_attempts WHERE webhook_id = %s", [hook["id"]])
        conn.execute(
            "UPDATE webhook_deliveries SET status = 'retrying', attempts = 0 WHERE webhook_id = %s", [hook["id"]]
        )

    def rebinding(host: str, port: int) -> list[str]:
        del port
        assert host == "hooks.example.com"
        return ["127.0.0.1"]

    with Relay(jobs_runtime.jobs_db, jobs_runtime.db, jobs_runtime.secret_box, strict, resolve=rebinding) as relay:
        _relay_until(relay, lambda: _delivery_states(jobs_owner_url, hook["id"]) == {"dead": 1})
    with psycopg.connect(jobs_owner_url) as conn:
        last = conn.execute(
            "SELECT error FROM webhook_attempts WHERE webhook_id = %s ORDER BY id DESC LIMIT 1", [hook["id"]]
        ).fetchone()
    assert last == ("refused: hooks.example.com resolves to 127.0.0.1, which is not a public address",)
    assert receiver.received == []


def test_private_addresses_are_refused_without_the_setting(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> None:
    """The shared app runs with SEATWISE_WEBHOOK_ALLOW_PRIVATE unset."""
    r = create_restaurant()
    base = f"/v1/restaurants/{r['id']}/webhooks"
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        for url in (
            "http://hooks.example.com/x",
            "https://127.0.0.1/x",
            "https://localhost/x",
            "https://10.1.2.3/x",
            "https://192.168.0.10/x",
            "https://172.16.0.1/x",
            "https://169.254.169.254/latest",
            "https://[::1]/x",
            "https://[fe80::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://user:pw@hooks.example.com/x",
            "ftp://hooks.example.com/x",
            "https://a..b/x",
            "https://0x7f000001/x",
            "not a url",
        ):
            refused = staff.post(base, json={"url": url, "events": ["*"]})
            assert refused.status_code == 422, (url, refused.text)
            assert refused.json()["code"] == "UNSAFE_WEBHOOK_URL", url
        bad_event = staff.post(base, json={"url": "https://hooks.example.com/x", "events": ["booking.eaten"]})
        assert bad_event.status_code == 422
        assert bad_event.json()["code"] == "VALIDATION_ERROR"
        assert staff.get(base).json() == []  # nothing was written
        ok = staff.post(base, json={"url": "https://hooks.example.com/x", "events": ["booking.created"]})
        assert ok.status_code == 201, ok.text
        listed = staff.get(base).json()
        assert [w["id"] for w in listed] == [ok.json()["id"]]
        assert "secret" not in listed[0]


def test_secrets_are_sealed_at_rest(
    jobs_base_url: str, jobs_owner_url: str, restaurant: dict[str, Any], receiver: Receiver
) -> None:
    hook = _register(jobs_base_url, restaurant, receiver.url)
    with psycopg.connect(jobs_owner_url) as conn:
        dump = conn.execute("SELECT row_to_json(w)::text FROM webhooks w WHERE id = %s", [hook["id"]]).fetchone()
    assert dump is not None
    secret = hook["secret"]
    assert secret not in dump[0]
    assert secret.removeprefix("whsec_") not in dump[0]


def test_deleting_a_webhook(jobs_base_url: str, restaurant: dict[str, Any], receiver: Receiver) -> None:
    hook = _register(jobs_base_url, restaurant, receiver.url)
    base = f"/v1/restaurants/{restaurant['id']}/webhooks"
    with client_for(jobs_base_url, restaurant["api_keys"]["staff"]) as staff:
        assert staff.delete(f"{base}/{hook['id']}").status_code == 204
        for response in (staff.delete(f"{base}/{hook['id']}"), staff.get(f"{base}/{hook['id']}/deliveries")):
            assert response.status_code == 404
            assert response.json()["code"] == "NOT_FOUND"
        assert staff.get(f"{base}/not-a-uuid/deliveries").status_code == 404


def test_channel_keys_may_not_manage_webhooks(jobs_base_url: str, restaurant: dict[str, Any]) -> None:
    base = f"/v1/restaurants/{restaurant['id']}/webhooks"
    with client_for(jobs_base_url, restaurant["api_keys"]["channel"]) as channel:
        for response in (channel.get(base), channel.post(base, json={"url": "https://a.example/x", "events": ["*"]})):
            assert response.status_code == 403
            assert response.json()["code"] == "FORBIDDEN"


def test_metrics_show_the_relay_backlog(jobs_base_url: str) -> None:
    text = httpx.get(f"{jobs_base_url}/metrics").text
    assert "seatwise_outbox_oldest_undelivered_seconds" in text
    assert 'seatwise_webhook_deliveries{state="dead"}' in text
    assert "\nseatwise_holds_stuck " in text
