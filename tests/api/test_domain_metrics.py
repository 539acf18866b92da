"""Domain metrics on /metrics move with what the engine does: bookings by how they
were made, refusals by code, holds, pacing utilisation."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import DAY, client_for, small_venue


def _value(text: str, name: str, labels: str = "") -> float:
    pattern = rf"^{re.escape(name + labels)} ([0-9.e+-]+)$"
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0


def test_domain_metrics_move(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, anonymous: httpx.Client
) -> None:
    r = create_restaurant(small_venue(tables=1, pacing={"max_covers_per_slot": 4}))
    before = anonymous.get("/metrics").text
    with client_for(base_url, r["api_keys"]["channel"]) as c:
        base = f"/v1/restaurants/{r['id']}"
        hold = c.post(f"{base}/holds", json={"party_size": 2, "start": f"{DAY}T19:00"})
        assert hold.status_code == 201
        assert c.post(f"{base}/holds/{hold.json()['id']}/confirm", json={"guest": {"name": "A"}}).status_code == 201
        booked = c.post(f"{base}/bookings", json={"party_size": 2, "start": f"{DAY}T21:00", "guest": {"name": "B"}})
        assert booked.status_code == 201
        refused = c.post(f"{base}/bookings", json={"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "C"}})
        assert refused.status_code == 409
    after = anonymous.get("/metrics").text

    def moved(name: str, labels: str = "") -> float:
        return _value(after, name, labels) - _value(before, name, labels)

    assert moved("seatwise_bookings_created_total", '{role="channel",via="hold"}') == 1
    assert moved("seatwise_bookings_created_total", '{role="channel",via="direct"}') == 1
    assert moved("seatwise_holds_created_total") == 1
    assert moved("seatwise_refusals_total", '{code="CAPACITY_EXCEEDED"}') >= 1
    assert moved("seatwise_pacing_utilisation_ratio_count") >= 2
