"""Every instant the API writes carries the restaurant's local offset (issue 9),
including `created_at` of restaurants and keys (they were UTC)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.conftest import DAY, client_for, small_venue

KOLKATA = timedelta(hours=5, minutes=30)  # no DST: the offset is known whatever the date


def _offset(text: str) -> timedelta | None:
    return datetime.fromisoformat(text).utcoffset()


def test_restaurant_and_key_instants_are_local(
    create_restaurant: Callable[..., dict[str, Any]], admin: httpx.Client, base_url: str
) -> None:
    r = create_restaurant({**small_venue(tables=2), "timezone": "Asia/Kolkata"})
    assert _offset(r["created_at"]) == KOLKATA
    rid = r["id"]
    assert _offset(admin.get(f"/v1/restaurants/{rid}").json()["created_at"]) == KOLKATA
    key = admin.post(f"/v1/restaurants/{rid}/api-keys", json={"role": "channel"})
    assert key.status_code == 201
    assert _offset(key.json()["created_at"]) == KOLKATA
    assert admin.delete(f"/v1/restaurants/{rid}/api-keys/{key.json()['id']}").status_code == 204
    listed = admin.get(f"/v1/restaurants/{rid}/api-keys").json()
    assert listed
    for k in listed:
        assert _offset(k["created_at"]) == KOLKATA
        if k["revoked_at"] is not None:
            assert _offset(k["revoked_at"]) == KOLKATA
    assert any(k["revoked_at"] is not None for k in listed)
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        booking = staff.post(
            f"/v1/restaurants/{rid}/bookings", json={"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "A"}}
        ).json()
    for field in ("start", "end", "created_at"):
        assert _offset(booking[field]) == KOLKATA, field
