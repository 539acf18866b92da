"""Structured logs: one JSON line per request with its request id, the same id in the
`X-Request-Id` header and the problem document, and no secret or guest contact detail
on any line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from seatwise.logs import JsonFormatter
from tests.conftest import DAY, client_for, small_venue


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("seatwise")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def test_every_request_logs_one_json_line_with_its_id(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, log_lines: io.StringIO
) -> None:
    r = create_restaurant(small_venue(tables=1))
    key = r["api_keys"]["channel"]
    guest = {"name": "Zelda Quux", "phone": "+44 20 7946 0999", "email": "zelda.quux@example.org"}
    with client_for(base_url, key) as c:
        base = f"/v1/restaurants/{r['id']}"
        booked = c.post(f"{base}/bookings", json={"party_size": 2, "start": f"{DAY}T19:00", "guest": guest})
        refused = c.post(f"{base}/bookings", json={"party_size": 2, "start": f"{DAY}T19:00", "guest": guest})
        chosen = c.get(f"{base}/bookings/nope", headers={"X-Request-Id": "trace-abc-12345"})
    assert booked.status_code == 201
    assert refused.status_code == 409
    assert chosen.status_code == 403  # a channel key may not read bookings

    ids = [resp.headers["x-request-id"] for resp in (booked, refused, chosen)]
    assert len(set(ids)) == 3
    assert ids[2] == "trace-abc-12345"  # a well-formed id from the caller is kept
    assert refused.json()["request_id"] == ids[1]
    assert chosen.json()["request_id"] == ids[2]

    text = log_lines.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    access = {line["request_id"]: line for line in lines if line["logger"] == "seatwise.access"}
    for rid, status in zip(ids, (201, 409, 403), strict=True):
        assert access[rid]["status"] == status
        assert access[rid]["method"] in ("GET", "POST")
        assert access[rid]["route"].startswith("/v1/restaurants/{rid}/bookings")
        assert access[rid]["duration_ms"] >= 0
    for secret in (key, guest["name"], guest["phone"], guest["email"], "Zelda"):
        assert secret not in text


def test_a_malformed_request_id_is_replaced(anonymous: httpx.Client) -> None:
    response = anonymous.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"
    assert len(response.headers["x-request-id"]) == 32


def test_a_line_is_stamped_in_utc_to_the_millisecond() -> None:
    formatter = JsonFormatter()
    for created in (1_796_163_000.0, 1_796_163_000.5937, 1_796_163_001.0004, 1_796_163_000.999):
        record = logging.LogRecord("seatwise.test", logging.INFO, "", 0, "hello", (), None)
        record.created = created
        line = json.loads(formatter.format(record))
        expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        assert line["ts"] == expected, (created, line["ts"])
        assert line["message"] == "hello"
